//! The PostgreSQL store: several relay instances share one database. Workers
//! claim with `FOR UPDATE SKIP LOCKED`, so two instances never lease the same
//! message while its lease runs.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;

use super::sql::{Dialect, Migration, SqlStore, MESSAGE_COLUMNS};
use super::StoreError;

const MIGRATIONS: &[Migration] = &[
    Migration { version: 1, sql: include_str!("../../migrations/postgres/0001_outbox.sql") },
    // Version 2 is taken on the relay branch (inbound sources).
    Migration { version: 3, sql: include_str!("../../migrations/postgres/0003_leaner_indexes.sql") },
];

/// Held for the length of each migration transaction, so that instances starting
/// together migrate one at a time. (The number is `flockrelay` in ASCII, folded.)
const MIGRATION_LOCK: &str = "SELECT pg_advisory_xact_lock(7308604897068083065)";

fn claim_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "UPDATE messages SET status = 'delivering', lease_owner = $1, next_attempt_at = $2 \
             WHERE id IN (SELECT id FROM messages WHERE destination_id = $4 AND status IN ('pending', 'delivering') \
             AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $5 FOR UPDATE SKIP LOCKED) \
             RETURNING {MESSAGE_COLUMNS}"
        )
    })
}

/// Connects to a `postgres://` URL and migrates the schema.
pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
    sqlx::any::install_default_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(16)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await?;
    let dialect = Dialect {
        backend: "postgres",
        claim: claim_sql(),
        max_rows_per_statement: 64,
        anonymous_placeholders: false,
        // SKIP_LOCKED: when another instance (or autovacuum) is at it, no need to wait.
        vacuum: Some("VACUUM (SKIP_LOCKED) messages"),
    };
    let store = SqlStore::new(pool.clone(), pool, dialect);
    store.migrate(MIGRATIONS, Some(MIGRATION_LOCK)).await?;
    Ok(store)
}
