//! The `Store` seam: the durable outbox (alerts, messages, attempts), the
//! catalogue (flocks, destinations) and the inbound webhook sources.
//!
//! Two implementations pass one conformance suite (`tests/it/store.rs`):
//! [`sqlite`] (embedded, the default, zero set-up) and [`postgres`] (several relay
//! instances sharing one database). Both run the same queries through
//! [`sql::SqlStore`]; what differs — connecting, migrations, the claim query —
//! lives in each backend's module.
//!
//! The specs of destinations and sources hold their secrets and are stored
//! sealed with the relay's secret key ([`key`]).
//!
//! Times are stored as Unix epoch milliseconds. A message is due when its
//! `next_attempt_at` has come and it is pending, or being delivered by a worker
//! whose lease (`lease_until`, a column of its own) has run out: a worker that
//! died. Claiming a message changes no indexed column (see migration 0004).

pub mod key;
mod migrate;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod storm;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::destination::Destination;
use crate::flock::FlockSettings;
use crate::ingest::inbound::Source;
use crate::notify::ChannelKind;

pub use sql::SqlStore;

/// Who owns a catalogue entry: the config file (re-applied at every start) or the
/// management API. A flock declared in the file becomes API-owned once the API
/// changes it, so that the change survives restarts (the file only seeded it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Config,
    Api,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Api => "api",
        }
    }
}

/// Whether a destination delivers, as decided at run time: by an operator
/// (API, CLI) or by the channel itself (410 Gone). Kept in the store apart from
/// the destination's settings, so that applying the config file at a start or
/// reload never undoes it; only an operator re-enables a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationState {
    Enabled,
    DisabledByOperator,
    DisabledByChannel,
}

impl DestinationState {
    pub const ALL: [Self; 3] = [Self::Enabled, Self::DisabledByOperator, Self::DisabledByChannel];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::DisabledByOperator => "disabled_by_operator",
            Self::DisabledByChannel => "disabled_by_channel",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

/// A destination's stored state, with what decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateRecord {
    pub destination_id: String,
    /// The `enabled` switch of its settings (`enabled = false` in the config file).
    pub switched_on: bool,
    /// The run-time verdict, `Enabled` unless an operator or the channel said otherwise.
    pub state: DestinationState,
    /// Why, as the operator or the channel put it.
    pub reason: Option<String>,
    /// When the verdict was given.
    pub changed_at: Option<DateTime<Utc>>,
}

/// What a settings switch turned off in the config file shows as.
pub const SWITCHED_OFF: &str = "enabled = false in its settings";

impl StateRecord {
    /// The state that applies, with its reason and time: a stored verdict wins;
    /// then a switched-off setting counts as the operator's.
    pub fn effective(&self) -> (DestinationState, Option<&str>, Option<DateTime<Utc>>) {
        match self.state {
            DestinationState::Enabled if !self.switched_on => {
                (DestinationState::DisabledByOperator, Some(SWITCHED_OFF), None)
            }
            state => (state, self.reason.as_deref(), self.changed_at),
        }
    }
}

/// The state that applies to `destination` given its stored record (if any):
/// what the API, the console and the `flockrelay_destination_state` gauge show.
pub fn effective_state<'a>(
    destination: &Destination,
    record: Option<&'a StateRecord>,
) -> (DestinationState, Option<&'a str>, Option<DateTime<Utc>>) {
    match record {
        Some(record) => record.effective(),
        None if destination.enabled => (DestinationState::Enabled, None, None),
        None => (DestinationState::DisabledByOperator, Some(SWITCHED_OFF), None),
    }
}

/// A flock as stored; the global set is the flock with id `global`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlockRecord {
    pub id: String,
    pub name: String,
    pub settings: FlockSettings,
    pub origin: Origin,
}

/// An inbound webhook source as stored, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// The source with its secrets (never shown by the API).
    pub source: Source,
    /// Config sources are re-applied at start; only API sources can be removed by the API.
    pub origin: Origin,
}

/// An alert accepted at ingest, with one message per resolved destination.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: String,
    /// The client's `Idempotency-Key`, when it sent one.
    pub idempotency_key: Option<String>,
    pub flock_id: String,
    pub kind: String,
    pub received_at: DateTime<Utc>,
    /// Relays the alert passed through before this one (loop guard); its
    /// messages are sent with `X-Flockrelay-Hops: hops + 1`.
    pub hops: u32,
    pub messages: Vec<NewMessage>,
}

/// One rendered delivery job.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The message id, sent as `webhook-id` on every attempt.
    pub id: String,
    pub destination_id: String,
    pub kind: ChannelKind,
    pub body: String,
    /// Set when the message could not be rendered: it is stored as failed,
    /// with this as its error, so that the operator sees it.
    pub error: Option<String>,
    /// What the storm rules must decide for it in the ingest transaction
    /// (silenced, duplicate, collected into a digest); `None`: sent as is.
    pub storm: Option<Box<crate::storm::MessagePlan>>,
}

/// What ingest did with one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    /// The stored alert's id (the earlier one's for a duplicate).
    pub alert_id: String,
    pub messages: u64,
    /// The alert id or idempotency key was seen before; nothing was added.
    pub duplicate: bool,
    /// Its messages the storm rules held back (grouped, suppressed, silenced).
    #[serde(skip)]
    pub held: Vec<storm::Held>,
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Pending,
    Delivering,
    Delivered,
    Failed,
    Cancelled,
    /// Collected into a group: a digest carries it ([`crate::storm`]).
    Grouped,
    /// A repeat of an alert sent within the dedupe window: counted, not sent.
    Suppressed,
    /// Matched a silence: stored and shown, not sent.
    Silenced,
}

impl MessageStatus {
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Delivering,
        Self::Delivered,
        Self::Failed,
        Self::Cancelled,
        Self::Grouped,
        Self::Suppressed,
        Self::Silenced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivering => "delivering",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Grouped => "grouped",
            Self::Suppressed => "suppressed",
            Self::Silenced => "silenced",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: String,
    pub alert_id: String,
    pub destination_id: String,
    pub flock_id: String,
    pub kind: ChannelKind,
    pub status: MessageStatus,
    /// The rendered body, byte for byte what is sent.
    pub body: String,
    /// Attempts made, replays included.
    pub attempts: u32,
    /// Attempts since the message was last (re-)queued: the retry schedule position.
    pub tries: u32,
    pub created_at: DateTime<Utc>,
    /// When it is (or was, once claimed) due.
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// When it was delivered, failed or cancelled.
    pub finished_at: Option<DateTime<Utc>>,
    /// Its alert's hop count: every attempt sends `X-Flockrelay-Hops: hops + 1`.
    pub hops: u32,
}

/// One recorded try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: u64,
    /// The channel's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    /// The start of the channel's answer, or the transport error.
    pub detail: String,
}

/// What happens to a message after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
    /// The destination refused as a whole and is paused: the message is due
    /// again then, and the attempt does not count against its retry schedule
    /// (`tries` stays; `attempts` counts it).
    Paused(DateTime<Utc>),
}

/// The result of one attempt, to be recorded and applied.
#[derive(Debug, Clone)]
pub struct Finished {
    pub message_id: String,
    /// The lease owner that made the attempt; a message whose lease went to
    /// another worker keeps that worker's state (the attempt is still logged).
    pub owner: String,
    pub attempt: Attempt,
    pub next: Next,
}

/// Filters of the message list; unset fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub status: Option<MessageStatus>,
    pub destination_id: Option<String>,
    pub flock_id: Option<String>,
    /// An alert id as shown (`api:INC-42`), or as an API client posted it
    /// (`INC-42`): see [`crate::origin::filter_ids`].
    pub alert_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only messages listed after this one (keyset pagination: the last
    /// message of the previous page), so that a deep page costs what the
    /// first does.
    pub before: Option<Cursor>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// A position in the message list, newest first: messages are ordered by
/// creation time, then id, both descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: DateTime<Utc>,
    pub id: String,
}

impl Cursor {
    /// The position just after `message`.
    pub fn after(message: &Message) -> Self {
        Self { created_at: message.created_at, id: message.id.clone() }
    }

    /// `<unix millis>.<message id>`, for a URL.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at.timestamp_millis(), self.id)
    }

    /// The form [`Cursor::encode`] writes; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let (millis, id) = text.split_once('.')?;
        let created_at = DateTime::from_timestamp_millis(millis.parse().ok()?)?;
        if id.is_empty() || id.len() > 200 {
            return None;
        }
        Some(Self { created_at, id: id.to_owned() })
    }
}

/// Queue figures of one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDepth {
    pub destination_id: String,
    /// Pending and being delivered.
    pub queued: u64,
    pub oldest_created_at: Option<DateTime<Utc>>,
}

/// Why the store could not do something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store unavailable: {0}")]
    Database(#[from] sqlx::Error),
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

/// What [`Store::add_destination`] does when a destination with the same id exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse with [`StoreError::DuplicateDestination`].
    Fail,
    /// Replace it; its queued messages go to the new settings.
    Replace,
}

/// The durable outbox and catalogue.
#[async_trait]
pub trait Store: storm::StormStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// How many write transactions are worth running at once: 1 for a database
    /// with a single writer (SQLite), more where concurrent transactions
    /// overlap their round trips and log flushes (PostgreSQL).
    fn concurrent_writes(&self) -> usize;

    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    // ── catalogue ──────────────────────────────────────────────────────────

    async fn flocks(&self) -> Result<Vec<FlockRecord>, StoreError>;
    /// Inserts or replaces a flock.
    async fn put_flock(&self, flock: &FlockRecord) -> Result<(), StoreError>;
    /// Deletes a flock with its destinations, cancelling their queued messages.
    async fn delete_flock(&self, id: &str) -> Result<(), StoreError>;
    /// Changes a flock's webhook settings (one statement). The flock becomes
    /// API-owned: the config file no longer overrides it at start.
    async fn set_flock_settings(&self, id: &str, settings: FlockSettings) -> Result<(), StoreError>;
    /// Renames a flock (one statement); it becomes API-owned.
    async fn rename_flock(&self, id: &str, name: &str) -> Result<(), StoreError>;
    /// Every destination; `enabled` is what applies: its settings' switch and
    /// its stored state ([`StateRecord::effective`]).
    async fn destinations(&self) -> Result<Vec<Destination>, StoreError>;
    /// Every destination's stored state, in name order.
    async fn destination_states(&self) -> Result<Vec<StateRecord>, StoreError>;
    /// Records a run-time verdict (410 Gone: `DisabledByChannel`; an operator:
    /// `DisabledByOperator` or `Enabled`), which the config file never undoes.
    async fn set_destination_state(
        &self,
        id: &str,
        state: DestinationState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces a destination (by id).
    async fn put_destination(&self, destination: &Destination, origin: Origin) -> Result<(), StoreError>;
    /// Deletes a destination and cancels its queued messages; returns how many.
    async fn delete_destination(&self, id: &str) -> Result<u64, StoreError>;
    /// Adds a destination to the flock its scope names, in one transaction: the
    /// flock must exist ([`StoreError::FlockNotFound`]); an existing destination
    /// with the same id is refused or replaced as `if_exists` says.
    async fn add_destination(
        &self,
        destination: &Destination,
        origin: Origin,
        if_exists: IfExists,
    ) -> Result<(), StoreError>;
    /// Deletes API-owned destinations and cancels their queued messages, all in
    /// one transaction; returns how many messages were cancelled. Nothing is
    /// deleted when any id is unknown ([`StoreError::DestinationNotFound`]) or
    /// declared in the config file ([`StoreError::DeclaredInConfig`]).
    async fn delete_api_destinations(&self, ids: &[String]) -> Result<u64, StoreError>;
    /// Applies the config file's flocks and destinations in one transaction:
    /// they are inserted or replaced (except flocks the API has taken over, which
    /// keep their stored name and settings), and config destinations no longer in
    /// the file are deleted (their queued messages cancelled). Stored states are
    /// kept, except a channel's verdict on a destination whose channel settings
    /// (URL, host, token …) the file changed: it was about the old endpoint.
    async fn apply_config(&self, flocks: &[FlockRecord], destinations: &[Destination]) -> Result<(), StoreError>;

    // ── inbound sources ────────────────────────────────────────────────────

    /// Every source, by id.
    async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError>;
    /// One source (read for every inbound request, so that a change made on
    /// any instance applies at once).
    async fn source(&self, id: &str) -> Result<Option<SourceRecord>, StoreError>;
    /// Inserts or replaces a source (by id).
    async fn put_source(&self, source: &Source, origin: Origin) -> Result<(), StoreError>;
    /// Deletes a source.
    async fn delete_source(&self, id: &str) -> Result<(), StoreError>;
    /// Applies the config file's sources in one transaction: they are inserted or
    /// replaced (an API source of the same id included), and config sources no
    /// longer in the file are deleted. API sources are kept.
    async fn apply_config_sources(&self, sources: &[Source]) -> Result<(), StoreError>;

    // ── outbox ─────────────────────────────────────────────────────────────

    /// Stores alerts and their messages in one transaction. An alert whose id or
    /// idempotency key is already stored is reported as a duplicate and adds nothing.
    async fn enqueue(&self, alerts: &[NewAlert]) -> Result<Vec<Enqueued>, StoreError>;
    /// Leases up to `limit` due messages of one destination to `owner`, oldest first.
    async fn claim(
        &self,
        destination_id: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError>;
    /// Records attempts and applies their outcomes, in one transaction.
    async fn finish(&self, results: &[Finished]) -> Result<(), StoreError>;
    /// Hands back the leases of `owner` (shutdown): its messages are due again now.
    async fn release(&self, owner: &str) -> Result<u64, StoreError>;
    /// Hands back the leases of these messages, still held by `owner`, without
    /// an attempt (claimed but never sent, the destination having paused): they
    /// are pending again and due at `due`. Returns how many.
    async fn hand_back(&self, owner: &str, ids: &[String], due: DateTime<Utc>) -> Result<u64, StoreError>;
    /// The earliest time a message of this destination is due, if any is queued.
    async fn next_due(&self, destination_id: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    // ── operator ───────────────────────────────────────────────────────────

    async fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError>;
    async fn message(&self, id: &str) -> Result<Option<(Message, Vec<Attempt>)>, StoreError>;
    /// Queues a delivered or failed message again, due now, with a fresh schedule.
    async fn replay(&self, id: &str, now: DateTime<Utc>) -> Result<Message, StoreError>;
    /// Queues again every failed message of a destination created in the window.
    async fn recover(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// How many failed messages of a destination were created in the window:
    /// what [`Store::recover`] would queue again now.
    async fn count_failed(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Deletes delivered messages, and those cancelled with their destination,
    /// finished before `before` (with their attempts). Failed messages stay, to
    /// be recovered.
    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Queue depth per destination that has anything queued.
    async fn queue_depths(&self) -> Result<Vec<QueueDepth>, StoreError>;
}

/// Opens the store a URL names (`sqlite://PATH`, `postgres://…`), creating and
/// migrating the schema as needed; `key` seals the secrets of destinations and
/// sources (a database holding secrets sealed with another key is refused).
pub async fn open(url: &str, key: &key::SecretKey) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::open(url, key.clone()).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::open(url, key.clone()).await?))
    } else {
        Err(StoreError::UnsupportedUrl { url: crate::secret::mask_url_text(url) })
    }
}
