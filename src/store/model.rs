//! What the store keeps and answers: catalogue records (flocks, sources,
//! destination states and who owns them), alerts and messages on their way in,
//! messages and attempts as operators see them, and the filters to list them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::storm;
use crate::destination::Destination;
use crate::flock::FlockSettings;
use crate::ingest::inbound::Source;
use crate::notify::ChannelKind;

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

/// What [`super::CatalogueStore::add_destination`] does when a destination with the same id exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfExists {
    /// Refuse with [`super::StoreError::DuplicateDestination`].
    Fail,
    /// Replace it; its queued messages go to the new settings.
    Replace,
}
