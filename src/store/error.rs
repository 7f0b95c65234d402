//! [`StoreError`]: why the store could not do what was asked — the database,
//! a missing or owned row, a corrupt one. The API maps it to statuses once
//! (`api::error`); the store never knows HTTP.

use super::key;

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite writer thread's connection (see `store::sqlite::writer`).
    #[error("store unavailable: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The SQLite writer thread is gone (it only ends when the store is
    /// dropped) or dropped the request.
    #[error("store unavailable: the SQLite writer thread did not answer")]
    WriterGone,
    /// The transaction a write shared with others did not commit.
    #[error("store unavailable: the transaction did not commit: {0}")]
    NotCommitted(String),
    #[error("cannot bring the database to this relay's schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store URL: synchronous must be full or normal, not {0:?}")]
    Synchronous(String),
    #[error("store URL {url:?} is not supported: use sqlite://PATH or postgres://…")]
    UnsupportedUrl { url: String },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("corrupt row in {table}: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("message {0} not found")]
    MessageNotFound(String),
    #[error("message {id} is {status}; only delivered or failed messages can be replayed")]
    NotReplayable { id: String, status: &'static str },
    #[error("destination {0} not found")]
    DestinationNotFound(String),
    #[error("flock {0} not found")]
    FlockNotFound(String),
    #[error("destination {0} already exists")]
    DuplicateDestination(String),
    #[error("destination {0} is declared in the config file; change it there")]
    DeclaredInConfig(String),
    #[error("source {0} not found")]
    SourceNotFound(String),
    #[error("source {0} exists; remove it first")]
    SourceExists(String),
    /// Only API-owned flocks are deleted through the API; the config file's
    /// come back at the next start.
    #[error("flock {0} is declared in the config file; remove it there")]
    FlockDeclaredInConfig(String),
    /// Only API-owned sources are deleted through the API.
    #[error("source {0} is declared in the config file; remove it there")]
    SourceDeclaredInConfig(String),
    #[error("silence {0} not found")]
    SilenceNotFound(String),
    #[error(
        "the secret key (key {given}) is not the one this database's secrets are encrypted with (key {database}): \
         give that key (store.secret_key, or the file store.secret_key_file names; relays sharing a database need the same key)"
    )]
    WrongKey { given: String, database: String },
    #[error("cannot read {table} {id}: {source}")]
    Sealed { table: &'static str, id: String, source: key::KeyError },
}
