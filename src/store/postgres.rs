//! The PostgreSQL store: several relay instances share one database. Workers
//! claim with `FOR UPDATE SKIP LOCKED`, so two instances never lease the same
//! message while its lease runs.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;

use super::key::SecretKey;
use super::migrate;
use super::sql::{Dialect, SqlStore};
use super::StoreError;

/// Connects to a `postgres://` URL and migrates the schema.
pub async fn open(url: &str, key: SecretKey) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        // No ping before each use: a round trip per statement or transaction; a
        // broken connection fails the statement, which is retried (ingest: by the
        // client, on 503; delivery: by the worker), and is then replaced.
        .test_before_acquire(false)
        .connect(url)
        .await?;
    let dialect = Dialect {
        backend: "postgres",
        concurrent_writes: 3,
        claim_lock: "FOR UPDATE SKIP LOCKED",
        max_rows_per_statement: 64,
        anonymous_placeholders: false,
        // SKIP_LOCKED: when another instance (or autovacuum) is at it, no need to wait.
        vacuum: Some("VACUUM (SKIP_LOCKED) messages"),
        begin: "BEGIN",
        data_modifying_with: true,
    };
    let store = SqlStore::new(pool.clone(), pool, dialect, key);
    store.migrate(&migrate::POSTGRES, &migrate::POSTGRES_ENGINE).await?;
    store.adopt_key(migrate::POSTGRES_ENGINE.lock).await?;
    Ok(store)
}
