//! From requests to per-message outcomes, for the worker: batches cut to the
//! channel's count and byte caps; a batch the channel finds too large (413)
//! split and its halves sent again, down to one payload, which then fails
//! alone; acceptances waited on until the channel acknowledges them (Splunk
//! HEC indexer acknowledgement, all ids of a round in one query per poll); and
//! the lease a round needs when it waits for acknowledgements.
//!
//! Owns no state: the worker claims, records and drives the breaker.

use std::iter::Peekable;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::delivery::Delivery;
use crate::destination::Destination;
use crate::metrics::Metrics;
use crate::notify::ack::{acknowledged, confirm};
use crate::notify::http::{self, deliver};
use crate::notify::{build_request, by_kind, AttemptContext, Notifier, Outcome, Payload};
use crate::store::Message;

/// One message after its attempt: the request's result as it applies to it.
#[derive(Debug)]
pub struct Attempted {
    pub message: Message,
    pub started_at: DateTime<Utc>,
    pub delivery: http::Delivery,
}

/// The next batch: up to `max_count` messages and, beyond the first, `max_bytes`
/// of bodies (one separator byte between two).
pub fn next_batch(
    claimed: &mut Peekable<impl Iterator<Item = Message>>,
    max_count: usize,
    max_bytes: Option<usize>,
) -> Vec<Message> {
    let mut batch: Vec<Message> = Vec::new();
    let mut bytes = 0usize;
    while batch.len() < max_count.max(1) {
        let Some(next) = claimed.peek() else { break };
        let size = next.body.len().saturating_add(usize::from(!batch.is_empty()));
        if !batch.is_empty() && max_bytes.is_some_and(|max| bytes.saturating_add(size) > max) {
            break;
        }
        bytes = bytes.saturating_add(size);
        batch.extend(claimed.next());
    }
    batch
}

/// Sends one batch (one request, or several when the channel finds it too
/// large) and gives each message its result. A 410 disables the destination.
pub async fn attempt_batch(service: &Delivery, destination: &Destination, batch: Vec<Message>) -> Vec<Attempted> {
    let mut attempted = Vec::with_capacity(batch.len());
    // Batches still to send, the last one first.
    let mut to_send = vec![batch];
    while let Some(batch) = to_send.pop() {
        let started_at = Utc::now();
        let delivery = send(service, destination, &batch, started_at).await;
        if let Outcome::TooLarge { reason } = &delivery.outcome {
            if batch.len() > 1 {
                tracing::info!(destination = %destination.name, events = batch.len(), %reason, "The channel found the batch too large; sending it in halves.");
                let mut first = batch;
                let second = first.split_off(first.len() / 2);
                to_send.push(second);
                to_send.push(first);
                continue;
            }
        }
        let mut delivery = delivery;
        delivery.outcome = match delivery.outcome {
            Outcome::TooLarge { reason } => Outcome::failed(format!(
                "the event alone is larger than the HEC accepts ({reason}); check the HEC's max_content_length or shorten the template"
            )),
            other => other,
        };
        if let Outcome::Failed { disable_destination: true, reason } = &delivery.outcome {
            disable(service, destination, reason).await;
        }
        attempted.extend(batch.into_iter().map(|message| Attempted {
            message,
            started_at,
            delivery: delivery.clone(),
        }));
    }
    attempted
}

/// One request for `batch`.
async fn send(
    service: &Delivery,
    destination: &Destination,
    batch: &[Message],
    started_at: DateTime<Utc>,
) -> http::Delivery {
    #[cfg(feature = "fault-injection")]
    crate::fault::before_send(&destination.id);
    let notifier = by_kind(destination.channel.kind());
    let payloads: Vec<Payload> = batch.iter().map(|message| Payload { body: message.body.clone() }).collect();
    let refs: Vec<&Payload> = payloads.iter().collect();
    let first_id = batch.first().map(|message| message.id.as_str()).unwrap_or_default();
    let attempt = AttemptContext { message_id: first_id, now: started_at };
    // `deliver` masks every secret of the destination in the reason (a pause's
    // reason is shown by the API and the metrics) and the excerpt.
    // One request carries the hop count of its furthest-travelled alert.
    let hops = batch.iter().map(|message| message.hops).max().unwrap_or(0);
    let delivery = match build_request(destination, &refs, &attempt) {
        Ok(mut request) => {
            request.set_hops(hops);
            deliver(&service.sender, &request, |answer| notifier.classify_for(destination, answer)).await
        }
        Err(error) => http::Delivery {
            outcome: Outcome::failed(error.to_string()),
            status: None,
            latency: Duration::ZERO,
            excerpt: error.to_string(),
        },
    };
    let kind = destination.channel.kind();
    service.metrics.attempt_duration.get_or_create(&Metrics::kind(kind)).observe(delivery.latency.as_secs_f64());
    delivery
}

/// Replaces every acceptance with its final outcome: delivered once
/// acknowledged, retried when not acknowledged in time, delivered at once when
/// the destination does not wait for acknowledgements.
pub async fn confirm_acks(service: &Delivery, destination: &Destination, attempted: &mut [Attempted]) {
    let notifier = by_kind(destination.channel.kind());
    let mut ids: Vec<u64> = attempted
        .iter()
        .filter_map(|attempt| match attempt.delivery.outcome {
            Outcome::Accepted { ack_id } => Some(ack_id),
            _ => None,
        })
        .collect();
    if ids.is_empty() {
        return;
    }
    ids.sort_unstable();
    ids.dedup();
    let Some(policy) = notifier.acknowledgement(destination) else {
        for attempt in attempted.iter_mut() {
            if let Outcome::Accepted { .. } = attempt.delivery.outcome {
                attempt.delivery.outcome = Outcome::Delivered;
            }
        }
        return;
    };
    let outcomes = confirm(&service.sender, notifier, destination, policy, &ids).await;
    for attempt in attempted.iter_mut() {
        if let Outcome::Accepted { ack_id } = attempt.delivery.outcome {
            let outcome = outcomes
                .get(&ack_id)
                .cloned()
                .unwrap_or_else(|| Outcome::retry(None, "accepted, but the acknowledgement was lost"));
            if outcome == Outcome::Delivered {
                attempt.delivery.excerpt = acknowledged(&attempt.delivery.excerpt, ack_id);
            }
            attempt.delivery.outcome = outcome;
        }
    }
}

/// How long one round of sends may take beyond its requests: the wait for
/// acknowledgements (nothing for destinations that do not wait).
pub fn ack_wait(service: &Delivery, destination: &Destination) -> Duration {
    let notifier: &dyn Notifier = by_kind(destination.channel.kind());
    notifier.acknowledgement(destination).map(|policy| policy.wait(service.settings.timeout)).unwrap_or_default()
}

/// The lease of a round's messages: `delivery.lease`, or longer for a
/// destination that waits for acknowledgements, so that a round with one wave
/// of requests and the whole acknowledgement wait still ends within half of it.
pub fn round_lease(service: &Delivery, destination: &Destination) -> Duration {
    let wait = ack_wait(service, destination);
    if wait.is_zero() {
        return service.settings.lease;
    }
    service.settings.lease.max(wait.saturating_add(service.settings.timeout).saturating_mul(2))
}

/// The channel said the endpoint is gone (410): stop sending to it, and keep
/// that verdict (the config file does not undo it) until an operator re-enables
/// the destination.
async fn disable(service: &Delivery, destination: &Destination, reason: &str) {
    tracing::warn!(destination = %destination.name, %reason, "The channel says the endpoint is gone; disabling the destination until an operator re-enables it.");
    let state = crate::store::DestinationState::DisabledByChannel;
    if let Err(error) = service.store.set_destination_state(&destination.id, state, Some(reason), Utc::now()).await {
        tracing::error!(destination = %destination.name, %error, "Cannot disable the destination.");
    } else if let Err(error) = service.reload().await {
        tracing::warn!(%error, "Cannot re-read the catalogue.");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::ChannelKind;
    use crate::store::MessageStatus;

    fn message(body: &str) -> Message {
        let now = Utc::now();
        Message {
            id: format!("msg_{body}"),
            alert_id: "a".into(),
            destination_id: "hec".into(),
            flock_id: "flock:default".into(),
            kind: ChannelKind::SplunkHec,
            status: MessageStatus::Delivering,
            body: body.into(),
            attempts: 0,
            tries: 0,
            created_at: now,
            next_attempt_at: now,
            last_error: None,
            finished_at: None,
            hops: 0,
        }
    }

    fn sizes(batches: &[Vec<Message>]) -> Vec<usize> {
        batches.iter().map(Vec::len).collect()
    }

    fn cut(bodies: &[&str], max_count: usize, max_bytes: Option<usize>) -> Vec<Vec<Message>> {
        let mut claimed = bodies.iter().map(|body| message(body)).collect::<Vec<_>>().into_iter().peekable();
        let mut batches = Vec::new();
        while claimed.peek().is_some() {
            batches.push(next_batch(&mut claimed, max_count, max_bytes));
        }
        batches
    }

    #[test]
    fn batches_respect_the_count_and_the_byte_cap_but_always_carry_one() {
        let bodies = ["aaaa", "bbbb", "cccc", "dddd", "eeee"];
        assert_eq!(sizes(&cut(&bodies, 100, None)), [5]);
        assert_eq!(sizes(&cut(&bodies, 2, None)), [2, 2, 1]);
        // 4 + 1 + 4 = 9 bytes fit in 9, a third does not.
        assert_eq!(sizes(&cut(&bodies, 100, Some(9))), [2, 2, 1]);
        assert_eq!(sizes(&cut(&bodies, 100, Some(8))), [1, 1, 1, 1, 1]);
        assert_eq!(sizes(&cut(&["a-body-over-the-cap", "b"], 100, Some(3))), [1, 1], "an oversized body goes alone");
    }
}
