//! Schema migrations: the SQL files under `migrations/<engine>/`, embedded at
//! build time by `sqlx::migrate!` and applied by sqlx's migrator (table
//! `_sqlx_migrations`: version, checksum, success; on PostgreSQL an advisory
//! lock so that relays starting together migrate one at a time).
//!
//! Relays before this one ran their own migrator and recorded applied versions
//! in `flockrelay_migrations`. Such a database is bridged once: every version
//! that table lists is recorded in `_sqlx_migrations` with the checksum of the
//! file this build carries, then sqlx applies the rest. The old table is kept
//! (an older relay started against the database then finds its versions applied
//! and runs; it no longer records anything there). Adding a migration is adding
//! a file `NNNN_what.sql` for both engines; a file changed after release is
//! refused at start (checksum mismatch) rather than silently diverging.
//!
//! This module owns the schema's version; it must not hold queries of the store.

use std::collections::BTreeSet;

use sqlx::migrate::{Migrate as _, Migrator};
use sqlx::{AnyPool, Row as _};

use super::StoreError;

/// The embedded SQLite schema.
pub static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");

/// The embedded PostgreSQL schema.
pub static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// How to ask an engine whether the old migrations table exists.
pub struct Engine {
    /// Returns one row when `flockrelay_migrations` exists.
    pub has_old_table: &'static str,
    /// Run first in the bridging transaction (PostgreSQL: an advisory lock held
    /// until commit, so that two relays starting together bridge one at a time).
    pub lock: Option<&'static str>,
}

/// SQLite: one writer, no lock needed.
pub const SQLITE_ENGINE: Engine = Engine {
    has_old_table: "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flockrelay_migrations'",
    lock: None,
};

/// PostgreSQL. (The lock number is `flockrelay` in ASCII, folded, as before.)
pub const POSTGRES_ENGINE: Engine = Engine {
    has_old_table:
        "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'flockrelay_migrations'",
    lock: Some("SELECT pg_advisory_xact_lock(7308604897068083065)"),
};

/// Brings the database to this build's schema: bridges a database of the old
/// migrator, then applies what is missing. Logs each migration applied.
pub async fn run(pool: &AnyPool, migrator: &Migrator, engine: &Engine, backend: &str) -> Result<(), StoreError> {
    bridge(pool, migrator, engine).await?;
    let before = applied(pool).await?;
    migrator.run(pool).await?;
    for migration in migrator.iter().filter(|migration| !before.contains(&migration.version)) {
        tracing::info!(
            version = migration.version,
            description = %migration.description,
            backend,
            "Applied a schema migration."
        );
    }
    Ok(())
}

/// Records in `_sqlx_migrations` the versions the old migrator applied (and this
/// build knows), in one transaction.
async fn bridge(pool: &AnyPool, migrator: &Migrator, engine: &Engine) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    if let Some(lock) = engine.lock {
        sqlx::query(lock).execute(&mut *tx).await?;
    }
    if sqlx::query(engine.has_old_table).fetch_optional(&mut *tx).await?.is_none() {
        return Ok(());
    }
    let old: BTreeSet<i64> = sqlx::query("SELECT version FROM flockrelay_migrations")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>("version"))
        .collect::<Result<_, _>>()?;
    tx.ensure_migrations_table().await?;
    let mut bridged = 0;
    for migration in migrator.iter().filter(|migration| old.contains(&migration.version)) {
        bridged += sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0) ON CONFLICT (version) DO NOTHING",
        )
        .bind(migration.version)
        .bind(migration.description.to_string())
        .bind(migration.checksum.to_vec())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    if bridged > 0 {
        tracing::info!(versions = bridged, "Recorded the schema versions of the earlier migrator for sqlx's.");
    }
    Ok(())
}

/// The versions `_sqlx_migrations` lists (none on a new database).
async fn applied(pool: &AnyPool) -> Result<BTreeSet<i64>, StoreError> {
    let mut connection = pool.acquire().await?;
    connection.ensure_migrations_table().await?;
    Ok(connection.list_applied_migrations().await?.into_iter().map(|migration| migration.version).collect())
}
