//! What delivery shows operators: each destination's state with why, its
//! queue, breaker and last hour ([`DestinationOverview`], the console's
//! overview), the queue figures of `/metrics`, and recent inbound refusals.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::breaker::{BreakerState, BreakerView};
use super::recent::Tally;
use super::Delivery;
use crate::destination::Destination;
use crate::store::{effective_state, DestinationState, StoreError};

/// A destination's state, as operators see it: the one the API shows
/// ([`crate::store::effective_state`]), with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownState {
    pub state: DestinationState,
    /// Why it is disabled, as the operator or the channel put it.
    pub reason: Option<String>,
}

impl ShownState {
    pub fn label(&self) -> &'static str {
        self.state.as_str()
    }
}

/// One destination's delivery figures and state.
#[derive(Debug, Clone)]
pub struct DestinationOverview {
    pub destination: Destination,
    pub state: ShownState,
    pub breaker: BreakerView,
    /// Messages pending or being delivered.
    pub queued: u64,
    /// Creation time of the oldest queued message.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// In the last hour, in this process.
    pub delivered: u64,
    pub failed: u64,
    pub retried: u64,
}

impl DestinationOverview {
    /// Why a person should look at this destination, if they should: paused
    /// by its channel (with the channel's answer), its breaker open, or
    /// disabled.
    pub fn attention(&self) -> Option<String> {
        if let Some(pause) = &self.breaker.pause {
            return Some(format!("paused: the channel refused it ({}): {}", pause.cause, pause.reason));
        }
        match self.breaker.state {
            BreakerState::Open { until } => {
                return Some(format!(
                    "circuit breaker open after repeated failures, until {}",
                    until.format("%Y-%m-%d %H:%M:%S UTC")
                ))
            }
            BreakerState::HalfOpen => return Some("circuit breaker trying one message".into()),
            BreakerState::Closed { .. } => {}
        }
        let why = self.state.reason.as_deref().map(|reason| format!(" ({reason})")).unwrap_or_default();
        match self.state.state {
            DestinationState::DisabledByChannel => Some(format!(
                "disabled by its channel{why}: receives nothing, queued messages wait until it is enabled again"
            )),
            DestinationState::DisabledByOperator => {
                Some(format!("disabled by an operator{why}: receives nothing, queued messages wait"))
            }
            DestinationState::Enabled => None,
        }
    }
}

impl DestinationOverview {
    /// How urgent [`DestinationOverview::attention`] is: refused by its
    /// channel first, then a tripped breaker, then switched off, then fine.
    pub fn urgency(&self) -> u8 {
        if self.breaker.pause.is_some() {
            return 0;
        }
        match (self.breaker.state, self.state.state) {
            (BreakerState::Open { .. } | BreakerState::HalfOpen, _) => 1,
            (_, DestinationState::DisabledByChannel) => 2,
            (_, DestinationState::DisabledByOperator) => 3,
            (_, DestinationState::Enabled) => 4,
        }
    }
}

impl Delivery {
    /// A destination's state as the API shows it, with why.
    pub fn destination_state(&self, destination: &Destination) -> ShownState {
        let catalogue = self.catalogue();
        let (state, reason, _) = effective_state(destination, catalogue.state(&destination.id));
        ShownState { state, reason: reason.map(str::to_owned) }
    }

    /// Every destination with its queue, last hour and state: those that need
    /// a person first (most urgent first), then by name.
    pub async fn overview(&self, now: DateTime<Utc>) -> Result<Vec<DestinationOverview>, StoreError> {
        let depths = self.store.queue_depths().await?;
        let settled = self.recent.settled.tallies(now);
        let catalogue = self.catalogue();
        let mut rows: Vec<DestinationOverview> = catalogue
            .destinations()
            .iter()
            .map(|destination| {
                let depth = depths.iter().find(|depth| depth.destination_id == destination.id);
                let [delivered, failed, retried] = self.recent.settled_of(&settled, &destination.id);
                DestinationOverview {
                    destination: destination.clone(),
                    state: self.destination_state(destination),
                    breaker: self.breaker(&destination.id).view(),
                    queued: depth.map_or(0, |depth| depth.queued),
                    oldest_queued_at: depth.and_then(|depth| depth.oldest_created_at),
                    delivered,
                    failed,
                    retried,
                }
            })
            .collect();
        rows.sort_by(|a, b| (a.urgency(), &a.destination.name).cmp(&(b.urgency(), &b.destination.name)));
        Ok(rows)
    }

    /// Refreshes the queue figures of the metrics from the store, for a
    /// `/metrics` scrape; a store that does not answer leaves them as they were.
    pub async fn refresh_queue_metrics(&self, now: DateTime<Utc>) {
        match self.store.queue_depths().await {
            Ok(depths) => {
                let catalogue = self.catalogue();
                let state_of =
                    |destination: &Destination| effective_state(destination, catalogue.state(&destination.id)).0;
                self.metrics.set_queue(catalogue.destinations(), state_of, &depths, now);
            }
            Err(error) => tracing::warn!(%error, "Cannot read queue depths for /metrics."),
        }
    }

    /// The inbound refusals of the last hour in this process, by source and reason.
    pub fn refusals(&self, now: DateTime<Utc>) -> HashMap<(String, &'static str), Tally> {
        self.recent.refusals.tallies(now)
    }
}
