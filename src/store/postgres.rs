//! The PostgreSQL store: several relay instances share one database. Workers
//! claim with `FOR UPDATE SKIP LOCKED`, so two instances never lease the same
//! message while its lease runs.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;

use super::key::SecretKey;
use super::sql::{Dialect, Migration, SqlStore};
use super::StoreError;

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../migrations/postgres/0001_outbox.sql") },
    Migration { version: 2, sql: include_str!("../../migrations/postgres/0002_sources.sql") },
    Migration { version: 3, sql: include_str!("../../migrations/postgres/0003_leaner_indexes.sql") },
    Migration { version: 4, sql: include_str!("../../migrations/postgres/0004_lease_column.sql") },
    Migration { version: 5, sql: include_str!("../../migrations/postgres/0005_destination_state.sql") },
    Migration { version: 6, sql: include_str!("../../migrations/postgres/0006_origin_namespaces.sql") },
    Migration { version: 7, sql: include_str!("../../migrations/postgres/0007_loop_guard_and_secret_key.sql") },
    Migration { version: 10, sql: include_str!("../../migrations/postgres/0010_message_list_keyset.sql") },
    Migration { version: 11, sql: include_str!("../../migrations/postgres/0011_storms.sql") },
];

/// Held for the length of each migration transaction, so that instances starting
/// together migrate one at a time. (The number is `flockrelay` in ASCII, folded.)
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7308604897068083065)";

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
    };
    let store = SqlStore::new(pool.clone(), pool, dialect, key);
    store.migrate(MIGRATIONS, Some(MIGRATION_LOCK)).await?;
    store.adopt_key(Some(MIGRATION_LOCK)).await?;
    Ok(store)
}
