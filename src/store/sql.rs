//! The queries both backends run, through sqlx's `Any` driver. Placeholders are
//! `$1…`, which SQLite and PostgreSQL both accept; the few statements that differ
//! come from the backend as a [`Dialect`].
//!
//! The outbox's hot writes (enqueue, finish) carry many rows per statement
//! ([`RowsStatement`]): every statement is a round trip, and at thousands of
//! messages a second the round trips and the per-statement work, not the rows,
//! are the cost.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone as _, Utc};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Row as _};

use super::key::{is_sealed, SecretKey};
use super::{
    Attempt, Enqueued, Finished, FlockRecord, IfExists, Message, MessageFilter, MessageStatus, NewAlert, Next, Origin,
    QueueDepth, SourceRecord, Store, StoreError,
};
use crate::destination::{ChannelKind, Destination};
use crate::flock::FlockSettings;
use crate::sources::Source;

/// What differs between backends.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub backend: &'static str,
    /// See [`Store::concurrent_writes`].
    pub concurrent_writes: usize,
    /// Row locking added to the claim's inner SELECT (PostgreSQL:
    /// `FOR UPDATE SKIP LOCKED`; SQLite has one writer and needs none).
    pub claim_lock: &'static str,
    /// How many rows one multi-row statement may carry (rounded down to a power
    /// of two). Far below the bound parameter limits: every connection keeps
    /// each statement shape it prepared, with per-parameter metadata and a
    /// buffer as large as its largest message, so big shapes cost memory on
    /// every connection for little gain (a group of ordinary requests is tens
    /// of rows).
    pub max_rows_per_statement: usize,
    /// Multi-row statements use anonymous `?` placeholders instead of `$n`. For
    /// SQLite: sqlx looks up the name of every numbered parameter when binding,
    /// a linear search in SQLite, so statements with thousands of `$n` spend
    /// more time binding than inserting.
    pub anonymous_placeholders: bool,
    /// Reclaims the old row versions of `messages`, run in the background after
    /// every [`VACUUM_AFTER_FINISHED`] finished or [`VACUUM_AFTER_ENQUEUED`] new
    /// messages (see [`Vacuum`]).
    pub vacuum: Option<&'static str>,
}

/// One field of one row of a multi-row statement.
#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Text(Option<&'a str>),
    BigInt(Option<i64>),
}

/// Finished messages between two vacuums of `messages` (PostgreSQL): each
/// leaves two dead row versions (claim, finish) behind.
pub const VACUUM_AFTER_FINISHED: u64 = 20_000;

/// New messages between two vacuums of `messages` when none finish (a queue
/// filling for a dead destination). They leave nothing to clean up, but until
/// a vacuum marks their pages all-visible, counting the queue for `/metrics`
/// has to visit every row instead of reading the index alone.
pub const VACUUM_AFTER_ENQUEUED: u64 = 100_000;

/// Background vacuuming of the outbox (PostgreSQL).
///
/// Every message is updated twice (claim, finish) and PostgreSQL keeps the old
/// versions, with an entry in each index, until VACUUM. Autovacuum looks at a
/// database once a minute by default; at thousands of messages a second that
/// is hundreds of thousands of dead versions, which every insert, claim and
/// finish then has to step over: in the relay bench, deliveries fell from
/// 7,000/s to 1,200/s within a minute. Vacuuming after every
/// [`VACUUM_AFTER_FINISHED`] messages keeps them flat; it takes about 0.2 s
/// with a million messages queued and blocks no reader or writer.
#[derive(Debug, Default)]
struct Vacuum {
    finished: std::sync::atomic::AtomicU64,
    enqueued: std::sync::atomic::AtomicU64,
    running: std::sync::atomic::AtomicBool,
}

/// The columns every message query returns, in [`message_from_row`]'s order.
pub const MESSAGE_COLUMNS: &str = "id, alert_id, destination_id, flock_id, kind, status, body, attempts, tries, \
     created_at, next_attempt_at, last_error, finished_at, hops";

const MESSAGE_FIELDS: usize = 12;
const ALERT_FIELDS: usize = 7;
const ATTEMPT_FIELDS: usize = 7;
const OUTCOME_FIELDS: usize = 7;

/// Row counts up to which a multi-row statement exists in every size; above,
/// in powers of two. A group of up to this many rows (a usual ingest group or
/// delivery round) is one statement: every statement is a hand-over to
/// SQLite's worker thread or a round trip to PostgreSQL, and on SQLite's single
/// writer every one of them holds up the next transaction.
const EVERY_SIZE_UP_TO: usize = 16;

/// One multi-row statement in every size up to [`EVERY_SIZE_UP_TO`] rows, then
/// in powers of two up to a maximum: 18 shapes of each statement, within sqlx's
/// cache of 100 prepared statements per connection.
#[derive(Debug)]
struct RowsStatement {
    /// The statements with the number of rows each carries, ascending.
    by_size: Vec<(usize, String)>,
    /// Placeholders per row.
    fields: usize,
}

impl RowsStatement {
    /// `build` turns the `(…), (…)` list of placeholder rows into the statement.
    fn new(dialect: &Dialect, fields: usize, build: impl Fn(&str) -> String) -> Self {
        let mut by_size = Vec::new();
        let mut rows = 1;
        while rows <= dialect.max_rows_per_statement.max(1) {
            let values: Vec<String> = (0..rows)
                .map(|row| {
                    if dialect.anonymous_placeholders {
                        format!("({})", vec!["?"; fields].join(", "))
                    } else {
                        placeholders(1 + row * fields, fields)
                    }
                })
                .collect();
            by_size.push((rows, build(&values.join(", "))));
            rows = if rows < EVERY_SIZE_UP_TO { rows + 1 } else { rows * 2 };
        }
        Self { by_size, fields }
    }

    /// The statements that carry `rows`, with their rows bound.
    fn queries<'q, const FIELDS: usize>(&'q self, rows: &[[Field<'q>; FIELDS]]) -> Vec<AnyQuery<'q>> {
        debug_assert_eq!(FIELDS, self.fields, "rows fit the statement's placeholders");
        let mut queries = Vec::new();
        let mut rest = rows;
        for index in self.pieces(rows.len()) {
            let (size, sql) = &self.by_size[index];
            let (piece, after) = rest.split_at(*size);
            let mut query = sqlx::query(sql.as_str());
            for field in piece.iter().flatten() {
                query = match *field {
                    Field::Text(text) => query.bind(text),
                    Field::BigInt(number) => query.bind(number),
                };
            }
            queries.push(query);
            rest = after;
        }
        queries
    }

    /// Which statements (indices into `by_size`) carry `total` rows: each the
    /// largest that fits what is left.
    fn pieces(&self, total: usize) -> Vec<usize> {
        let mut pieces = Vec::new();
        let mut remaining = total;
        while let Some(index) = self.by_size.iter().rposition(|(size, _)| *size <= remaining) {
            pieces.push(index);
            remaining -= self.by_size[index].0;
        }
        pieces
    }
}

/// The outbox's multi-row statements, built once per store.
#[derive(Debug)]
struct Statements {
    /// New alerts; returns the ids actually inserted (not already stored).
    insert_alerts: RowsStatement,
    insert_messages: RowsStatement,
    insert_attempts: RowsStatement,
    /// Applies attempt outcomes to messages still leased by the attempt's worker.
    apply_outcomes: RowsStatement,
}

impl Statements {
    fn new(dialect: &Dialect) -> Self {
        Self {
            insert_alerts: RowsStatement::new(dialect, ALERT_FIELDS, |values| {
                format!(
                    "INSERT INTO alerts (id, idempotency_key, flock_id, kind, received_at, messages, hops) \
                     VALUES {values} ON CONFLICT DO NOTHING RETURNING id"
                )
            }),
            insert_messages: RowsStatement::new(dialect, MESSAGE_FIELDS, |values| {
                format!(
                    "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, \
                     next_attempt_at, last_error, finished_at, hops) VALUES {values}"
                )
            }),
            insert_attempts: RowsStatement::new(dialect, ATTEMPT_FIELDS, |values| {
                format!(
                    "INSERT INTO attempts (message_id, number, started_at, duration_ms, http_status, outcome, detail) \
                     VALUES {values} ON CONFLICT DO NOTHING"
                )
            }),
            apply_outcomes: RowsStatement::new(dialect, OUTCOME_FIELDS, |values| {
                format!(
                    "WITH outcome (id, owner, status, next_attempt_at, finished_at, last_error, counted) AS (VALUES {values}) \
                     UPDATE messages SET status = outcome.status, next_attempt_at = outcome.next_attempt_at, \
                     finished_at = outcome.finished_at, last_error = outcome.last_error, attempts = attempts + 1, \
                     tries = tries + outcome.counted, lease_owner = NULL, lease_until = NULL FROM outcome \
                     WHERE messages.id = outcome.id AND messages.lease_owner = outcome.owner \
                     AND messages.status = 'delivering'"
                )
            }),
        }
    }
}

/// One schema migration.
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// A store on a SQL database. Writes go through `write`, reads through `read`:
/// for SQLite the write pool has one connection (SQLite has one writer; waiting
/// in the pool is cheaper than busy retries), for PostgreSQL both are one pool.
#[derive(Debug, Clone)]
pub struct SqlStore {
    write: AnyPool,
    read: AnyPool,
    dialect: Dialect,
    /// Leases due messages: `$1` owner, `$2` lease end, `$3` now, `$4` destination,
    /// `$5` limit; returns [`MESSAGE_COLUMNS`].
    claim: String,
    statements: Arc<Statements>,
    vacuum: Arc<Vacuum>,
    /// Seals the secret-holding specs of destinations and sources.
    key: Arc<SecretKey>,
}

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

fn kind_from(text: &str, table: &'static str) -> Result<ChannelKind, StoreError> {
    ChannelKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt { table, reason: format!("unknown channel kind {text:?}") })
}

fn message_from_row(row: &AnyRow) -> Result<Message, StoreError> {
    let status: String = row.try_get(5)?;
    let finished_at: Option<i64> = row.try_get(12)?;
    Ok(Message {
        id: row.try_get(0)?,
        alert_id: row.try_get(1)?,
        destination_id: row.try_get(2)?,
        flock_id: row.try_get(3)?,
        kind: kind_from(&row.try_get::<String, _>(4)?, "messages")?,
        status: MessageStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt { table: "messages", reason: format!("unknown status {status:?}") })?,
        body: row.try_get(6)?,
        attempts: count(row.try_get(7)?),
        tries: count(row.try_get(8)?),
        created_at: time(row.try_get(9)?, "messages")?,
        next_attempt_at: time(row.try_get(10)?, "messages")?,
        last_error: row.try_get(11)?,
        finished_at: finished_at.map(|at| time(at, "messages")).transpose()?,
        hops: count(row.try_get(13)?),
    })
}

/// The row name sealed values are bound to (`destinations:soc_hec`).
fn row_name(table: &str, id: &str) -> String {
    format!("{table}:{id}")
}

/// Opens a stored spec (sealed, or an earlier version's plaintext).
fn open_spec(key: &SecretKey, table: &'static str, id: &str, spec: &str) -> Result<String, StoreError> {
    key.open(&row_name(table, id), spec).map_err(|error| StoreError::Sealed { table, id: id.to_owned(), source: error })
}

/// A destination from a row of `spec, id`.
pub(super) fn destination_from_row(key: &SecretKey, row: &AnyRow) -> Result<Destination, StoreError> {
    let (spec, id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    serde_json::from_str(&open_spec(key, "destinations", &id, &spec)?)
        .map_err(|error| StoreError::Corrupt { table: "destinations", reason: error.to_string() })
}

/// A source from a row of `spec, origin, id`.
fn source_from_row(key: &SecretKey, row: &AnyRow) -> Result<SourceRecord, StoreError> {
    let (spec, id): (String, String) = (row.try_get(0)?, row.try_get(2)?);
    let source = serde_json::from_str(&open_spec(key, "sources", &id, &spec)?)
        .map_err(|error| StoreError::Corrupt { table: "sources", reason: error.to_string() })?;
    Ok(SourceRecord { source, origin: origin_from(&row.try_get::<String, _>(1)?) })
}

fn origin_from(text: &str) -> Origin {
    if text == Origin::Config.as_str() {
        Origin::Config
    } else {
        Origin::Api
    }
}

/// `$first, $first+1, …` for `n` parameters, in parentheses.
fn placeholders(first: usize, n: usize) -> String {
    let list: Vec<String> = (first..first + n).map(|index| format!("${index}")).collect();
    format!("({})", list.join(", "))
}

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

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
        Self { write, read, dialect, claim, statements, vacuum: Arc::default(), key: Arc::new(key) }
    }

    /// Counts enqueued and finished messages and, past [`VACUUM_AFTER_ENQUEUED`]
    /// or [`VACUUM_AFTER_FINISHED`], starts a vacuum in the background (one at
    /// a time; the caller does not wait).
    fn wrote(&self, enqueued: usize, finished: usize) {
        use std::sync::atomic::Ordering;
        let Some(sql) = self.dialect.vacuum else {
            return;
        };
        let add = |counter: &std::sync::atomic::AtomicU64, count: usize| {
            let count = u64::try_from(count).unwrap_or(u64::MAX);
            counter.fetch_add(count, Ordering::Relaxed).saturating_add(count)
        };
        let enqueued = add(&self.vacuum.enqueued, enqueued);
        let finished = add(&self.vacuum.finished, finished);
        let due = enqueued >= VACUUM_AFTER_ENQUEUED || finished >= VACUUM_AFTER_FINISHED;
        if !due || self.vacuum.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.vacuum.finished.store(0, Ordering::Relaxed);
        self.vacuum.enqueued.store(0, Ordering::Relaxed);
        let (pool, vacuum) = (self.write.clone(), Arc::clone(&self.vacuum));
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match sqlx::raw_sql(sql).execute(&pool).await {
                Ok(_) => tracing::debug!(took = ?started.elapsed(), "Vacuumed the messages table."),
                Err(error) => {
                    tracing::warn!(%error, "Cannot vacuum the messages table; autovacuum will, later.");
                }
            }
            vacuum.running.store(false, Ordering::Release);
        });
    }

    /// Applies the migrations not applied yet, each in its own transaction.
    /// `lock`, when given, is run first in each transaction (PostgreSQL takes an
    /// advisory lock so that instances starting together migrate one at a time).
    pub async fn migrate(&self, migrations: &[Migration], lock: Option<&str>) -> Result<(), StoreError> {
        for migration in migrations {
            let mut tx = self.write.begin().await?;
            if let Some(lock) = lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            sqlx::query(
                "CREATE TABLE IF NOT EXISTS flockrelay_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *tx)
            .await?;
            let applied = sqlx::query("SELECT version FROM flockrelay_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
            if applied.is_none() {
                sqlx::raw_sql(migration.sql).execute(&mut *tx).await?;
                sqlx::query("INSERT INTO flockrelay_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(migration.version)
                    .bind(millis(Utc::now()))
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(
                    version = migration.version,
                    backend = self.dialect.backend,
                    "Applied a schema migration."
                );
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Makes `key` the database's secret key: records its check value when the
    /// database has none (a new database, or one of an earlier version), refuses
    /// a different key ([`StoreError::WrongKey`]), and seals the specs still in
    /// plaintext (written by an earlier version). One transaction; safe when
    /// several instances start together.
    pub async fn adopt_key(&self, lock: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        if let Some(lock) = lock {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO flockrelay_secret_key (id, key_check, created_at) VALUES (1, $1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(self.key.check_value())
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await?;
        let stored: String = sqlx::query("SELECT key_check FROM flockrelay_secret_key WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        if stored != self.key.check_value() {
            return Err(StoreError::WrongKey { given: self.key.id(), database: stored.chars().take(8).collect() });
        }
        let mut sealed = 0_u64;
        for table in ["destinations", "sources"] {
            let rows = sqlx::query(&format!("SELECT id, spec FROM {table}")).fetch_all(&mut *tx).await?;
            for row in rows {
                let (id, spec): (String, String) = (row.try_get(0)?, row.try_get(1)?);
                if is_sealed(&spec) {
                    continue;
                }
                sqlx::query(&format!("UPDATE {table} SET spec = $1 WHERE id = $2"))
                    .bind(self.key.seal(&row_name(table, &id), &spec))
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                sealed += 1;
            }
        }
        tx.commit().await?;
        if sealed > 0 {
            tracing::info!(rows = sealed, key = %self.key.id(), "Encrypted the secrets an earlier version stored in plaintext.");
            // The plaintext is still in the old row versions (PostgreSQL), free
            // pages and the WAL (SQLite): rewrite the tables (the catalogue is small).
            let rewrite = match self.dialect.backend {
                "sqlite" => "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
                _ => "VACUUM (FULL) destinations, sources",
            };
            sqlx::raw_sql(rewrite).execute(&self.write).await?;
        }
        Ok(())
    }

    fn upsert_destination<'q>(destination: &'q Destination, spec: String, origin: Origin) -> AnyQuery<'q> {
        sqlx::query(
            "INSERT INTO destinations (id, name, scope, kind, spec, enabled, origin, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope, kind = excluded.kind, \
             spec = excluded.spec, enabled = excluded.enabled, origin = excluded.origin, updated_at = excluded.updated_at",
        )
        .bind(destination.id.as_str())
        .bind(destination.name.as_str())
        .bind(destination.scope.as_str())
        .bind(destination.channel.kind().as_str())
        .bind(spec)
        .bind(flag(destination.enabled))
        .bind(origin.as_str())
        .bind(millis(Utc::now()))
    }

    /// Inserts a destination unless its id or name is taken (then nothing happens).
    fn insert_destination<'q>(destination: &'q Destination, spec: String, origin: Origin) -> AnyQuery<'q> {
        sqlx::query(
            "INSERT INTO destinations (id, name, scope, kind, spec, enabled, origin, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .bind(destination.id.as_str())
        .bind(destination.name.as_str())
        .bind(destination.scope.as_str())
        .bind(destination.channel.kind().as_str())
        .bind(spec)
        .bind(flag(destination.enabled))
        .bind(origin.as_str())
        .bind(millis(Utc::now()))
    }

    fn upsert_flock(flock: &FlockRecord) -> AnyQuery<'_> {
        Self::bind_flock(
            "INSERT INTO flocks (id, name, use_global, enabled, origin, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, use_global = excluded.use_global, \
             enabled = excluded.enabled, origin = excluded.origin, updated_at = excluded.updated_at",
            flock,
        )
    }

    /// A config file flock: inserted, or replacing a stored one the config file
    /// still owns. A flock the API took over keeps its name and settings.
    fn upsert_config_flock(flock: &FlockRecord) -> AnyQuery<'_> {
        Self::bind_flock(
            "INSERT INTO flocks (id, name, use_global, enabled, origin, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, use_global = excluded.use_global, \
             enabled = excluded.enabled, origin = excluded.origin, updated_at = excluded.updated_at \
             WHERE flocks.origin = 'config'",
            flock,
        )
    }

    fn bind_flock<'q>(sql: &'q str, flock: &'q FlockRecord) -> AnyQuery<'q> {
        sqlx::query(sql)
            .bind(flock.id.as_str())
            .bind(flock.name.as_str())
            .bind(flag(flock.settings.use_global))
            .bind(flag(flock.settings.enabled))
            .bind(flock.origin.as_str())
            .bind(millis(Utc::now()))
    }

    fn upsert_source(source: &Source, spec: String, origin: Origin) -> AnyQuery<'_> {
        sqlx::query(
            "INSERT INTO sources (id, flock_id, scheme, spec, origin, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET flock_id = excluded.flock_id, scheme = excluded.scheme, \
             spec = excluded.spec, origin = excluded.origin, updated_at = excluded.updated_at",
        )
        .bind(source.id.as_str())
        .bind(source.flock.as_str())
        .bind(source.scheme.name().as_str())
        .bind(spec)
        .bind(origin.as_str())
        .bind(millis(Utc::now()))
    }

    /// The source as stored: its JSON, sealed (it holds the source's secrets).
    fn source_spec(&self, source: &Source) -> Result<String, StoreError> {
        let json = serde_json::to_string(source)
            .map_err(|error| StoreError::Corrupt { table: "sources", reason: error.to_string() })?;
        Ok(self.key.seal(&row_name("sources", &source.id), &json))
    }

    fn cancel_messages_of(destination_id: &str) -> AnyQuery<'_> {
        sqlx::query(
            "UPDATE messages SET status = 'cancelled', lease_owner = NULL, lease_until = NULL, finished_at = $2, \
             last_error = 'destination deleted' WHERE destination_id = $1 AND finished_at IS NULL",
        )
        .bind(destination_id)
        .bind(millis(Utc::now()))
    }

    /// The destination as stored: its JSON, sealed (its channel settings hold
    /// tokens, passwords, signing secrets and secret URLs).
    fn spec(&self, destination: &Destination) -> Result<String, StoreError> {
        let json = serde_json::to_string(destination)
            .map_err(|error| StoreError::Corrupt { table: "destinations", reason: error.to_string() })?;
        Ok(self.key.seal(&row_name("destinations", &destination.id), &json))
    }

    /// Inserts the alerts `indices` names, none of which clash with another in
    /// the list; returns the ids of those inserted (the others were stored before).
    async fn insert_alerts(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        alerts: &[NewAlert],
        indices: &[usize],
    ) -> Result<HashSet<String>, StoreError> {
        let mut inserted = HashSet::with_capacity(indices.len());
        let rows: Vec<[Field<'_>; _]> = indices
            .iter()
            .map(|&index| &alerts[index])
            .map(|alert| {
                [
                    Field::Text(Some(&alert.id)),
                    Field::Text(alert.idempotency_key.as_deref()),
                    Field::Text(Some(&alert.flock_id)),
                    Field::Text(Some(&alert.kind)),
                    Field::BigInt(Some(millis(alert.received_at))),
                    Field::BigInt(Some(i64::try_from(alert.messages.len()).unwrap_or(i64::MAX))),
                    Field::BigInt(Some(i64::from(alert.hops))),
                ]
            })
            .collect();
        for query in self.statements.insert_alerts.queries(&rows) {
            for row in query.fetch_all(&mut **tx).await? {
                inserted.insert(row.try_get::<String, _>(0)?);
            }
        }
        Ok(inserted)
    }

    /// Inserts the messages of the alerts `indices` names, many rows per statement.
    async fn insert_messages(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        alerts: &[NewAlert],
        indices: &[usize],
    ) -> Result<(), StoreError> {
        let rows: Vec<[Field<'_>; _]> = indices
            .iter()
            .map(|&index| &alerts[index])
            .flat_map(|alert| alert.messages.iter().map(move |message| (alert, message)))
            .map(|(alert, message)| {
                let created = millis(alert.received_at);
                let status = if message.error.is_some() { MessageStatus::Failed } else { MessageStatus::Pending };
                [
                    Field::Text(Some(&message.id)),
                    Field::Text(Some(&alert.id)),
                    Field::Text(Some(&message.destination_id)),
                    Field::Text(Some(&alert.flock_id)),
                    Field::Text(Some(message.kind.as_str())),
                    Field::Text(Some(status.as_str())),
                    Field::Text(Some(&message.body)),
                    Field::BigInt(Some(created)),
                    Field::BigInt(Some(created)),
                    Field::Text(message.error.as_deref()),
                    Field::BigInt(message.error.as_ref().map(|_| created)),
                    Field::BigInt(Some(i64::from(alert.hops))),
                ]
            })
            .collect();
        for query in self.statements.insert_messages.queries(&rows) {
            query.execute(&mut **tx).await?;
        }
        Ok(())
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
        let ids = rows.iter().map(|row| row.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().filter(|id| !kept.contains(&id.as_str())).collect())
    }

    /// The stored alert an id or idempotency key refers to, with its message count.
    async fn existing_alert(tx: &mut sqlx::Transaction<'_, Any>, alert: &NewAlert) -> Result<Enqueued, StoreError> {
        let row = sqlx::query("SELECT id, messages FROM alerts WHERE id = $1 OR idempotency_key = $2")
            .bind(alert.id.as_str())
            .bind(alert.idempotency_key.as_deref())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::Corrupt {
                table: "alerts",
                reason: format!("alert {} conflicts but cannot be found", alert.id),
            })?;
        Ok(Enqueued {
            alert_id: row.try_get(0)?,
            messages: u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0),
            duplicate: true,
            held: Vec::new(),
        })
    }
}

/// Splits `waiting` (indices into `alerts`, in order) into the alerts that can be
/// inserted together now and those that must wait for a later pass: an alert
/// waits when its id or idempotency key is shared by an earlier waiting alert, so
/// that alerts sharing an id or key are decided in order, as if one at a time.
fn without_clashes(alerts: &[NewAlert], waiting: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    let (mut now, mut later) = (Vec::with_capacity(waiting.len()), Vec::new());
    for &index in waiting {
        let alert = &alerts[index];
        // Both sets are updated even for a waiting alert: alerts after it that
        // share its id or key must wait for it.
        let new_id = ids.insert(alert.id.as_str());
        let new_key = alert.idempotency_key.as_deref().is_none_or(|key| keys.insert(key));
        if new_id && new_key {
            now.push(index);
        } else {
            later.push(index);
        }
    }
    (now, later)
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.dialect.backend
    }

    fn concurrent_writes(&self) -> usize {
        self.dialect.concurrent_writes
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn flocks(&self) -> Result<Vec<FlockRecord>, StoreError> {
        let rows = sqlx::query("SELECT id, name, use_global, enabled, origin FROM flocks ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(FlockRecord {
                    id: row.try_get(0)?,
                    name: row.try_get(1)?,
                    settings: FlockSettings {
                        use_global: row.try_get::<i64, _>(2)? != 0,
                        enabled: row.try_get::<i64, _>(3)? != 0,
                    },
                    origin: origin_from(&row.try_get::<String, _>(4)?),
                })
            })
            .collect()
    }

    async fn put_flock(&self, flock: &FlockRecord) -> Result<(), StoreError> {
        Self::upsert_flock(flock).execute(&self.write).await?;
        Ok(())
    }

    async fn delete_flock(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let deleted = sqlx::query("DELETE FROM flocks WHERE id = $1").bind(id).execute(&mut *tx).await?;
        found(&deleted, || StoreError::FlockNotFound(id.to_owned()))?;
        let ids: Vec<String> = sqlx::query("SELECT id FROM destinations WHERE scope = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get(0))
            .collect::<Result<_, _>>()?;
        for destination_id in &ids {
            Self::cancel_messages_of(destination_id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM destinations WHERE scope = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_flock_settings(&self, id: &str, settings: FlockSettings) -> Result<(), StoreError> {
        let updated =
            sqlx::query("UPDATE flocks SET use_global = $1, enabled = $2, origin = $3, updated_at = $4 WHERE id = $5")
                .bind(flag(settings.use_global))
                .bind(flag(settings.enabled))
                .bind(Origin::Api.as_str())
                .bind(millis(Utc::now()))
                .bind(id)
                .execute(&self.write)
                .await?;
        found(&updated, || StoreError::FlockNotFound(id.to_owned()))?;
        Ok(())
    }

    async fn rename_flock(&self, id: &str, name: &str) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE flocks SET name = $1, origin = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(Origin::Api.as_str())
            .bind(millis(Utc::now()))
            .bind(id)
            .execute(&self.write)
            .await?;
        found(&updated, || StoreError::FlockNotFound(id.to_owned()))?;
        Ok(())
    }

    async fn destinations(&self) -> Result<Vec<Destination>, StoreError> {
        let rows = sqlx::query("SELECT spec, id, state FROM destinations ORDER BY name").fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let mut destination = destination_from_row(&self.key, row)?;
                destination.enabled &=
                    super::states::state_from(&row.try_get::<String, _>(2)?) == super::DestinationState::Enabled;
                Ok(destination)
            })
            .collect()
    }

    async fn destination_states(&self) -> Result<Vec<super::StateRecord>, StoreError> {
        self.read_destination_states().await
    }

    async fn set_destination_state(
        &self,
        id: &str,
        state: super::DestinationState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_destination_state(id, state, reason, at).await
    }

    async fn put_destination(&self, destination: &Destination, origin: Origin) -> Result<(), StoreError> {
        Self::upsert_destination(destination, self.spec(destination)?, origin).execute(&self.write).await?;
        Ok(())
    }

    async fn delete_destination(&self, id: &str) -> Result<u64, StoreError> {
        let mut tx = self.write.begin().await?;
        let deleted = sqlx::query("DELETE FROM destinations WHERE id = $1").bind(id).execute(&mut *tx).await?;
        found(&deleted, || StoreError::DestinationNotFound(id.to_owned()))?;
        let cancelled = Self::cancel_messages_of(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(cancelled)
    }

    async fn add_destination(
        &self,
        destination: &Destination,
        origin: Origin,
        if_exists: IfExists,
    ) -> Result<(), StoreError> {
        let spec = self.spec(destination)?;
        let mut tx = self.write.begin().await?;
        let flock = destination.scope.as_str();
        if sqlx::query("SELECT id FROM flocks WHERE id = $1").bind(flock).fetch_optional(&mut *tx).await?.is_none() {
            return Err(StoreError::FlockNotFound(flock.to_owned()));
        }
        match if_exists {
            IfExists::Fail => {
                let inserted = Self::insert_destination(destination, spec, origin).execute(&mut *tx).await?;
                if inserted.rows_affected() == 0 {
                    return Err(StoreError::DuplicateDestination(destination.id.clone()));
                }
            }
            IfExists::Replace => {
                let clash = sqlx::query("SELECT id FROM destinations WHERE name = $1 AND id <> $2")
                    .bind(destination.name.as_str())
                    .bind(destination.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if clash.is_some() {
                    return Err(StoreError::DuplicateDestination(destination.name.clone()));
                }
                let owner = sqlx::query("SELECT origin FROM destinations WHERE id = $1")
                    .bind(destination.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = owner {
                    if origin_from(&row.try_get::<String, _>(0)?) != origin {
                        return Err(StoreError::DeclaredInConfig(destination.id.clone()));
                    }
                }
                self.lift_stale_verdict(&mut tx, destination).await?;
                Self::upsert_destination(destination, spec, origin).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_api_destinations(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut cancelled = 0;
        for id in ids {
            let row = sqlx::query("SELECT origin FROM destinations WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::DestinationNotFound(id.clone()))?;
            if origin_from(&row.try_get::<String, _>(0)?) != Origin::Api {
                return Err(StoreError::DeclaredInConfig(id.clone()));
            }
            sqlx::query("DELETE FROM destinations WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
            cancelled += Self::cancel_messages_of(id).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(cancelled)
    }

    async fn apply_config(&self, flocks: &[FlockRecord], destinations: &[Destination]) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for flock in flocks {
            Self::upsert_config_flock(flock).execute(&mut *tx).await?;
        }
        let kept: Vec<&str> = destinations.iter().map(|destination| destination.id.as_str()).collect();
        let stale = Self::config_ids_not_in(&mut tx, "destinations", &kept).await?;
        for id in &stale {
            Self::cancel_messages_of(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM destinations WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
            tracing::info!(destination = %id, "A destination removed from the config file was deleted.");
        }
        for destination in destinations {
            // A config destination replaces an API one of the same name.
            sqlx::query("DELETE FROM destinations WHERE name = $1 AND id <> $2")
                .bind(destination.name.as_str())
                .bind(destination.id.as_str())
                .execute(&mut *tx)
                .await?;
            self.lift_stale_verdict(&mut tx, destination).await?;
            Self::upsert_destination(destination, self.spec(destination)?, Origin::Config).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let rows = sqlx::query("SELECT spec, origin, id FROM sources ORDER BY id").fetch_all(&self.read).await?;
        rows.iter().map(|row| source_from_row(&self.key, row)).collect()
    }

    async fn source(&self, id: &str) -> Result<Option<SourceRecord>, StoreError> {
        let row = sqlx::query("SELECT spec, origin, id FROM sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(|row| source_from_row(&self.key, row)).transpose()
    }

    async fn put_source(&self, source: &Source, origin: Origin) -> Result<(), StoreError> {
        Self::upsert_source(source, self.source_spec(source)?, origin).execute(&self.write).await?;
        Ok(())
    }

    async fn delete_source(&self, id: &str) -> Result<(), StoreError> {
        let deleted = sqlx::query("DELETE FROM sources WHERE id = $1").bind(id).execute(&self.write).await?;
        found(&deleted, || StoreError::SourceNotFound(id.to_owned()))?;
        Ok(())
    }

    async fn apply_config_sources(&self, sources: &[Source]) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        let kept: Vec<&str> = sources.iter().map(|source| source.id.as_str()).collect();
        let stale = Self::config_ids_not_in(&mut tx, "sources", &kept).await?;
        for id in &stale {
            sqlx::query("DELETE FROM sources WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
            tracing::info!(source = %id, "A source removed from the config file was deleted.");
        }
        for source in sources {
            Self::upsert_source(source, self.source_spec(source)?, Origin::Config).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn enqueue(&self, alerts: &[NewAlert]) -> Result<Vec<Enqueued>, StoreError> {
        let mut results: Vec<Option<Enqueued>> = vec![None; alerts.len()];
        let mut tx = self.write.begin().await?;
        let mut waiting: Vec<usize> = (0..alerts.len()).collect();
        // One pass unless the batch itself repeats an id or key.
        while !waiting.is_empty() {
            let (now, later) = without_clashes(alerts, &waiting);
            let inserted = self.insert_alerts(&mut tx, alerts, &now).await?;
            let mut fresh = Vec::with_capacity(now.len());
            for &index in &now {
                let alert = &alerts[index];
                results[index] = Some(if inserted.contains(&alert.id) {
                    fresh.push(index);
                    Enqueued {
                        alert_id: alert.id.clone(),
                        messages: u64::try_from(alert.messages.len()).unwrap_or(u64::MAX),
                        duplicate: false,
                        held: Vec::new(),
                    }
                } else {
                    Self::existing_alert(&mut tx, alert).await?
                });
            }
            self.insert_messages(&mut tx, alerts, &fresh).await?;
            // Storm rules (silences, dedupe, grouping): in this transaction.
            for (index, held) in self.hold_storms(&mut tx, alerts, &fresh).await? {
                if let Some(Some(result)) = results.get_mut(index) {
                    result.held.push(held);
                }
            }
            waiting = later;
        }
        tx.commit().await?;
        self.wrote(alerts.iter().map(|alert| alert.messages.len()).sum(), 0);
        Ok(results.into_iter().flatten().collect())
    }

    async fn claim(
        &self,
        destination_id: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        // Checked: a lease past the end of the calendar lasts for good, never panics.
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let lease_end = now.checked_add_signed(lease).unwrap_or(DateTime::<Utc>::MAX_UTC);
        let rows = sqlx::query(&self.claim)
            .bind(owner)
            .bind(millis(lease_end))
            .bind(millis(now))
            .bind(destination_id)
            .bind(i64::from(limit))
            .fetch_all(&self.write)
            .await?;
        let mut messages = rows.iter().map(message_from_row).collect::<Result<Vec<_>, _>>()?;
        messages.sort_by_key(|message| message.created_at);
        Ok(messages)
    }

    async fn finish(&self, results: &[Finished]) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let attempts: Vec<[Field<'_>; _]> = results
            .iter()
            .map(|result| {
                let attempt = &result.attempt;
                [
                    Field::Text(Some(&result.message_id)),
                    Field::BigInt(Some(i64::from(attempt.number))),
                    Field::BigInt(Some(millis(attempt.started_at))),
                    Field::BigInt(Some(i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX))),
                    Field::BigInt(attempt.http_status.map(i64::from)),
                    Field::Text(Some(&attempt.outcome)),
                    Field::Text(Some(&attempt.detail)),
                ]
            })
            .collect();
        let outcomes: Vec<[Field<'_>; _]> = results
            .iter()
            .map(|result| {
                let attempt = &result.attempt;
                let finished_at = millis(attempt.started_at) + i64::try_from(attempt.duration_ms).unwrap_or(0);
                let (status, next_attempt_at, finished) = match &result.next {
                    Next::Delivered => (MessageStatus::Delivered, finished_at, Some(finished_at)),
                    Next::RetryAt(at) | Next::Paused(at) => (MessageStatus::Pending, millis(*at), None),
                    Next::Failed => (MessageStatus::Failed, finished_at, Some(finished_at)),
                };
                // A pause is not a try: the retry schedule does not move.
                let counted = i64::from(!matches!(result.next, Next::Paused(_)));
                let last_error = match result.next {
                    Next::Delivered => None,
                    _ => Some(attempt.detail.as_str()),
                };
                [
                    Field::Text(Some(&result.message_id)),
                    Field::Text(Some(&result.owner)),
                    Field::Text(Some(status.as_str())),
                    Field::BigInt(Some(next_attempt_at)),
                    Field::BigInt(finished),
                    Field::Text(last_error),
                    Field::BigInt(Some(counted)),
                ]
            })
            .collect();
        let mut tx = self.write.begin().await?;
        for query in self.statements.insert_attempts.queries(&attempts) {
            query.execute(&mut *tx).await?;
        }
        for query in self.statements.apply_outcomes.queries(&outcomes) {
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.wrote(0, results.len());
        Ok(())
    }

    async fn release(&self, owner: &str) -> Result<u64, StoreError> {
        let released = sqlx::query(
            "UPDATE messages SET status = 'pending', lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner = $1 AND status = 'delivering'",
        )
        .bind(owner)
        .execute(&self.write)
        .await?;
        Ok(released.rows_affected())
    }

    async fn hand_back(&self, owner: &str, ids: &[String], due: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut handed_back = 0;
        let mut tx = self.write.begin().await?;
        for id in ids {
            let done = sqlx::query(
                "UPDATE messages SET status = 'pending', next_attempt_at = $1, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $2 AND lease_owner = $3 AND status = 'delivering'",
            )
            .bind(millis(due))
            .bind(id.as_str())
            .bind(owner)
            .execute(&mut *tx)
            .await?;
            handed_back += done.rows_affected();
        }
        tx.commit().await?;
        Ok(handed_back)
    }

    async fn next_due(&self, destination_id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN status = 'delivering' THEN lease_until ELSE next_attempt_at END) FROM messages \
             WHERE destination_id = $1 AND finished_at IS NULL",
        )
        .bind(destination_id)
        .fetch_one(&self.read)
        .await?;
        row.try_get::<Option<i64>, _>(0)?.map(|at| time(at, "messages")).transpose()
    }

    async fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        let mut conditions = Vec::new();
        let mut index = 0;
        let mut next = || {
            index += 1;
            format!("${index}")
        };
        // The status is one of five fixed words, written into the statement so
        // that the planner can use the partial index of failed messages.
        if let Some(status) = filter.status {
            conditions.push(format!("status = '{}'", status.as_str()));
        }
        let text_filters = [("destination_id", filter.destination_id.clone()), ("flock_id", filter.flock_id.clone())];
        let mut texts = Vec::new();
        for (column, value) in text_filters {
            if let Some(value) = value {
                conditions.push(format!("{column} = {}", next()));
                texts.push(value);
            }
        }
        if let Some(alert) = &filter.alert_id {
            let [shown, posted] = crate::origin::filter_ids(alert);
            conditions.push(format!("alert_id IN ({}, {})", next(), next()));
            texts.extend([shown, posted]);
        }
        let mut times = Vec::new();
        if let Some(since) = filter.since {
            conditions.push(format!("created_at >= {}", next()));
            times.push(millis(since));
        }
        if let Some(until) = filter.until {
            conditions.push(format!("created_at < {}", next()));
            times.push(millis(until));
        }
        // Keyset pagination: rows after the cursor in (created_at, id) order,
        // read from the index where the previous page stopped.
        let before = filter.before.as_ref().map(|cursor| {
            let (at, id) = (next(), next());
            conditions.push(format!("(created_at, id) < ({at}, {id})"));
            (millis(cursor.created_at), cursor.id.clone())
        });
        let limit_placeholder = next();
        let where_clause =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages {where_clause} ORDER BY created_at DESC, id DESC LIMIT {limit_placeholder}"
        );
        let mut query = sqlx::query(&sql);
        for text in texts {
            query = query.bind(text);
        }
        for time in times {
            query = query.bind(time);
        }
        if let Some((at, id)) = before {
            query = query.bind(at).bind(id);
        }
        let rows = query.bind(i64::from(filter.limit)).fetch_all(&self.read).await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn message(&self, id: &str) -> Result<Option<(Message, Vec<Attempt>)>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&self.read).await? else {
            return Ok(None);
        };
        let message = message_from_row(&row)?;
        let attempts = sqlx::query(
            "SELECT number, started_at, duration_ms, http_status, outcome, detail FROM attempts \
             WHERE message_id = $1 ORDER BY number",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| {
            Ok(Attempt {
                number: count(row.try_get(0)?),
                started_at: time(row.try_get(1)?, "attempts")?,
                duration_ms: u64::try_from(row.try_get::<i64, _>(2)?).unwrap_or(0),
                http_status: row.try_get::<Option<i64>, _>(3)?.and_then(|status| u16::try_from(status).ok()),
                outcome: row.try_get(4)?,
                detail: row.try_get(5)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((message, attempts)))
    }

    async fn replay(&self, id: &str, now: DateTime<Utc>) -> Result<Message, StoreError> {
        let updated = sqlx::query(
            "UPDATE messages SET status = 'pending', next_attempt_at = $2, tries = 0, finished_at = NULL \
             WHERE id = $1 AND status IN ('delivered', 'failed')",
        )
        .bind(id)
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.write)
            .await?
            .ok_or_else(|| StoreError::MessageNotFound(id.to_owned()))?;
        let message = message_from_row(&row)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotReplayable { id: id.to_owned(), status: message.status.as_str() });
        }
        Ok(message)
    }

    async fn recover(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let recovered = sqlx::query(
            "UPDATE messages SET status = 'pending', next_attempt_at = $4, tries = 0, finished_at = NULL \
             WHERE destination_id = $1 AND status = 'failed' AND created_at >= $2 AND created_at < $3",
        )
        .bind(destination_id)
        .bind(millis(since))
        .bind(millis(until))
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        Ok(recovered.rows_affected())
    }

    async fn count_failed(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM messages \
             WHERE destination_id = $1 AND status = 'failed' AND created_at >= $2 AND created_at < $3",
        )
        .bind(destination_id)
        .bind(millis(since))
        .bind(millis(until))
        .fetch_one(&self.read)
        .await?;
        Ok(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "DELETE FROM attempts WHERE message_id IN \
             (SELECT id FROM messages WHERE finished_at < $1 AND status IN ('delivered', 'cancelled', 'grouped', 'suppressed', 'silenced'))",
        )
        .bind(millis(before))
        .execute(&mut *tx)
        .await?;
        let pruned =
            sqlx::query("DELETE FROM messages WHERE finished_at < $1 AND status IN ('delivered', 'cancelled', 'grouped', 'suppressed', 'silenced')")
                .bind(millis(before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        // Alerts are kept as long as any of their messages is, and for the
        // retention period at least (their ids de-duplicate senders' retries).
        sqlx::query(
            "DELETE FROM alerts WHERE received_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM messages WHERE messages.alert_id = alerts.id)",
        )
        .bind(millis(before))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(pruned)
    }

    async fn queue_depths(&self) -> Result<Vec<QueueDepth>, StoreError> {
        let rows = sqlx::query(
            "SELECT destination_id, COUNT(*), MIN(created_at) FROM messages \
             WHERE finished_at IS NULL GROUP BY destination_id ORDER BY destination_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueDepth {
                    destination_id: row.try_get(0)?,
                    queued: u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0),
                    oldest_created_at: row.try_get::<Option<i64>, _>(2)?.map(|at| time(at, "messages")).transpose()?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIALECT: Dialect = Dialect {
        backend: "test",
        concurrent_writes: 1,
        claim_lock: "",
        max_rows_per_statement: 64,
        anonymous_placeholders: false,
        vacuum: None,
    };

    fn sizes(total: usize) -> Vec<usize> {
        let statement = RowsStatement::new(&DIALECT, 2, |values| format!("INSERT INTO t VALUES {values}"));
        statement.pieces(total).into_iter().map(|index| statement.by_size[index].0).collect()
    }

    #[test]
    fn up_to_sixteen_rows_are_one_statement_and_more_go_in_few_pieces() {
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(13), [13]);
        assert_eq!(sizes(16), [16]);
        assert_eq!(sizes(23), [16, 7]);
        assert_eq!(sizes(64), [64]);
        assert_eq!(sizes(100), [64, 32, 4]);
        assert_eq!(sizes(200), [64, 64, 64, 8]);
    }

    #[test]
    fn every_shape_has_its_own_placeholders() {
        let statement = RowsStatement::new(&DIALECT, 2, |values| format!("VALUES {values}"));
        assert_eq!(statement.by_size.len(), 18, "1..=16, 32, 64");
        assert_eq!(statement.by_size[2], (3, "VALUES ($1, $2), ($3, $4), ($5, $6)".to_owned()));
    }
}
