//! The queries both backends run, through sqlx's `Any` driver. Placeholders are
//! `$1…`, which SQLite and PostgreSQL both accept; the few statements that differ
//! come from the backend as a [`Dialect`].
//!
//! The outbox's hot writes (enqueue, finish) carry many rows per statement
//! ([`RowsStatement`]): every statement is a round trip, and at thousands of
//! messages a second the round trips and the per-statement work, not the rows,
//! are the cost.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row as _};

use sqlx::migrate::Migrator;

mod batch;
mod catalogue;
mod dialect;
mod operator;
mod queue;
mod queue_rows;
mod rows;
mod sealing;
mod sources;
mod states;
mod vacuum;

use batch::bind;
pub(crate) use batch::{Field, Statements, ALERT_FIELDS, ATTEMPT_FIELDS, MESSAGE_FIELDS, OUTCOME_FIELDS};
pub use dialect::Dialect;
pub(crate) use queue::without_clashes;
pub(crate) use queue_rows::*;
pub use rows::MESSAGE_COLUMNS;
use rows::*;
pub(crate) use rows::{message_from_row, Columns};
use vacuum::Vacuum;

use super::key::SecretKey;
use super::migrate;
use super::sqlite::Writer;
use super::{CatalogueStore, OperatorStore, Origin, QueueStore, SourceStore, Store, StoreError};

/// A store on a SQL database. Writes go through `write`, reads through `read`:
/// for SQLite the write pool has one connection (SQLite has one writer; waiting
/// in the pool is cheaper than busy retries), for PostgreSQL both are one pool.
#[derive(Debug, Clone)]
pub struct SqlStore {
    write: AnyPool,
    read: AnyPool,
    dialect: Dialect,
    /// Leases due messages: `$1` owner, `$2` lease end, `$3` now, `$4` destination,
    /// `$5` limit; returns [`MESSAGE_COLUMNS`]. Written `?1`…`?5` once the
    /// writer thread runs it (SQLite's numbered form; see `with_writer`).
    claim: Arc<str>,
    statements: Arc<Statements>,
    vacuum: Arc<Vacuum>,
    /// Seals the secret-holding specs of destinations and sources.
    key: Arc<SecretKey>,
    /// SQLite only: the thread that runs the outbox's hot writes (enqueue
    /// without storm rules, claim, finish) as whole transactions on its own
    /// connection. See `store::sqlite::writer`.
    direct: Option<Arc<Writer>>,
}

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

pub fn millis(time: DateTime<Utc>) -> i64 {
    time.timestamp_millis()
}

pub(super) fn time(millis: i64, table: &'static str) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(millis)
        .single()
        .ok_or_else(|| StoreError::Corrupt { table, reason: format!("time {millis} out of range") })
}

/// `Ok` when the statement changed a row, else the error `missing` makes (the
/// row it was meant for does not exist).
fn found(result: &sqlx::any::AnyQueryResult, missing: impl FnOnce() -> StoreError) -> Result<(), StoreError> {
    if result.rows_affected() == 0 {
        Err(missing())
    } else {
        Ok(())
    }
}

fn flag(value: bool) -> i64 {
    i64::from(value)
}

fn count(value: i64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// `$first, $first+1, …` for `n` parameters, in parentheses.
fn placeholders(first: usize, n: usize) -> String {
    let list: Vec<String> = (first..first + n).map(|index| format!("${index}")).collect();
    format!("({})", list.join(", "))
}

impl SqlStore {
    /// The pool writes go through (one connection on SQLite).
    pub(super) fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// The pool reads go through.
    pub(super) fn reader(&self) -> &AnyPool {
        &self.read
    }

    /// The key stored secrets are sealed with.
    pub(super) fn key(&self) -> &SecretKey {
        &self.key
    }

    pub fn new(write: AnyPool, read: AnyPool, dialect: Dialect, key: SecretKey) -> Self {
        let claim = format!(
            "UPDATE messages SET status = 'delivering', lease_owner = $1, lease_until = $2 \
             WHERE id IN (SELECT id FROM messages WHERE destination_id = $4 AND finished_at IS NULL \
             AND next_attempt_at <= $3 AND (status = 'pending' OR lease_until <= $3) \
             ORDER BY next_attempt_at LIMIT $5 {}) RETURNING {MESSAGE_COLUMNS}",
            dialect.claim_lock
        );
        let statements = Arc::new(Statements::new(&dialect));
        let claim = claim.into();
        Self { write, read, dialect, claim, statements, vacuum: Arc::default(), key: Arc::new(key), direct: None }
    }

    /// Runs the outbox's hot writes on `writer` from now on.
    pub(crate) fn with_writer(mut self, writer: Writer) -> Self {
        // Every claim goes to the writer from now on: renumbered once here, not per claim.
        self.claim = crate::store::sqlite::numbered(&self.claim).into();
        self.direct = Some(Arc::new(writer));
        self
    }

    /// Begins a write transaction the backend's way ([`Dialect::begin`]).
    pub(super) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Any>, sqlx::Error> {
        self.write.begin_with(self.dialect.begin).await
    }

    /// Brings the database to this build's schema (see `store::migrate`).
    pub async fn migrate(&self, migrator: &Migrator, engine: &migrate::Engine) -> Result<(), StoreError> {
        migrate::run(&self.write, migrator, engine, self.dialect.backend).await
    }

    /// Ids of `table`'s config-file entries that the file no longer declares.
    async fn config_ids_not_in(
        tx: &mut sqlx::Transaction<'_, Any>,
        table: &'static str,
        kept: &[&str],
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(&format!("SELECT id FROM {table} WHERE origin = $1"))
            .bind(Origin::Config.as_str())
            .fetch_all(&mut **tx)
            .await?;
        let ids = rows.iter().map(|row| row.try_get::<String, _>("id")).collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().filter(|id| !kept.contains(&id.as_str())).collect())
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.dialect.backend
    }

    fn concurrent_writes(&self) -> usize {
        self.dialect.concurrent_writes
    }

    fn groups_enqueues(&self, alerts: &[super::NewAlert]) -> bool {
        self.direct.is_some() && !super::storm::storm_rules_apply(alerts)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }
}
