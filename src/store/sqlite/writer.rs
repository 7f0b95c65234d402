//! The SQLite writer thread: one thread with its own connection runs the
//! outbox's hot writes (enqueue, claim, finish).
//!
//! Why: through sqlx every statement, `BEGIN` and `COMMIT` included, is a
//! hand-off to sqlx's worker thread and back, two thread wake-ups each; at a
//! steady trickle nothing is batched, and an alert's dozen statements cost
//! more in wake-ups than SQLite spends on them (BENCHMARKS.md, issue 13).
//! Here a job is one hand-off, and the jobs queued when the thread wakes run
//! together in one transaction (at most [`JOBS_PER_TRANSACTION`]), each in its
//! own savepoint: a job that fails is undone alone, and one commit, one sync
//! of the log where `synchronous = FULL`, serves them all. Every job is
//! answered only after that commit: nothing is acknowledged before it is
//! durable.
//!
//! This connection and the sqlx write pool's are two writers of one file:
//! every write transaction on either begins `IMMEDIATE` (takes the write lock
//! first, waits up to `busy_timeout` for it), so neither can fail with a stale
//! snapshot.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::mpsc;

use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, OpenFlags, ToSql, Transaction, TransactionBehavior};

use crate::store::sql::{Columns, Field};
use crate::store::StoreError;

/// The most jobs one transaction carries: bounds how long it holds the lock.
pub const JOBS_PER_TRANSACTION: usize = 64;

/// What a job does once its transaction ended: answer its caller with its
/// result, or with why the transaction did not commit.
type Answer = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

/// A job: runs in the transaction of its group (or learns why there is none).
type Job = Box<dyn FnOnce(Result<&mut Transaction<'_>, &StoreError>) -> Answer + Send>;

/// Statements each connection keeps prepared: every multi-row shape of the
/// four hot statements (18 each) and the few single ones.
const PREPARED: usize = 96;

/// Hands jobs to the writer thread; the thread ends when this is dropped.
#[derive(Debug)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Opens the database at `path` (migrated already) with `pragmas` and
    /// starts the thread.
    pub fn open(path: &Path, pragmas: &str) -> Result<Self, StoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.execute_batch(pragmas)?;
        connection.set_prepared_statement_cache_capacity(PREPARED);
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || work(connection, &queue))
            .map_err(|source| StoreError::DataDir { path: path.display().to_string(), source })?;
        Ok(Self { jobs })
    }

    /// Runs `job` on the writer thread, in a savepoint of the transaction it
    /// shares with the other jobs queued with it, and returns what it
    /// returned once that transaction committed.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |transaction| {
            let result = match transaction {
                Ok(transaction) => in_savepoint(transaction, job),
                Err(error) => Err(StoreError::NotCommitted(error.to_string())),
            };
            Box::new(move |committed| {
                let answer = match (result, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Err(error), _) => Err(error),
                    (Ok(_), Err(error)) => Err(StoreError::NotCommitted(error.to_string())),
                };
                // The caller may have gone (a cancelled request); the job ran all the same.
                let _ = reply.send(answer);
            })
        });
        self.jobs.send(job).map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

/// Runs `job` in a savepoint: kept if it succeeds, undone if it fails.
fn in_savepoint<T>(
    transaction: &mut Transaction<'_>,
    job: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let savepoint = transaction.savepoint()?;
    let value = job(&savepoint)?;
    savepoint.commit()?;
    Ok(value)
}

/// The thread: takes what is queued, runs it as one transaction, answers
/// every job, and waits for more; ends when every sender is gone.
fn work(mut connection: Connection, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut jobs = vec![first];
        jobs.extend(queue.try_iter().take(JOBS_PER_TRANSACTION - 1));
        run_together(&mut connection, jobs);
    }
}

/// Runs `jobs` in one transaction and answers each after its commit. A job
/// that panics fails alone (its savepoint rolls back as it unwinds, its
/// caller gets [`StoreError::WriterGone`]); the others commit.
fn run_together(connection: &mut Connection, jobs: Vec<Job>) {
    let mut answers = Vec::with_capacity(jobs.len());
    match connection.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(mut transaction) => {
            for job in jobs {
                match std::panic::catch_unwind(AssertUnwindSafe(|| job(Ok(&mut transaction)))) {
                    Ok(answer) => answers.push(answer),
                    Err(_) => tracing::error!("A store job panicked on the SQLite writer thread; its request failed."),
                }
            }
            let committed = transaction.commit().map_err(StoreError::from);
            for answer in answers {
                answer(committed.as_ref().map(|_| ()));
            }
        }
        Err(error) => {
            let error = StoreError::from(error);
            for job in jobs {
                job(Err(&error))(Err(&error));
            }
        }
    }
}

impl ToSql for Field<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Field::Text(Some(text)) => ToSqlOutput::from(text),
            Field::BigInt(Some(number)) => ToSqlOutput::from(number),
            Field::Text(None) | Field::BigInt(None) => ToSqlOutput::Owned(Value::Null),
        })
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.get(column)?)
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.get(column)?)
    }

    fn integer(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.get(column)?)
    }

    fn optional_integer(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.get(column)?)
    }
}

/// A statement written with `$n` placeholders (sqlx's, both engines), for
/// this connection: `?n`, SQLite's numbered form, which binds by number where
/// `$n` would be a name bound in order of first appearance.
pub fn numbered(sql: &str) -> String {
    sql.replace('$', "?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_bind_by_number_whatever_their_order() {
        let connection = Connection::open_in_memory().expect("opens");
        let sql = numbered("SELECT $2 || $1 || $2");
        let joined: String = connection.query_row(&sql, ["a", "b"], |row| row.get(0)).expect("runs");
        assert_eq!(joined, "bab");
    }

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_thread_goes_on() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("w.db");
        let writer = Writer::open(&path, "PRAGMA journal_mode = WAL;").expect("opens");
        let panicked: Result<(), StoreError> = writer.run(|_| panic!("injected")).await;
        assert!(matches!(panicked, Err(StoreError::WriterGone)), "{panicked:?}");
        let answer =
            writer.run(|connection| Ok(connection.query_row("SELECT 41 + 1", [], |row| row.get::<_, i64>(0))?)).await;
        assert_eq!(answer.ok(), Some(42));
    }

    /// Jobs queued together share a transaction; one that fails is undone
    /// alone and the others' writes are committed and answered.
    #[tokio::test]
    async fn a_failing_job_is_undone_alone_and_the_others_commit() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("w.db");
        let writer = std::sync::Arc::new(Writer::open(&path, "PRAGMA journal_mode = WAL;").expect("opens"));
        writer
            .run(|connection| Ok(connection.execute_batch("CREATE TABLE t (v INTEGER PRIMARY KEY)")?))
            .await
            .expect("creates");
        let mut jobs = tokio::task::JoinSet::new();
        for value in [1, 2, 2, 3, 3, 4] {
            let writer = std::sync::Arc::clone(&writer);
            jobs.spawn(async move {
                writer
                    .run(move |connection| {
                        connection.execute("INSERT INTO t (v) VALUES (?1)", [value * 10])?;
                        // A second row, so that an undone job leaves nothing half written.
                        Ok(connection.execute("INSERT INTO t (v) VALUES (?1)", [value * 10 + 1])?)
                    })
                    .await
                    .is_ok()
            });
        }
        let mut succeeded = 0;
        while let Some(joined) = jobs.join_next().await {
            succeeded += usize::from(joined.expect("ran"));
        }
        assert_eq!(succeeded, 4, "one of each repeated value fails on the primary key");
        let reader = Connection::open(&path).expect("opens");
        let rows: i64 = reader.query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0)).expect("counts");
        assert_eq!(rows, 8, "two rows per job that succeeded, none of the failed ones");
    }
}
