//! One destination's delivery worker: claim due messages with a lease, send them
//! (at the destination's pace — `pacing` — HEC events batched), classify
//! each answer with the channel's rules, and record every attempt with its
//! outcome in one transaction per round. A round's record is written while the
//! next round is claimed and sent (one record at a time, awaited before the
//! next starts and before the worker stops), so the store's round trips do not
//! hold up sending.
//!
//! An answer refusing the destination as a whole (a revoked token, a removed
//! webhook) ends the round: the breaker pauses the destination with the
//! channel's reason, the attempted messages stay queued without the attempt
//! counting against their schedule, and the ones not yet sent are handed back
//! unattempted.
//!
//! Each destination has its own worker, so a slow or dead destination only ever
//! holds its own messages.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::breaker::{Breaker, Pause, Permit};
use super::pacing;
use super::settle::{ack_wait, attempt_batch, confirm_acks, next_batch, round_lease, Attempted};
use crate::delivery::recent::Settled;
use crate::delivery::Delivery;
use crate::destination::Destination;
use crate::metrics::{Metrics, PauseLabels};
use crate::notify::http;
use crate::notify::{by_kind, Outcome};
use crate::store::{Attempt, Finished, Message, Next};

/// How long to wait after the store failed before trying again.
const STORE_BACKOFF: Duration = Duration::from_secs(1);

/// Messages claimed per round: enough to keep `concurrency` requests busy, few
/// enough that even if every request ran into the timeout (and every
/// acknowledgement took its whole wait) the round would end well within the
/// lease.
fn claim_limit(service: &Delivery, destination: &Destination, max_batch: usize) -> u32 {
    let settings = &service.settings;
    let pace = pacing::effective(destination, settings.concurrency);
    let lease = round_lease(service, destination).as_secs_f64();
    let budget = (lease / 2.0 - ack_wait(service, destination).as_secs_f64()).max(0.0);
    let rounds_per_lease = (budget / settings.timeout.as_secs_f64().max(0.001)).floor();
    let mut limit = f64::from(pace.concurrency) * rounds_per_lease.max(1.0) * max_batch as f64;
    if let Some(rate) = pace.rate {
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
async fn record(service: Arc<Delivery>, destination: String, results: Vec<Finished>) -> bool {
    match service.store.finish(&results).await {
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
pub async fn run(service: Arc<Delivery>, destination_id: String, mut shutdown: watch::Receiver<bool>) {
    let waker = service.waker(&destination_id);
    let breaker = service.breaker(&destination_id);
    let mut recording = None;
    tracing::debug!(destination = %destination_id, "Delivery worker started.");
    while !*shutdown.borrow() {
        let catalogue = service.catalogue();
        let Some(destination) = catalogue.destination(&destination_id).filter(|destination| destination.enabled) else {
            break;
        };
        let notifier = by_kind(destination.channel.kind());
        let now = Utc::now();
        let limit = match breaker.permit(now) {
            Permit::Send => claim_limit(&service, destination, notifier.max_batch()),
            Permit::Trial => 1,
            Permit::WaitUntil(until) => {
                service.metrics.breaker_open.get_or_create(&queue_labels(&destination_id)).set(1);
                let wait = (until - now).to_std().unwrap_or_default();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
        };
        service.metrics.breaker_open.get_or_create(&queue_labels(&destination_id)).set(0);
        let lease = round_lease(&service, destination);
        let claimed = match service.store.claim(&destination_id, &service.owner, limit, lease, now).await {
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
            pause(service.settings.poll_interval, &waker, &mut shutdown).await;
            continue;
        }
        let destination = destination.clone();
        let round = send_round(&service, &destination, claimed).await;
        update_breaker(&service, &breaker, &destination, &round);
        if !recorded(&mut recording).await {
            pause(STORE_BACKOFF, &waker, &mut shutdown).await;
        }
        recording = Some(tokio::spawn(record_round(Arc::clone(&service), destination.name, round)));
    }
    // Before the supervisor hands back this instance's leases.
    recorded(&mut recording).await;
    tracing::debug!(destination = %destination_id, "Delivery worker stopped.");
}

fn queue_labels(destination_id: &str) -> crate::metrics::QueueLabels {
    crate::metrics::QueueLabels { destination: destination_id.to_owned() }
}

/// What one round of sends came to.
struct Round {
    /// The attempts to record.
    finished: Vec<Finished>,
    /// Messages claimed but not sent: the destination paused first.
    unsent: Vec<String>,
    /// The destination refused as a whole.
    pause: Option<Pause>,
    /// When paused and unsent messages are due again.
    resume_at: DateTime<Utc>,
}

/// Sends one round of claimed messages and returns what to record: one
/// attempt per message sent, also for a send that panicked (the net below every
/// send: a panic must never leave a message `delivering` and unrecorded). An
/// answer refusing the destination as a whole stops sending the rest.
async fn send_round(service: &Arc<Delivery>, destination: &Destination, claimed: Vec<Message>) -> Round {
    let notifier = by_kind(destination.channel.kind());
    let pace = service.pace(destination);
    let limiter = service.limiter(&destination.id, pace.rate);
    let permits = Arc::new(Semaphore::new(usize::try_from(pace.concurrency).unwrap_or(1)));
    let max_bytes = notifier.max_batch_bytes(destination);
    let destination = Arc::new(destination.clone());
    let refused = Arc::new(AtomicBool::new(false));
    let mut sends = JoinSet::new();
    let mut unsent = Vec::new();
    // What each send carries, to record its attempts should it panic.
    let mut in_flight: HashMap<tokio::task::Id, (DateTime<Utc>, Vec<Message>)> = HashMap::new();
    let mut claimed = claimed.into_iter().peekable();
    while claimed.peek().is_some() {
        let batch = next_batch(&mut claimed, notifier.max_batch(), max_bytes);
        if refused.load(Ordering::SeqCst) {
            unsent.extend(batch.into_iter().chain(claimed.by_ref()).map(|message| message.id));
            break;
        }
        if let Some(limiter) = &limiter {
            wait_for_pace(limiter, batch.len()).await;
        }
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        if refused.load(Ordering::SeqCst) {
            unsent.extend(batch.into_iter().chain(claimed.by_ref()).map(|message| message.id));
            break;
        }
        let service = Arc::clone(service);
        let destination = Arc::clone(&destination);
        let refused = Arc::clone(&refused);
        let carried = batch.iter().map(without_body).collect();
        let task = sends.spawn(async move {
            let attempted = attempt_batch(&service, &destination, batch).await;
            if attempted.iter().any(|attempt| matches!(attempt.delivery.outcome, Outcome::Paused { .. })) {
                refused.store(true, Ordering::SeqCst);
            }
            drop(permit);
            attempted
        });
        in_flight.insert(task.id(), (Utc::now(), carried));
    }
    let mut attempted = settle_sends(sends, in_flight, &destination).await;
    confirm_acks(service, &destination, &mut attempted).await;
    let pause = attempted.iter().find_map(|attempt| match &attempt.delivery.outcome {
        Outcome::Paused { cause, reason } => Some(Pause { cause: cause.clone(), reason: reason.clone() }),
        _ => None,
    });
    let cooldown = chrono::Duration::from_std(service.settings.breaker_cooldown).unwrap_or_default();
    let resume_at = Utc::now().checked_add_signed(cooldown).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let finished = attempted.into_iter().map(|attempt| conclude(service, &destination, attempt, resume_at)).collect();
    Round { finished, unsent, pause, resume_at }
}

/// Waits until the rate limit lets a batch of `messages` go.
async fn wait_for_pace(limiter: &governor::DefaultDirectRateLimiter, messages: usize) {
    let cells = NonZeroU32::new(u32::try_from(messages).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
    // A batch larger than the burst can never pass; one cell then stands for it.
    if limiter.until_n_ready(cells).await.is_err() {
        limiter.until_ready().await;
    }
}

/// Waits for every send of a round; a send that panicked or was cancelled
/// becomes one failed (retried) attempt per message it carried.
async fn settle_sends(
    mut sends: JoinSet<Vec<Attempted>>,
    mut in_flight: HashMap<tokio::task::Id, (DateTime<Utc>, Vec<Message>)>,
    destination: &Destination,
) -> Vec<Attempted> {
    let mut attempted = Vec::new();
    while let Some(joined) = sends.join_next_with_id().await {
        match joined {
            Ok((_, batch)) => attempted.extend(batch),
            Err(error) => {
                let (started_at, batch) = in_flight.remove(&error.id()).unwrap_or_default();
                let reason = abnormal_end(error);
                tracing::error!(destination = %destination.name, messages = batch.len(), %reason, "A send ended abnormally; recording it as a failed attempt.");
                let delivery = http::Delivery {
                    outcome: Outcome::retry(None, reason.clone()),
                    status: None,
                    latency: (Utc::now() - started_at).to_std().unwrap_or_default(),
                    excerpt: reason,
                };
                attempted.extend(batch.into_iter().map(|message| Attempted {
                    message,
                    started_at,
                    delivery: delivery.clone(),
                }));
            }
        }
    }
    attempted
}

/// Tells the breaker how the round went: a refusal of the destination as a
/// whole pauses it at once with the channel's reason (metric, warning); other
/// results count towards the threshold as before.
fn update_breaker(service: &Delivery, breaker: &Breaker, destination: &Destination, round: &Round) {
    let before = breaker.pause_reason();
    let now = Utc::now();
    if let Some(pause) = &round.pause {
        if let Some(before) = before.as_ref().filter(|before| before.cause != pause.cause) {
            service.metrics.destination_paused.remove(&pause_labels(destination, before));
        }
        service.metrics.destination_paused.get_or_create(&pause_labels(destination, pause)).set(1);
        if breaker.pause(pause.clone(), now) {
            tracing::warn!(destination = %destination.name, cause = %pause.cause, reason = %pause.reason, cooldown = ?service.settings.breaker_cooldown, "The channel refuses the destination as a whole; pausing it and keeping its queue.");
        } else {
            tracing::debug!(destination = %destination.name, reason = %pause.reason, "The trial was refused the same way; the destination stays paused.");
        }
        return;
    }
    let opened = breaker.record(round.finished.iter().map(|result| result.next == Next::Delivered), now);
    if opened {
        tracing::warn!(destination = %destination.name, cooldown = ?service.settings.breaker_cooldown, "Destination keeps failing; pausing it (circuit breaker open).");
    }
    if let Some(before) = before {
        service.metrics.destination_paused.remove(&pause_labels(destination, &before));
        tracing::info!(destination = %destination.name, cause = %before.cause, "The destination is no longer refused as a whole.");
    }
}

fn pause_labels(destination: &Destination, pause: &Pause) -> PauseLabels {
    PauseLabels { destination: destination.id.clone(), cause: pause.cause.clone() }
}

/// Records a round: its attempts, then the leases of what was never sent.
async fn record_round(service: Arc<Delivery>, destination: String, round: Round) -> bool {
    let recorded = record(Arc::clone(&service), destination.clone(), round.finished).await;
    if round.unsent.is_empty() {
        return recorded;
    }
    match service.store.hand_back(&service.owner, &round.unsent, round.resume_at).await {
        Ok(handed_back) => {
            tracing::debug!(%destination, handed_back, "Handed back the messages a pause kept from being sent.");
            recorded
        }
        Err(error) => {
            tracing::warn!(%destination, %error, "Cannot hand back unsent messages; they are due again when their lease ends.");
            false
        }
    }
}

/// What to record for one message after its attempt.
fn conclude(service: &Delivery, destination: &Destination, attempted: Attempted, resume_at: DateTime<Utc>) -> Finished {
    let Attempted { message, started_at, delivery } = attempted;
    let finished_at = Utc::now();
    let kind = destination.channel.kind();
    let labels = Metrics::destination(&destination.id, kind);
    let next = match &delivery.outcome {
        Outcome::Paused { .. } => Next::Paused(resume_at),
        outcome => next_step(service, &message, outcome, finished_at),
    };
    match &next {
        Next::Delivered => {
            service.metrics.delivered.get_or_create(&labels).inc();
            service.recent.settled.add((destination.id.clone(), Settled::Delivered), finished_at);
            let latency = (finished_at - message.created_at).num_microseconds().unwrap_or(i64::MAX);
            service.metrics.delivery_latency.get_or_create(&Metrics::kind(kind)).observe(latency as f64 / 1e6);
        }
        Next::RetryAt(_) => {
            service.metrics.retried.get_or_create(&labels).inc();
            service.recent.settled.add((destination.id.clone(), Settled::Retried), finished_at);
        }
        Next::Failed => {
            service.metrics.failed.get_or_create(&labels).inc();
            service.recent.settled.add((destination.id.clone(), Settled::Failed), finished_at);
        }
        Next::Paused(_) => {}
    }
    let detail = match &delivery.outcome {
        Outcome::Delivered => delivery.excerpt.clone(),
        other => other.reason().unwrap_or(&delivery.excerpt).to_owned(),
    };
    tracing::debug!(message = %message.id, alert = %message.alert_id, destination = %destination.name, outcome = delivery.outcome.label(), status = ?delivery.status, "Attempt made.");
    Finished {
        message_id: message.id.clone(),
        owner: service.owner.clone(),
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
        hops: message.hops,
    }
}

/// Delivered, retried at the next scheduled time, or failed for good.
fn next_step(service: &Delivery, message: &Message, outcome: &Outcome, now: DateTime<Utc>) -> Next {
    match outcome {
        // An acceptance still unconfirmed here was not waited for.
        Outcome::Delivered | Outcome::Accepted { .. } => Next::Delivered,
        Outcome::Retry { after, .. } => {
            match service.settings.retry.next_attempt(
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
        Outcome::Failed { .. } | Outcome::TooLarge { .. } => Next::Failed,
        Outcome::Paused { .. } => Next::Paused(now),
    }
}
