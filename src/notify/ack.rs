//! Delivery acknowledgement after acceptance: a channel that takes a request
//! and confirms later that it really delivered it (Splunk HEC indexer
//! acknowledgement) is asked, every poll interval and for all waiting ids in
//! one query, until each id is acknowledged or the timeout passes.
//!
//! Owns the waiting only; what a query looks like and what its answer means
//! belong to the channel ([`Notifier::ack_request`], [`Notifier::classify_ack`]).

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::http::{Delivery, HttpSender};
use super::{with_secrets, Notifier, Outcome};
use crate::destination::Destination;

/// How long to wait for acknowledgements and how often to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckPolicy {
    /// An id not acknowledged this long after the request was accepted is a
    /// failed attempt (retried by the retry schedule).
    pub timeout: Duration,
    /// Time between two queries.
    pub poll_interval: Duration,
}

impl AckPolicy {
    /// The longest a round of sends may take with this policy on top of its
    /// requests: the timeout plus one last query.
    pub fn wait(&self, request_timeout: Duration) -> Duration {
        self.timeout.saturating_add(request_timeout)
    }
}

/// What an acknowledgement query was answered.
#[derive(Debug, Clone, PartialEq)]
pub enum AckAnswer {
    /// Each asked id with whether it is acknowledged; an id the answer leaves
    /// out is not acknowledged yet.
    Statuses(HashMap<u64, bool>),
    /// The query failed in a way that may pass (server busy, no answer): ask
    /// again until the timeout.
    Unavailable(String),
    /// The channel refused the query for good: stop asking. A pause stays a
    /// pause; anything else means the acceptance cannot be confirmed and the
    /// message is retried.
    Refused(Outcome),
}

/// Waits for the acknowledgement of `ids` and returns the outcome of each:
/// delivered when acknowledged, retried when not acknowledged within the
/// policy's timeout or when the channel refuses to say, paused when the channel
/// refuses the destination as a whole.
pub async fn confirm(
    sender: &HttpSender,
    notifier: &dyn Notifier,
    destination: &Destination,
    policy: AckPolicy,
    ids: &[u64],
) -> HashMap<u64, Outcome> {
    let mut outcomes = HashMap::new();
    let mut waiting: BTreeSet<u64> = ids.iter().copied().collect();
    let deadline = tokio::time::Instant::now() + policy.timeout;
    let mut problem: Option<String> = None;
    while !waiting.is_empty() {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(policy.poll_interval.min(left)).await;
        let asked: Vec<u64> = waiting.iter().copied().collect();
        let answer = match notifier.ack_request(destination, &asked).map(|request| with_secrets(destination, request)) {
            Ok(request) => match sender.send(&request).await {
                Ok(answer) => notifier.classify_ack(&answer),
                Err(error) => AckAnswer::Unavailable(request.mask(&error.to_string())),
            },
            Err(error) => AckAnswer::Refused(Outcome::retry(None, error.to_string())),
        };
        match answer {
            AckAnswer::Statuses(statuses) => {
                for (id, acknowledged) in statuses {
                    if acknowledged && waiting.remove(&id) {
                        outcomes.insert(id, Outcome::Delivered);
                    }
                }
            }
            AckAnswer::Unavailable(reason) => problem = Some(reason),
            AckAnswer::Refused(outcome) => {
                let outcome = match outcome {
                    Outcome::Paused { .. } | Outcome::Delivered => outcome,
                    other => Outcome::retry(
                        None,
                        format!(
                            "accepted, but the acknowledgement query was refused: {}",
                            other.reason().unwrap_or("no reason given")
                        ),
                    ),
                };
                for id in std::mem::take(&mut waiting) {
                    outcomes.insert(id, outcome.clone());
                }
            }
        }
        if !waiting.is_empty() && tokio::time::Instant::now() >= deadline {
            let last = problem.as_deref().map(|problem| format!(" (last query: {problem})")).unwrap_or_default();
            let reason = format!("accepted, but not acknowledged within {:?}{last}", policy.timeout);
            for id in std::mem::take(&mut waiting) {
                outcomes.insert(id, Outcome::retry(None, reason.clone()));
            }
        }
    }
    outcomes
}

/// Settles the delivery of one request sent on its own (`flockrelay test` and
/// `send`, the management API's tests): an accepted request is delivered once
/// acknowledged when the destination waits for acknowledgements, at once when
/// it does not; a payload too large alone fails.
pub async fn settle(
    sender: &HttpSender,
    notifier: &dyn Notifier,
    destination: &Destination,
    mut delivery: Delivery,
) -> Delivery {
    delivery.outcome = match delivery.outcome {
        Outcome::Accepted { ack_id } => match notifier.acknowledgement(destination) {
            Some(policy) => {
                let started = std::time::Instant::now();
                let outcome = confirm(sender, notifier, destination, policy, &[ack_id])
                    .await
                    .remove(&ack_id)
                    .unwrap_or_else(|| Outcome::retry(None, "accepted, but the acknowledgement was lost"));
                delivery.latency += started.elapsed();
                if outcome == Outcome::Delivered {
                    delivery.excerpt = acknowledged(&delivery.excerpt, ack_id);
                }
                outcome
            }
            None => Outcome::Delivered,
        },
        other => other.alone(),
    };
    delivery
}

/// The attempt log's detail of an acknowledged delivery.
pub fn acknowledged(answer: &str, ack_id: u64) -> String {
    format!("{} (acknowledged: ack id {ack_id} indexed)", answer.trim())
}
