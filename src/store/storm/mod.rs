//! The durable state of alert storms (migration 0011): open groups and the
//! alerts they collected, fingerprints of recent alerts, silences, and which
//! alerts each digest carried. The rules are [`crate::storm`]'s; this file only
//! stores and decides what must be decided atomically.
//!
//! - **Holding at ingest** (`SqlStore::hold_storms`) runs inside the ingest
//!   transaction, after the messages are inserted: a message a silence matches,
//!   that repeats a fingerprint within its window, or that joins an open group
//!   is marked `silenced`, `suppressed` or `grouped` (finished, with the reason),
//!   so it is never sent alone and never lost from sight. A group is opened by
//!   `INSERT … ON CONFLICT DO NOTHING` and joined by an `UPDATE` of its row: on
//!   PostgreSQL that row lock orders ingest against the flush, so an alert is
//!   either in the closing digest or in the next window, never in neither.
//! - **Flushing** ([`StormStore::flush_group`]) locks a due group (`FOR UPDATE
//!   SKIP LOCKED` on PostgreSQL; SQLite has one writer), reads its members,
//!   creates the digest message, records its members in `digest_alerts`, and
//!   moves or ends the window — one transaction. A crash before the commit
//!   leaves everything as it was; after it, the members are gone: no digest is
//!   ever made twice, by one relay or several sharing a database.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row as _};

use super::sql::{millis, time, SqlStore};
use super::{MessageStatus, NewAlert, NewMessage, StoreError};
use crate::notify::ChannelKind;
use crate::storm::digest::Member;
use crate::storm::silence::{self, Compiled, Matcher, Silence};
use crate::storm::{self as rules, Facts, MessagePlan};

/// A message the storm rules held back at ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub destination_id: String,
    pub kind: ChannelKind,
    /// `grouped`, `suppressed` or `silenced`.
    pub status: MessageStatus,
}

/// A group whose window has closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    pub destination_id: String,
    pub group_key: String,
}

/// A group being flushed, as the digest renderer sees it.
#[derive(Debug, Clone)]
pub struct Closing {
    pub destination_id: String,
    pub label: String,
    pub flock_id: String,
    pub window_start: DateTime<Utc>,
    /// The group's first alert went out alone (the digest says "more").
    pub announced: bool,
    /// In arrival order; never empty.
    pub members: Vec<Member>,
}

/// What a flush did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flushed {
    /// The digest message, when the group had collected anything.
    pub message_id: Option<String>,
    /// Alerts it carries.
    pub carried: usize,
}

/// The store's part of alert storms.
#[async_trait]
pub trait StormStore {
    /// Groups whose window closed by `now`, at most `limit`, oldest first.
    async fn due_groups(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<GroupRef>, StoreError>;
    /// Closes a due group in one transaction: `digest` makes the message from
    /// what the group collected (`None`: its destination is gone; the group is
    /// dropped). `Ok(None)` when the group is not due or another relay holds it.
    async fn flush_group(
        &self,
        group: &GroupRef,
        now: DateTime<Utc>,
        digest: &(dyn for<'c> Fn(&'c Closing) -> Option<NewMessage> + Send + Sync),
    ) -> Result<Option<Flushed>, StoreError>;
    /// Silences, newest first; expired ones too when `all`.
    async fn silences(&self, all: bool, now: DateTime<Utc>) -> Result<Vec<Silence>, StoreError>;
    async fn add_silence(&self, silence: &Silence) -> Result<(), StoreError>;
    /// Ends a silence at `now` (kept, shown as expired).
    async fn expire_silence(&self, id: &str, now: DateTime<Utc>) -> Result<Silence, StoreError>;
    /// The alerts a digest message carried, sorted by id.
    async fn digest_alerts(&self, message_id: &str) -> Result<Vec<String>, StoreError>;
    /// Forgets fingerprints that expired before `now`.
    async fn prune_storms(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

type Tx<'c> = sqlx::Transaction<'c, Any>;

/// Whether [`SqlStore::hold_storms`] has anything to look at in these alerts:
/// a message (not failed at rendering) with a storm plan.
pub(crate) fn storm_rules_apply(alerts: &[NewAlert]) -> bool {
    alerts.iter().flat_map(|alert| &alert.messages).any(|message| message.error.is_none() && message.storm.is_some())
}

/// One message the storm rules look at.
struct Planned<'a> {
    index: usize,
    alert: &'a NewAlert,
    message: &'a NewMessage,
    plan: &'a MessagePlan,
}

impl SqlStore {
    /// Applies silences, dedupe and grouping to the messages of the alerts
    /// `indices` names, just inserted in `tx`; returns which it held back,
    /// by alert index.
    pub(super) async fn hold_storms(
        &self,
        tx: &mut Tx<'_>,
        alerts: &[NewAlert],
        indices: &[usize],
    ) -> Result<Vec<(usize, Held)>, StoreError> {
        // The messages `storm_rules_apply` looks for.
        let planned: Vec<Planned<'_>> = indices
            .iter()
            .flat_map(|&index| alerts[index].messages.iter().map(move |message| (index, message)))
            .filter(|(_, message)| message.error.is_none())
            .filter_map(|(index, message)| {
                let plan = message.storm.as_deref()?;
                Some(Planned { index, alert: &alerts[index], message, plan })
            })
            .collect();
        let mut held = Vec::new();
        if planned.is_empty() {
            return Ok(held);
        }
        let silences = match planned.iter().filter(|one| one.plan.silenceable).map(|one| one.alert.received_at).min() {
            Some(earliest) => active_silences(tx, earliest).await?,
            None => Vec::new(),
        };
        for one in planned {
            let now = one.alert.received_at;
            let decided = match silence::first_match(&silences, &one.plan.facts, now) {
                Some(silence) if one.plan.silenceable => Some((MessageStatus::Silenced, silence::reason(silence))),
                _ => match duplicate_of(tx, &one).await? {
                    Some(reason) => Some((MessageStatus::Suppressed, reason)),
                    None => collect(tx, &one).await?.map(|reason| (MessageStatus::Grouped, reason)),
                },
            };
            let Some((status, reason)) = decided else {
                continue;
            };
            sqlx::query(
                "UPDATE messages SET status = $1, finished_at = $2, next_attempt_at = $2, last_error = $3 WHERE id = $4",
            )
            .bind(status.as_str())
            .bind(millis(now))
            .bind(reason.as_str())
            .bind(one.message.id.as_str())
            .execute(&mut **tx)
            .await?;
            held.push((
                one.index,
                Held { destination_id: one.message.destination_id.clone(), kind: one.message.kind, status },
            ));
        }
        Ok(held)
    }
}

async fn active_silences(tx: &mut Tx<'_>, now: DateTime<Utc>) -> Result<Vec<Compiled>, StoreError> {
    let rows = sqlx::query(&format!("{SILENCE_SELECT} WHERE expires_at > $1 ORDER BY created_at"))
        .bind(millis(now))
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(silence_from_row).map(|silence| silence.map(Compiled::new)).collect()
}

const SILENCE_SELECT: &str = "SELECT id, matchers, reason, author, created_at, expires_at FROM silences";

fn silence_from_row(row: &AnyRow) -> Result<Silence, StoreError> {
    let matchers: String = row.try_get(1)?;
    let matchers: Vec<Matcher> = serde_json::from_str(&matchers)
        .map_err(|error| StoreError::Corrupt { table: "silences", reason: format!("matchers: {error}") })?;
    Ok(Silence {
        id: row.try_get(0)?,
        matchers,
        reason: row.try_get(2)?,
        author: row.try_get(3)?,
        created_at: time(row.try_get(4)?, "silences")?,
        expires_at: time(row.try_get(5)?, "silences")?,
    })
}

/// The reason a message repeats a recent alert, if it does; else records its
/// fingerprint (a first sighting, or the first after the window ran out).
async fn duplicate_of(tx: &mut Tx<'_>, one: &Planned<'_>) -> Result<Option<String>, StoreError> {
    let Some(dedupe) = &one.plan.dedupe else {
        return Ok(None);
    };
    let now = one.alert.received_at;
    let (destination, fingerprint) = (one.message.destination_id.as_str(), dedupe.fingerprint.as_str());
    let expires = millis(rules::after(now, dedupe.window));
    let first = sqlx::query(
        "INSERT INTO storm_fingerprints (destination_id, fingerprint, alert_id, expires_at, suppressed) \
         VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING",
    )
    .bind(destination)
    .bind(fingerprint)
    .bind(one.alert.id.as_str())
    .bind(expires)
    .execute(&mut **tx)
    .await?;
    if first.rows_affected() == 1 {
        return Ok(None);
    }
    let repeat = sqlx::query(
        "UPDATE storm_fingerprints SET suppressed = suppressed + 1 \
         WHERE destination_id = $1 AND fingerprint = $2 AND expires_at > $3 RETURNING alert_id, suppressed",
    )
    .bind(destination)
    .bind(fingerprint)
    .bind(millis(now))
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = repeat {
        let original: String = row.try_get(0)?;
        let count: i64 = row.try_get(1)?;
        return Ok(Some(format!(
            "Duplicate of alert {original} (same fingerprint within {}); repeat {count}, not sent",
            rules::human(dedupe.window)
        )));
    }
    sqlx::query(
        "UPDATE storm_fingerprints SET alert_id = $3, expires_at = $4, suppressed = 0 \
         WHERE destination_id = $1 AND fingerprint = $2",
    )
    .bind(destination)
    .bind(fingerprint)
    .bind(one.alert.id.as_str())
    .bind(expires)
    .execute(&mut **tx)
    .await?;
    Ok(None)
}

/// Opens the message's group or joins it. `Some(reason)` when the message is
/// collected (held for the digest); `None` when it goes out now (the first of
/// a group without `group_wait`).
async fn collect(tx: &mut Tx<'_>, one: &Planned<'_>) -> Result<Option<String>, StoreError> {
    let Some(group) = &one.plan.group else {
        return Ok(None);
    };
    let now = one.alert.received_at;
    let destination = one.message.destination_id.as_str();
    // Twice at most: a group can end (flushed empty) between the insert and the update.
    for _ in 0..3 {
        let (announce, window_end) = rules::open_window(now, group);
        let opened = sqlx::query(
            "INSERT INTO storm_groups (destination_id, group_key, label, flock_id, window_start, window_end, \
             interval_ms, announced, collected) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(destination)
        .bind(group.key.as_str())
        .bind(group.label.as_str())
        .bind(one.alert.flock_id.as_str())
        .bind(millis(now))
        .bind(millis(window_end))
        .bind(duration_millis(group.interval))
        .bind(i64::from(announce))
        .bind(i64::from(!announce))
        .execute(&mut **tx)
        .await?;
        if opened.rows_affected() == 1 {
            if announce {
                return Ok(None);
            }
            add_member(tx, one).await?;
            return Ok(Some(collected_reason(&group.label, window_end)));
        }
        let joined = sqlx::query(
            "UPDATE storm_groups SET collected = collected + 1 WHERE destination_id = $1 AND group_key = $2 \
             RETURNING window_end",
        )
        .bind(destination)
        .bind(group.key.as_str())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = joined {
            add_member(tx, one).await?;
            return Ok(Some(collected_reason(&group.label, time(row.try_get(0)?, "storm_groups")?)));
        }
    }
    // Never in practice; sending it alone is the safe side.
    Ok(None)
}

fn collected_reason(label: &str, window_end: DateTime<Utc>) -> String {
    format!("Collected into the digest of group {label}, due {}", window_end.format("%Y-%m-%d %H:%M:%S UTC"))
}

async fn add_member(tx: &mut Tx<'_>, one: &Planned<'_>) -> Result<(), StoreError> {
    let Some(group) = &one.plan.group else {
        return Ok(());
    };
    let facts = serde_json::to_string(&one.plan.facts)
        .map_err(|error| StoreError::Corrupt { table: "storm_members", reason: error.to_string() })?;
    sqlx::query(
        "INSERT INTO storm_members (destination_id, group_key, message_id, alert_id, received_at, hops, facts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(one.message.destination_id.as_str())
    .bind(group.key.as_str())
    .bind(one.message.id.as_str())
    .bind(one.alert.id.as_str())
    .bind(millis(one.alert.received_at))
    .bind(i64::from(one.alert.hops))
    .bind(facts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn member_from_row(row: &AnyRow) -> Result<(Member, u32), StoreError> {
    let facts: String = row.try_get(3)?;
    let facts: Facts = serde_json::from_str(&facts)
        .map_err(|error| StoreError::Corrupt { table: "storm_members", reason: format!("facts: {error}") })?;
    let member = Member { alert_id: row.try_get(0)?, received_at: time(row.try_get(1)?, "storm_members")?, facts };
    Ok((member, u32::try_from(row.try_get::<i64, _>(2)?).unwrap_or(0)))
}

mod flush;
