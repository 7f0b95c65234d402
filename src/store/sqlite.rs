//! The embedded SQLite store: the default, no set-up. WAL journal, one writer
//! connection (SQLite has one writer at a time) and a few readers.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Executor as _;

use super::key::SecretKey;
use super::sql::{Dialect, Migration, SqlStore};
use super::StoreError;
use crate::files;

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../migrations/sqlite/0001_outbox.sql") },
    Migration { version: 2, sql: include_str!("../../migrations/sqlite/0002_sources.sql") },
    Migration { version: 3, sql: include_str!("../../migrations/sqlite/0003_leaner_indexes.sql") },
    Migration { version: 4, sql: include_str!("../../migrations/sqlite/0004_lease_column.sql") },
    Migration { version: 5, sql: include_str!("../../migrations/sqlite/0005_destination_state.sql") },
    Migration { version: 6, sql: include_str!("../../migrations/sqlite/0006_origin_namespaces.sql") },
    Migration { version: 7, sql: include_str!("../../migrations/sqlite/0007_loop_guard_and_secret_key.sql") },
    Migration { version: 10, sql: include_str!("../../migrations/sqlite/0010_message_list_keyset.sql") },
    Migration { version: 11, sql: include_str!("../../migrations/sqlite/0011_storms.sql") },
];

/// Connection settings every connection gets. `synchronous = NORMAL` in WAL mode
/// keeps every commit durable across a process crash (an OS crash may lose the
/// last transactions, never corrupt the file).
const PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000; \
                       PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;";

/// Opens (creating if needed) the database a `sqlite://PATH` URL names, and
/// migrates it. The file's directory is created too: 0700, the database 0600
/// (SQLite gives `-wal` and `-shm` the database's mode); looser existing ones
/// are reported.
pub async fn open(url: &str, key: SecretKey) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
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
            .after_connect(|connection, _| Box::pin(async move { connection.execute(PRAGMAS).await.map(|_| ()) }))
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
    };
    let store = SqlStore::new(write, read, dialect, key);
    store.migrate(MIGRATIONS, None).await?;
    store.adopt_key(None).await?;
    Ok(store)
}

/// `sqlite://…?mode=rwc` for a path, so that the `Any` driver creates the file.
fn file_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}
