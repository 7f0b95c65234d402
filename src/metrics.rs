//! Prometheus metrics (`/metrics`, text format). Counters are kept in process;
//! queue figures are read from the store when scraped, so every instance sharing
//! a PostgreSQL database reports the same queue. Every per-destination gauge has
//! a series for every destination of the catalogue (0 when there is nothing to
//! report), so graphs and alerting rules never lose a destination whose queue
//! drained. The dashboard and alerting rules in `packaging/` query these names.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::destination::Destination;
use crate::notify::ChannelKind;
use crate::store::{DestinationState, QueueDepth};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DestinationLabels {
    pub destination: String,
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub destination: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PauseLabels {
    pub destination: String,
    pub cause: String,
}

/// One series per destination and state; the current state's reads 1.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub destination: String,
    pub state: String,
}

/// Every value of `flockrelay_destination_state`'s `state` label.
pub const DESTINATION_STATES: [DestinationState; 3] = DestinationState::ALL;

type Seconds = Family<KindLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … ~65 s
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// Every metric the relay exports.
pub struct Metrics {
    registry: Registry,
    pub received: Family<SourceLabels, Counter>,
    pub rejected: Family<ReasonLabels, Counter>,
    pub enqueued: Family<DestinationLabels, Counter>,
    pub delivered: Family<DestinationLabels, Counter>,
    pub retried: Family<DestinationLabels, Counter>,
    pub failed: Family<DestinationLabels, Counter>,
    /// From acceptance at ingest to the channel's 2xx.
    pub delivery_latency: Seconds,
    /// One HTTP attempt.
    pub attempt_duration: Seconds,
    pub breaker_open: Family<QueueLabels, Gauge>,
    /// Alerts collected into a group's digest instead of sent alone.
    pub grouped: Family<DestinationLabels, Counter>,
    /// Alerts counted, not sent: repeats of an alert (same fingerprint within
    /// the dedupe window; `destination`) or of an incident id (`kind="incident"`).
    pub suppressed: Family<DestinationLabels, Counter>,
    /// Alerts a silence kept from a destination (stored, not sent).
    pub silenced: Family<DestinationLabels, Counter>,
    /// Digest messages created.
    pub digests: Family<DestinationLabels, Counter>,
    /// 1 while a destination is paused because it refused as a whole, labelled
    /// with the cause (`hec_code_4`, `http_401`, `slack_no_service`).
    pub destination_paused: Family<PauseLabels, Gauge>,
    queue_depth: Family<QueueLabels, Gauge>,
    oldest_pending: Family<QueueLabels, Gauge<f64, AtomicU64>>,
    destination_state: Family<StateLabels, Gauge>,
    /// The destinations the last reading reported, so that the breaker series
    /// of a deleted destination goes away with it.
    reported: Mutex<BTreeSet<String>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("flockrelay");
        let metrics = Self {
            received: Family::default(),
            rejected: Family::default(),
            enqueued: Family::default(),
            delivered: Family::default(),
            retried: Family::default(),
            failed: Family::default(),
            delivery_latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            attempt_duration: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            breaker_open: Family::default(),
            grouped: Family::default(),
            suppressed: Family::default(),
            silenced: Family::default(),
            digests: Family::default(),
            destination_paused: Family::default(),
            queue_depth: Family::default(),
            oldest_pending: Family::default(),
            destination_state: Family::default(),
            reported: Mutex::default(),
            registry: Registry::default(),
        };
        metrics.register(&mut registry);
        Self { registry, ..metrics }
    }

    /// Registers every metric with its exposed name and help text (the table
    /// of what `/metrics` shows).
    fn register(&self, registry: &mut Registry) {
        registry.register("alerts_received", "Alerts accepted at ingest, by source", self.received.clone());
        registry.register("requests_rejected", "Requests refused at ingest, by reason", self.rejected.clone());
        registry.register("messages_enqueued", "Messages stored for delivery", self.enqueued.clone());
        registry.register("messages_delivered", "Messages the channel accepted", self.delivered.clone());
        registry.register("messages_retried", "Attempts that will be retried", self.retried.clone());
        registry.register("messages_failed", "Messages that failed for good", self.failed.clone());
        registry.register(
            "delivery_latency_seconds",
            "From acceptance at ingest to delivery",
            self.delivery_latency.clone(),
        );
        registry.register("alerts_grouped", "Alerts collected into a digest", self.grouped.clone());
        registry.register("alerts_suppressed", "Repeated alerts counted, not sent", self.suppressed.clone());
        registry.register("alerts_silenced", "Alerts a silence kept from a destination", self.silenced.clone());
        registry.register("digests_created", "Digest messages created", self.digests.clone());
        registry.register("attempt_duration_seconds", "One HTTP attempt", self.attempt_duration.clone());
        registry.register(
            "breaker_open",
            "1 while a destination is paused by its circuit breaker",
            self.breaker_open.clone(),
        );
        registry.register(
            "destination_paused",
            "1 while a destination is paused because its channel refused it as a whole (revoked token, removed webhook)",
            self.destination_paused.clone(),
        );
        registry.register("queue_depth", "Messages pending or being delivered", self.queue_depth.clone());
        registry.register(
            "oldest_pending_age_seconds",
            "Age of the oldest queued message",
            self.oldest_pending.clone(),
        );
        registry.register(
            "destination_state",
            "1 for the state each destination is in (enabled, disabled), 0 for the others",
            self.destination_state.clone(),
        );
    }

    pub fn destination(destination: &str, kind: ChannelKind) -> DestinationLabels {
        DestinationLabels { destination: destination.to_owned(), kind: kind.as_str().to_owned() }
    }

    pub fn kind(kind: ChannelKind) -> KindLabels {
        KindLabels { kind: kind.as_str().to_owned() }
    }

    pub fn reject(&self, reason: &str) {
        self.rejected.get_or_create(&ReasonLabels { reason: reason.to_owned() }).inc();
    }

    /// Replaces the queue figures and destination states with a fresh reading.
    /// Every destination gets a series: queue depth and oldest age 0 when its
    /// queue is empty, breaker 0 until its worker opens the breaker.
    pub fn set_queue(
        &self,
        destinations: &[Destination],
        state_of: impl Fn(&Destination) -> DestinationState,
        depths: &[QueueDepth],
        now: DateTime<Utc>,
    ) {
        self.queue_depth.clear();
        self.oldest_pending.clear();
        self.destination_state.clear();
        let mut known = BTreeSet::new();
        for destination in destinations {
            let labels = QueueLabels { destination: destination.id.clone() };
            self.queue_depth.get_or_create(&labels).set(0);
            self.oldest_pending.get_or_create(&labels).set(0.0);
            // Created at 0 when missing; the worker's reading is kept.
            drop(self.breaker_open.get_or_create(&labels));
            let current = state_of(destination);
            for state in DESTINATION_STATES {
                let labels = StateLabels { destination: destination.id.clone(), state: state.as_str().to_owned() };
                self.destination_state.get_or_create(&labels).set(i64::from(state == current));
            }
            known.insert(destination.id.clone());
        }
        let mut reported = self.reported.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for gone in reported.difference(&known) {
            self.breaker_open.remove(&QueueLabels { destination: gone.clone() });
        }
        *reported = known;
        drop(reported);
        for depth in depths {
            let labels = QueueLabels { destination: depth.destination_id.clone() };
            self.queue_depth.get_or_create(&labels).set(i64::try_from(depth.queued).unwrap_or(i64::MAX));
            if let Some(oldest) = depth.oldest_created_at {
                let age = (now - oldest).num_milliseconds().max(0) as f64 / 1000.0;
                self.oldest_pending.get_or_create(&labels).set(age);
            }
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}
