//! One destination's delivery worker: claim due messages with a lease, send them
//! (rate-limited, at most `concurrency` in flight, HEC events batched), classify
//! each answer with the channel's rules, and record every attempt with its
//! outcome in one transaction per round. A round's record is written while the
//! next round is claimed and sent (one record at a time, awaited before the
//! next starts and before the worker stops), so the store's round trips do not
//! hold up sending.
//!
//! Each destination has its own worker, so a slow or dead destination only ever
//! holds its own messages.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::breaker::Permit;
use super::Outbox;
use crate::destination::Destination;
use crate::metrics::Metrics;
use crate::notify::http::{deliver, Delivery};
use crate::notify::{by_kind, AttemptContext, Outcome, Payload};
use crate::store::{Attempt, Finished, Message, Next};

/// How long to wait after the store failed before trying again.
const STORE_BACKOFF: Duration = Duration::from_secs(1);

/// Messages claimed per round: enough to keep `concurrency` requests busy, few
/// enough that even if every request ran into the timeout the round would end
/// well within the lease.
fn claim_limit(outbox: &Outbox, destination: &Destination, max_batch: usize) -> u32 {
    let settings = &outbox.settings;
    let rounds_per_lease = (settings.lease.as_secs_f64() / (2.0 * settings.timeout.as_secs_f64().max(0.001))).floor();
    let mut limit = f64::from(settings.concurrency) * rounds_per_lease.max(1.0) * max_batch as f64;
    if let Some(rate) = destination.rate_limit.filter(|rate| *rate > 0.0) {
        limit = limit.min((rate * settings.lease.as_secs_f64() / 2.0).max(1.0));
    }
    limit.clamp(1.0, 1_000.0) as u32
}

/// Waits until `until`, a wake-up, or shutdown (whichever comes first).
async fn pause(until: Duration, waker: &tokio::sync::Notify, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        () = tokio::time::sleep(until) => {}
        () = waker.notified() => {}
        _ = shutdown.changed() => {}
    }
}

/// Records a round's attempts; false when the store refused (the leases then
/// run out and the messages are tried again: at least once).
async fn record(outbox: Arc<Outbox>, destination: String, results: Vec<Finished>) -> bool {
    match outbox.store.finish(&results).await {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%destination, %error, "Cannot record attempts; the messages will be retried when their lease ends.");
            false
        }
    }
}

/// Waits for the record in progress, if any; false when it failed.
async fn recorded(recording: &mut Option<JoinHandle<bool>>) -> bool {
    match recording.take() {
        Some(recording) => recording.await.unwrap_or(false),
        None => true,
    }
}

/// Runs until the destination is disabled or deleted, or shutdown.
pub async fn run(outbox: Arc<Outbox>, destination_id: String, mut shutdown: watch::Receiver<bool>) {
    let waker = outbox.waker(&destination_id);
    let breaker = outbox.breaker(&destination_id);
    let mut recording = None;
    tracing::debug!(destination = %destination_id, "Delivery worker started.");
    while !*shutdown.borrow() {
        let catalogue = outbox.catalogue();
        let Some(destination) = catalogue.destination(&destination_id).filter(|destination| destination.enabled) else {
            break;
        };
        let notifier = by_kind(destination.channel.kind());
        let now = Utc::now();
        let limit = match breaker.permit(now) {
            Permit::Send => claim_limit(&outbox, destination, notifier.max_batch()),
            Permit::Trial => 1,
            Permit::WaitUntil(until) => {
                outbox.metrics.breaker_open.get_or_create(&queue_labels(&destination_id)).set(1);
                let wait = (until - now).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        outbox.metrics.breaker_open.get_or_create(&queue_labels(&destination_id)).set(0);
        let claimed = match outbox.store.claim(&destination_id, &outbox.owner, limit, outbox.settings.lease, now).await
        {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(destination = %destination_id, %error, "Cannot claim messages; retrying shortly.");
                breaker.abandon_trial(now);
                pause(STORE_BACKOFF, &waker, &mut shutdown).await;
                continue;
            }
        };
        if claimed.is_empty() {
            breaker.abandon_trial(now);
            pause(outbox.settings.poll_interval, &waker, &mut shutdown).await;
            continue;
        }
        let destination = destination.clone();
        let results = send_round(&outbox, &destination, claimed).await;
        let opened = breaker.record(results.iter().map(|result| result.next == Next::Delivered), Utc::now());
        if opened {
            tracing::warn!(destination = %destination.name, cooldown = ?outbox.settings.breaker_cooldown, "Destination keeps failing; pausing it (circuit breaker open).");
        }
        if !recorded(&mut recording).await {
            pause(STORE_BACKOFF, &waker, &mut shutdown).await;
        }
        recording = Some(tokio::spawn(record(Arc::clone(&outbox), destination.name, results)));
    }
    // Before the supervisor hands back this instance's leases.
    recorded(&mut recording).await;
    tracing::debug!(destination = %destination_id, "Delivery worker stopped.");
}

fn queue_labels(destination_id: &str) -> crate::metrics::QueueLabels {
    crate::metrics::QueueLabels { destination: destination_id.to_owned() }
}

/// Sends one round of claimed messages and returns what to record: one
/// attempt per message, also for a send that panicked (the net below every
/// send: a panic must never leave a message `delivering` and unrecorded).
async fn send_round(outbox: &Arc<Outbox>, destination: &Destination, claimed: Vec<Message>) -> Vec<Finished> {
    let notifier = by_kind(destination.channel.kind());
    let limiter = outbox.limiter(&destination.id, destination.rate_limit);
    let permits = Arc::new(Semaphore::new(outbox.settings.concurrency as usize));
    let destination = Arc::new(destination.clone());
    let mut sends = JoinSet::new();
    // What each send carries, to record its attempts should it panic.
    let mut in_flight: HashMap<tokio::task::Id, (DateTime<Utc>, Vec<Message>)> = HashMap::new();
    let mut claimed = claimed.into_iter().peekable();
    while claimed.peek().is_some() {
        let batch: Vec<Message> = claimed.by_ref().take(notifier.max_batch().max(1)).collect();
        if let Some(limiter) = &limiter {
            let cells = NonZeroU32::new(u32::try_from(batch.len()).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
            // A batch larger than the burst can never pass; one cell then stands for it.
            if limiter.until_n_ready(cells).await.is_err() {
                limiter.until_ready().await;
            }
        }
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let outbox = Arc::clone(outbox);
        let destination = Arc::clone(&destination);
        let carried = batch.iter().map(without_body).collect();
        let task = sends.spawn(async move {
            let results = send_batch(&outbox, &destination, batch).await;
            drop(permit);
            results
        });
        in_flight.insert(task.id(), (Utc::now(), carried));
    }
    let mut results = Vec::new();
    while let Some(joined) = sends.join_next_with_id().await {
        match joined {
            Ok((_, batch)) => results.extend(batch),
            Err(error) => {
                let (started_at, batch) = in_flight.remove(&error.id()).unwrap_or_default();
                let reason = abnormal_end(error);
                tracing::error!(destination = %destination.name, messages = batch.len(), %reason, "A send ended abnormally; recording it as a failed attempt.");
                let delivery = Delivery {
                    outcome: Outcome::retry(None, reason.clone()),
                    status: None,
                    latency: (Utc::now() - started_at).to_std().unwrap_or_default(),
                    excerpt: reason,
                };
                let finished_at = Utc::now();
                results.extend(
                    batch
                        .iter()
                        .map(|message| finished(outbox, &destination, message, &delivery, started_at, finished_at)),
                );
            }
        }
    }
    results
}

/// Why a send task ended without a result: its panic message, as the
/// attempt's detail (at most 1,024 characters).
fn abnormal_end(error: tokio::task::JoinError) -> String {
    let reason = if error.is_panic() {
        let payload = error.into_panic();
        let message = payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".to_owned());
        format!("the send panicked: {message}")
    } else {
        "the send was cancelled".to_owned()
    };
    reason.chars().take(1024).collect()
}

/// A message without its body: what the panic net keeps of a message in flight.
fn without_body(message: &Message) -> Message {
    Message {
        id: message.id.clone(),
        alert_id: message.alert_id.clone(),
        destination_id: message.destination_id.clone(),
        flock_id: message.flock_id.clone(),
        kind: message.kind,
        status: message.status,
        body: String::new(),
        attempts: message.attempts,
        tries: message.tries,
        created_at: message.created_at,
        next_attempt_at: message.next_attempt_at,
        last_error: None,
        finished_at: message.finished_at,
    }
}

/// Sends one request (one message, or several HEC events) and decides what
/// happens to each message in it.
async fn send_batch(outbox: &Outbox, destination: &Destination, batch: Vec<Message>) -> Vec<Finished> {
    #[cfg(feature = "fault-injection")]
    crate::fault::before_send(&destination.id);
    let notifier = by_kind(destination.channel.kind());
    let started_at = Utc::now();
    let payloads: Vec<Payload> = batch.iter().map(|message| Payload { body: message.body.clone() }).collect();
    let refs: Vec<&Payload> = payloads.iter().collect();
    let first_id = batch.first().map(|message| message.id.as_str()).unwrap_or_default();
    let attempt = AttemptContext { message_id: first_id, now: started_at };
    let delivery = match notifier.request(destination, &refs, &attempt) {
        Ok(request) => deliver(&outbox.sender, &request, |answer| notifier.classify(answer)).await,
        Err(error) => Delivery {
            outcome: Outcome::failed(error.to_string()),
            status: None,
            latency: Duration::ZERO,
            excerpt: error.to_string(),
        },
    };
    let finished_at = Utc::now();
    let kind = destination.channel.kind();
    outbox.metrics.attempt_duration.get_or_create(&Metrics::kind(kind)).observe(delivery.latency.as_secs_f64());
    if let Outcome::Failed { disable_destination: true, reason } = &delivery.outcome {
        disable(outbox, destination, reason).await;
    }
    batch.iter().map(|message| finished(outbox, destination, message, &delivery, started_at, finished_at)).collect()
}

/// What to record for one message of an attempt, counted in the metrics.
fn finished(
    outbox: &Outbox,
    destination: &Destination,
    message: &Message,
    delivery: &Delivery,
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
) -> Finished {
    let kind = destination.channel.kind();
    let labels = Metrics::destination(&destination.id, kind);
    let next = next_step(outbox, message, &delivery.outcome, finished_at);
    match &next {
        Next::Delivered => {
            outbox.metrics.delivered.get_or_create(&labels).inc();
            let latency = (finished_at - message.created_at).num_microseconds().unwrap_or(i64::MAX);
            outbox.metrics.delivery_latency.get_or_create(&Metrics::kind(kind)).observe(latency as f64 / 1e6);
        }
        Next::RetryAt(_) => {
            outbox.metrics.retried.get_or_create(&labels).inc();
        }
        Next::Failed => {
            outbox.metrics.failed.get_or_create(&labels).inc();
        }
    }
    let detail = match &delivery.outcome {
        Outcome::Delivered => delivery.excerpt.clone(),
        other => other.reason().unwrap_or(&delivery.excerpt).to_owned(),
    };
    tracing::debug!(message = %message.id, alert = %message.alert_id, destination = %destination.name, outcome = delivery.outcome.label(), status = ?delivery.status, "Attempt made.");
    Finished {
        message_id: message.id.clone(),
        owner: outbox.owner.clone(),
        attempt: Attempt {
            number: message.attempts.saturating_add(1),
            started_at,
            duration_ms: u64::try_from(delivery.latency.as_millis()).unwrap_or(u64::MAX),
            http_status: delivery.status,
            outcome: delivery.outcome.label().to_owned(),
            detail,
        },
        next,
    }
}

/// Delivered, retried at the next scheduled time, or failed for good.
fn next_step(outbox: &Outbox, message: &Message, outcome: &Outcome, now: DateTime<Utc>) -> Next {
    match outcome {
        Outcome::Delivered => Next::Delivered,
        Outcome::Retry { after, .. } => {
            match outbox.settings.retry.next_attempt(
                message.tries.saturating_add(1),
                *after,
                now,
                rand::random::<f64>(),
            ) {
                Some(at) => Next::RetryAt(at),
                None => {
                    tracing::warn!(message = %message.id, alert = %message.alert_id, attempts = message.attempts.saturating_add(1), "Retry schedule spent; the message failed.");
                    Next::Failed
                }
            }
        }
        Outcome::Failed { .. } => Next::Failed,
    }
}

/// The channel said the endpoint is gone (410): stop sending to it, and keep
/// that verdict (the config file does not undo it) until an operator re-enables
/// the destination.
async fn disable(outbox: &Outbox, destination: &Destination, reason: &str) {
    tracing::warn!(destination = %destination.name, %reason, "The channel says the endpoint is gone; disabling the destination until an operator re-enables it.");
    let state = crate::store::DestinationState::DisabledByChannel;
    if let Err(error) = outbox.store.set_destination_state(&destination.id, state, Some(reason), Utc::now()).await {
        tracing::error!(destination = %destination.name, %error, "Cannot disable the destination.");
    } else if let Err(error) = outbox.reload().await {
        tracing::warn!(%error, "Cannot re-read the catalogue.");
    }
}
