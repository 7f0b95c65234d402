//! The embedded SQLite store: the default, no set-up. WAL journal, a few
//! readers and two writing connections (SQLite lets one write at a time; each
//! write transaction begins `IMMEDIATE` and waits its turn): the outbox's hot
//! writes (enqueue, claim, finish) run on the `writer` module's thread and connection,
//! the rest through sqlx's one-connection write pool.
//!
//! Durability: `synchronous = FULL` by default: every commit is synced to disk
//! before anything in it is answered, so an acknowledged alert survives an OS
//! crash or a power loss. The writer thread commits the jobs queued together
//! in one transaction, one sync for all; measured (BENCHMARKS.md, issue 13) it
//! costs no throughput against `NORMAL` and keeps the p99 at 1,000 alerts/s
//! under 3 ms. `sqlite://PATH?synchronous=normal` syncs at checkpoints only: a
//! commit then survives the relay crashing or being killed, but an OS crash or
//! a power loss may lose the last ones (the file is never corrupted).

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Executor as _;

pub(crate) mod queue;
pub(crate) mod writer;

pub(crate) use writer::{numbered, Writer};

use super::key::SecretKey;
use super::migrate;
use super::sql::{Dialect, SqlStore};
use super::StoreError;
use crate::files;

/// Connection settings every connection gets, after `synchronous` (see the
/// module's paragraph).
const PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;";

/// How commits reach the disk (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Synchronous {
    /// Every commit is synced before it is answered: an acknowledged alert
    /// survives a power loss or an OS crash.
    Full,
    /// Commits are synced at checkpoints: they survive the relay crashing or
    /// being killed; a power loss or OS crash may lose the last ones.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Self::Full => "PRAGMA synchronous = FULL;",
            Self::Normal => "PRAGMA synchronous = NORMAL;",
        }
    }
}

/// Takes `synchronous=full|normal` out of a `sqlite://` URL's query (sqlx
/// does not know it); FULL when absent.
fn synchronous(url: &str) -> Result<(String, Synchronous), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Synchronous::Full));
    };
    let mut chosen = Synchronous::Full;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("synchronous", value)) => {
                chosen = match value.to_ascii_lowercase().as_str() {
                    "full" => Synchronous::Full,
                    "normal" => Synchronous::Normal,
                    _ => return Err(StoreError::Synchronous(value.chars().take(20).collect())),
                }
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
    Ok((url, chosen))
}

/// Opens (creating if needed) the database a `sqlite://PATH` URL names, and
/// migrates it. The file's directory is created too: 0700, the database 0600
/// (SQLite gives `-wal` and `-shm` the database's mode); looser existing ones
/// are reported.
pub async fn open(url: &str, key: SecretKey) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let (url, synchronous) = synchronous(url)?;
    let options = SqliteConnectOptions::from_str(&url)?.create_if_missing(true);
    let path = options.get_filename();
    if path != Path::new(":memory:") {
        files::private_file(path, "The database file")
            .map_err(|source| StoreError::DataDir { path: path.display().to_string(), source })?;
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            files::warn_if_loose(Path::new(&companion), "A database file");
        }
    }
    let url = file_url(path);
    let pool = |size: u32| {
        AnyPoolOptions::new()
            .max_connections(size)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // No ping before each use: a round trip per statement or transaction; a
            // broken connection fails the statement, which is retried (ingest: by the
            // client, on 503; delivery: by the worker), and is then replaced.
            .test_before_acquire(false)
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    connection.execute(synchronous.pragma()).await?;
                    connection.execute(PRAGMAS).await.map(|_| ())
                })
            })
            .connect(&url)
    };
    let write = pool(1).await?;
    let read = pool(4).await?;
    // Old row versions need no vacuuming: SQLite rewrites rows in place.
    let dialect = Dialect {
        backend: "sqlite",
        concurrent_writes: 1,
        claim_lock: "",
        max_rows_per_statement: 64,
        anonymous_placeholders: true,
        vacuum: None,
        begin: "BEGIN IMMEDIATE",
        data_modifying_with: false,
    };
    let store = SqlStore::new(write, read, dialect, key);
    store.migrate(&migrate::SQLITE, &migrate::SQLITE_ENGINE).await?;
    store.adopt_key(None).await?;
    if path == Path::new(":memory:") {
        // A second connection would open a different, empty database.
        return Ok(store);
    }
    let writer = Writer::open(path, &format!("{} {PRAGMAS}", synchronous.pragma()))?;
    Ok(store.with_writer(writer))
}

/// `sqlite://…?mode=rwc` for a path, so that the `Any` driver creates the file.
fn file_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronous_is_taken_out_of_the_url_and_full_by_default() {
        let parsed = |url: &str| synchronous(url).map_err(|error| error.to_string());
        assert_eq!(parsed("sqlite://data/r.db").ok(), Some(("sqlite://data/r.db".to_owned(), Synchronous::Full)));
        assert_eq!(
            parsed("sqlite://data/r.db?mode=rwc").ok(),
            Some(("sqlite://data/r.db?mode=rwc".to_owned(), Synchronous::Full))
        );
        assert_eq!(
            parsed("sqlite://data/r.db?synchronous=normal").ok(),
            Some(("sqlite://data/r.db".to_owned(), Synchronous::Normal))
        );
        assert_eq!(
            parsed("sqlite://r.db?mode=rwc&synchronous=FULL").ok(),
            Some(("sqlite://r.db?mode=rwc".to_owned(), Synchronous::Full))
        );
        assert!(parsed("sqlite://r.db?synchronous=off").is_err_and(|error| error.contains("\"off\"")));
    }
}
