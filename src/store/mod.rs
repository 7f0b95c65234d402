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

mod error;
pub mod key;
mod migrate;
mod model;
pub mod postgres;
mod sql;
pub mod sqlite;
pub mod storm;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::destination::Destination;
use crate::flock::FlockSettings;
use crate::ingest::inbound::Source;

pub use error::StoreError;
pub use model::*;
pub use sql::SqlStore;
pub use storm::StormStore;

/// The durable outbox and catalogue: every concern's trait, on one database.
/// Used as `Arc<dyn Store>`; callers import the concern traits they call
/// (`use crate::store::{QueueStore as _, …}`).
#[async_trait]
pub trait Store:
    CatalogueStore + SourceStore + QueueStore + OperatorStore + StormStore + Send + Sync + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// How many write transactions are worth running at once: 1 for a database
    /// with a single writer (SQLite), more where concurrent transactions
    /// overlap their round trips and log flushes (PostgreSQL).
    fn concurrent_writes(&self) -> usize;

    /// Whether the store itself commits concurrent enqueues of these alerts
    /// together (SQLite's writer thread, when no storm rule applies to
    /// them): the ingest's group committer then hands them straight over,
    /// saving two task hand-offs per request.
    fn groups_enqueues(&self, alerts: &[NewAlert]) -> bool {
        let _ = alerts;
        false
    }

    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Flocks, destinations and their states: what the registry writes and the
/// catalogue loads.
#[async_trait]
pub trait CatalogueStore: Send + Sync {
    async fn flocks(&self) -> Result<Vec<FlockRecord>, StoreError>;
    /// Inserts or replaces a flock.
    async fn put_flock(&self, flock: &FlockRecord) -> Result<(), StoreError>;
    /// Deletes an API-owned flock with its destinations, cancelling their
    /// queued messages. The origin is checked by the delete itself: a flock the
    /// config file owns is refused ([`StoreError::FlockDeclaredInConfig`]).
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
}

/// Inbound webhook sources.
#[async_trait]
pub trait SourceStore: Send + Sync {
    /// Every source, by id.
    async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError>;
    /// One source (read for every inbound request, so that a change made on
    /// any instance applies at once).
    async fn source(&self, id: &str) -> Result<Option<SourceRecord>, StoreError>;
    /// Inserts or replaces a source (by id).
    async fn put_source(&self, source: &Source, origin: Origin) -> Result<(), StoreError>;
    /// Inserts a new source; one with the same id is refused
    /// ([`StoreError::SourceExists`]) by the insert itself, so that two
    /// requests adding the same id cannot both succeed.
    async fn add_source(&self, source: &Source, origin: Origin) -> Result<(), StoreError>;
    /// Deletes an API-owned source; one the config file owns is refused
    /// ([`StoreError::SourceDeclaredInConfig`]) by the delete itself.
    async fn delete_source(&self, id: &str) -> Result<(), StoreError>;
    /// Applies the config file's sources in one transaction: they are inserted or
    /// replaced (an API source of the same id included), and config sources no
    /// longer in the file are deleted. API sources are kept.
    async fn apply_config_sources(&self, sources: &[Source]) -> Result<(), StoreError>;
}

/// The queue: what ingest stores and the workers claim, finish and hand back.
#[async_trait]
pub trait QueueStore: Send + Sync {
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
}

/// What operators read and do: list, show, replay, recover, prune, depths.
#[async_trait]
pub trait OperatorStore: Send + Sync {
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
    /// what [`OperatorStore::recover`] would queue again now.
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
