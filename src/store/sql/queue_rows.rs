//! The outbox's rows as its multi-row statements bind them, and the results
//! an enqueue reports: one definition, used by the queries through sqlx and by
//! the SQLite writer thread (`store::sqlite::writer`), so that both write the
//! same columns the same way.

use std::collections::HashSet;

use chrono::{DateTime, Utc};

use super::batch::{Field, ALERT_FIELDS, ATTEMPT_FIELDS, MESSAGE_FIELDS, OUTCOME_FIELDS};
use super::millis;
use super::rows::Columns;
use crate::store::{Enqueued, Finished, MessageStatus, NewAlert, NewMessage, Next, StoreError};

/// The stored alert an id or idempotency key refers to (`$1` id, `$2` key).
pub(crate) const EXISTING_ALERT: &str = "SELECT id, messages FROM alerts WHERE id = $1 OR idempotency_key = $2";

/// The claim statement's parameters (`SqlStore::claim`): `$1` owner, `$2`
/// lease end, `$3` now, `$4` destination, `$5` limit.
pub(crate) fn claim_binds<'a>(
    owner: &'a str,
    destination_id: &'a str,
    lease_end: DateTime<Utc>,
    now: DateTime<Utc>,
    limit: u32,
) -> [Field<'a>; 5] {
    [
        Field::Text(Some(owner)),
        Field::BigInt(Some(millis(lease_end))),
        Field::BigInt(Some(millis(now))),
        Field::Text(Some(destination_id)),
        Field::BigInt(Some(i64::from(limit))),
    ]
}

pub(crate) fn alert_row(alert: &NewAlert) -> [Field<'_>; ALERT_FIELDS] {
    [
        Field::Text(Some(&alert.id)),
        Field::Text(alert.idempotency_key.as_deref()),
        Field::Text(Some(&alert.flock_id)),
        Field::Text(Some(&alert.kind)),
        Field::BigInt(Some(millis(alert.received_at))),
        Field::BigInt(Some(i64::try_from(alert.messages.len()).unwrap_or(i64::MAX))),
        Field::BigInt(Some(i64::from(alert.hops))),
    ]
}

/// The message rows of the alerts `indices` names, in order.
pub(crate) fn message_rows<'a>(
    alerts: &'a [NewAlert],
    indices: &'a [usize],
) -> impl Iterator<Item = [Field<'a>; MESSAGE_FIELDS]> + 'a {
    indices
        .iter()
        .map(|&index| &alerts[index])
        .flat_map(|alert| alert.messages.iter().map(move |message| message_row(alert, message)))
}

fn message_row<'a>(alert: &'a NewAlert, message: &'a NewMessage) -> [Field<'a>; MESSAGE_FIELDS] {
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
}

pub(crate) fn attempt_row(result: &Finished) -> [Field<'_>; ATTEMPT_FIELDS] {
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
}

/// What an attempt does to its message: delivered, failed, or due again.
pub(crate) fn outcome_row(result: &Finished) -> [Field<'_>; OUTCOME_FIELDS] {
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
}

/// An attempt and its outcome side by side, for `Statements::finish_together`.
pub(crate) fn finish_row(result: &Finished) -> [Field<'_>; ATTEMPT_FIELDS + OUTCOME_FIELDS] {
    let (attempt, outcome) = (attempt_row(result), outcome_row(result));
    std::array::from_fn(|index| match index.checked_sub(ATTEMPT_FIELDS) {
        None => attempt[index],
        Some(index) => outcome[index],
    })
}

/// Of the alerts `now` names, those the insert stored (`inserted` ids): their
/// results are set here and they are returned first; the others, stored
/// before, are returned second, for their results to be read.
pub(crate) fn split_inserted(
    alerts: &[NewAlert],
    now: &[usize],
    inserted: &HashSet<String>,
    results: &mut [Option<Enqueued>],
) -> (Vec<usize>, Vec<usize>) {
    let (fresh, before): (Vec<usize>, Vec<usize>) =
        now.iter().partition(|&&index| inserted.contains(&alerts[index].id));
    for &index in &fresh {
        results[index] = Some(stored(&alerts[index]));
    }
    (fresh, before)
}

/// What enqueueing reports for an alert stored now.
fn stored(alert: &NewAlert) -> Enqueued {
    Enqueued {
        alert_id: alert.id.clone(),
        messages: u64::try_from(alert.messages.len()).unwrap_or(u64::MAX),
        duplicate: false,
        held: Vec::new(),
    }
}

/// What enqueueing reports for an alert stored before, from its
/// [`EXISTING_ALERT`] row.
pub(crate) fn duplicate(row: &impl Columns) -> Result<Enqueued, StoreError> {
    Ok(Enqueued {
        alert_id: row.text("id")?,
        messages: u64::try_from(row.integer("messages")?).unwrap_or(0),
        duplicate: true,
        held: Vec::new(),
    })
}

/// An alert that conflicted on insert but that [`EXISTING_ALERT`] cannot find.
pub(crate) fn vanished(alert: &NewAlert) -> StoreError {
    StoreError::Corrupt { table: "alerts", reason: format!("alert {} conflicts but cannot be found", alert.id) }
}
