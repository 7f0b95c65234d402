//! Alert storms: grouping into digests, duplicate suppression and silences —
//! the rules, as pure functions of their inputs and `now`.
//!
//! - this file — a destination's storm settings (`grouping`, `dedupe`,
//!   `never_silenced`), the alert fields they name ([`Facts`]), group keys,
//!   fingerprints, window arithmetic and the [`MessagePlan`] ingest hands the
//!   store with each message.
//! - [`digest`] — what one digest says: counts, first/last seen, top values and
//!   a bounded list of the alerts it carries.
//! - [`silence`] — mute rules with matchers and an expiry.
//! - [`runtime`] — the only part with I/O: the task that closes due group windows
//!   through the store and renders their digests.
//! - [`service`] — silences and digest members for the API, CLI and console.
//!
//! The pure parts do no I/O and never read the clock; the durable state (groups,
//! members, fingerprints, silences) lives in the store (`store::storm`). See
//! `docs/storms.md` for the whole picture.

pub mod digest;
pub mod runtime;
pub mod service;
pub mod silence;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::alert::Alert;
use crate::config::Seconds;
use crate::destination::Destination;
use crate::notify::ChannelKind;

/// The alert fields group keys, fingerprints and silence matchers may name
/// (`details.<name>` names any of the alert's details as well).
pub const FIELDS: [&str; 13] = [
    "kind",
    "flock",
    "severity",
    "title",
    "description",
    "actor",
    "actor.ip",
    "actor.name",
    "target",
    "target.name",
    "target.ip",
    "target.port",
    "target.id",
];

/// Whether `name` is a field [`Facts`] can hold.
pub fn known_field(name: &str) -> bool {
    FIELDS.contains(&name) || name.strip_prefix("details.").is_some_and(|key| !key.is_empty())
}

/// A destination's storm settings, kept with its other settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StormSettings {
    /// Collect bursts into digests (chat destinations); unset: one message per alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grouping: Option<Grouping>,
    /// Count repeats of the same alert within a window instead of re-sending them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe: Option<Dedupe>,
    /// Silences do not apply to this destination. Unset: true for Splunk HEC and
    /// generic destinations (a SIEM wants every event), false for chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub never_silenced: Option<bool>,
}

/// `[destinations.X.grouping]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grouping {
    /// Alerts that agree on these fields form one group.
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
    /// 0: the first alert of a group goes out at once; else it waits this long
    /// and goes out in the first digest.
    #[serde(default = "zero")]
    pub group_wait: Seconds,
    /// How long later alerts are collected before a digest is sent.
    #[serde(default = "five_minutes")]
    pub group_interval: Seconds,
    /// Most alerts a digest lists one by one (it counts them all).
    #[serde(default = "ten")]
    pub max_listed: u32,
}

/// `[destinations.X.dedupe]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dedupe {
    /// How long after an alert its repeats are counted, not sent.
    pub window: Seconds,
    /// The fields that make two alerts the same (their fingerprint).
    #[serde(default = "default_dedupe_by")]
    pub by: Vec<String>,
}

fn default_group_by() -> Vec<String> {
    ["kind", "flock", "actor.ip", "target"].map(str::to_owned).to_vec()
}

fn default_dedupe_by() -> Vec<String> {
    ["kind", "flock", "title", "description", "actor.ip", "target"].map(str::to_owned).to_vec()
}

fn zero() -> Seconds {
    Seconds(Duration::ZERO)
}

fn five_minutes() -> Seconds {
    Seconds(Duration::from_secs(300))
}

fn ten() -> u32 {
    10
}

/// Most alerts a digest may list (each is a line of a chat message).
pub const MAX_LISTED: u32 = 40;

/// Shortest group interval: a digest a second would be the flood again.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

impl StormSettings {
    /// Whether silences apply to a destination of this channel.
    pub fn silenceable(&self, kind: ChannelKind) -> bool {
        !self.never_silenced.unwrap_or(matches!(kind, ChannelKind::SplunkHec | ChannelKind::Generic))
    }

    /// What is wrong, as `(key below the destination, reason)` pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if let Some(grouping) = &self.grouping {
            field_problems("grouping.group_by", &grouping.group_by, &mut problems);
            if grouping.group_interval.0 < MIN_INTERVAL {
                problems.push(("grouping.group_interval".into(), "must be at least 1s".into()));
            }
            if grouping.max_listed > MAX_LISTED {
                problems.push(("grouping.max_listed".into(), format!("must be at most {MAX_LISTED}")));
            }
        }
        if let Some(dedupe) = &self.dedupe {
            field_problems("dedupe.by", &dedupe.by, &mut problems);
            if dedupe.by.is_empty() {
                problems.push(("dedupe.by".into(), "must name at least one field".into()));
            }
            if dedupe.window.0.is_zero() {
                problems.push(("dedupe.window".into(), "must be more than 0s (remove [dedupe] to turn it off)".into()));
            }
        }
        problems
    }
}

fn field_problems(key: &str, fields: &[String], problems: &mut Vec<(String, String)>) {
    for (index, field) in fields.iter().enumerate() {
        if !known_field(field) {
            problems.push((
                format!("{key}[{index}]"),
                format!("unknown alert field; use one of {} or details.<name>", FIELDS.join(", ")),
            ));
        }
    }
}

/// The fields of one alert as text, by the names [`FIELDS`] lists; absent
/// fields are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Facts(pub BTreeMap<String, String>);

impl Facts {
    pub fn of(alert: &Alert) -> Self {
        let mut facts = BTreeMap::new();
        let mut put = |name: &str, value: Option<String>| {
            if let Some(value) = value.filter(|value| !value.is_empty()) {
                facts.insert(name.to_owned(), value);
            }
        };
        put("kind", Some(alert.kind.clone()));
        put("flock", Some(alert.flock_id.clone()));
        put("severity", Some(alert.severity.as_str().to_owned()));
        put("title", Some(alert.title.clone()));
        put("description", Some(alert.description.chars().take(500).collect()));
        put("actor", alert.actor.label());
        put("actor.ip", alert.actor.ip.clone());
        put("actor.name", alert.actor.name.clone());
        put("target", alert.target.label());
        put("target.name", alert.target.name.clone());
        put("target.ip", alert.target.ip.clone());
        put("target.port", alert.target.port.map(|port| port.to_string()));
        put("target.id", alert.target.id.clone());
        put("time", Some(alert.timestamp.to_rfc3339()));
        for (key, value) in &alert.details {
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            put(&format!("details.{key}"), Some(text.chars().take(200).collect()));
        }
        Self(facts)
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// When the alert happened (the `time` fact), if readable.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        self.get("time").and_then(|text| DateTime::parse_from_rfc3339(text).ok()).map(|time| time.with_timezone(&Utc))
    }

    /// `field=value` for each field, `field=` for an absent one, joined by `, `.
    pub fn label(&self, fields: &[String]) -> String {
        fields
            .iter()
            .map(|field| format!("{field}={}", self.get(field).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A stable hash of the fields' values: equal for alerts that agree on
    /// every field (an absent field differs from an empty one's neighbour by
    /// its name, so `a=x,b=` and `a=,b=x` never collide).
    pub fn hash(&self, fields: &[String]) -> String {
        let mut hasher = Sha256::new();
        for field in fields {
            hasher.update(field.as_bytes());
            hasher.update([0]);
            match self.get(field) {
                Some(value) => {
                    hasher.update([1]);
                    hasher.update(value.as_bytes());
                }
                None => hasher.update([2]),
            }
            hasher.update([0]);
        }
        hex::encode(&hasher.finalize()[..16])
    }
}

/// Which group an alert joins at a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    /// [`Facts::hash`] of the `group_by` fields.
    pub key: String,
    /// `kind=…, actor.ip=…`: the group's values, for people.
    pub label: String,
    pub wait: Duration,
    pub interval: Duration,
}

/// Which fingerprint an alert has at a destination, and for how long it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupePlan {
    pub fingerprint: String,
    pub window: Duration,
}

/// What the store must decide for one message, inside the ingest transaction:
/// silenced, a duplicate, collected into a group, or sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePlan {
    pub silenceable: bool,
    pub facts: Facts,
    pub dedupe: Option<DedupePlan>,
    pub group: Option<GroupPlan>,
}

/// The plan of `alert`'s message to `destination`; `None` when no storm rule
/// can apply (never silenced, no grouping, no dedupe).
pub fn plan(destination: &Destination, alert: &Alert) -> Option<MessagePlan> {
    let storm = &destination.storm;
    let silenceable = storm.silenceable(destination.channel.kind());
    if !silenceable && storm.grouping.is_none() && storm.dedupe.is_none() {
        return None;
    }
    let facts = Facts::of(alert);
    let group = storm.grouping.as_ref().map(|grouping| GroupPlan {
        key: facts.hash(&grouping.group_by),
        label: facts.label(&grouping.group_by),
        wait: grouping.group_wait.0,
        interval: grouping.group_interval.0.max(MIN_INTERVAL),
    });
    let dedupe =
        storm.dedupe.as_ref().map(|dedupe| DedupePlan { fingerprint: facts.hash(&dedupe.by), window: dedupe.window.0 });
    Some(MessagePlan { silenceable, facts, dedupe, group })
}

/// `time + duration`, saturating at the end of the calendar.
pub fn after(time: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(duration)
        .ok()
        .and_then(|duration| time.checked_add_signed(duration))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A group that opens at `now`: whether its first alert goes out at once, and
/// when its first window closes.
pub fn open_window(now: DateTime<Utc>, group: &GroupPlan) -> (bool, DateTime<Utc>) {
    if group.wait.is_zero() {
        (true, after(now, group.interval))
    } else {
        (false, after(now, group.wait))
    }
}

/// Whether a group's window has closed at `now` (its digest is due).
pub fn due(window_end: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    window_end <= now
}

/// What becomes of a group whose window closed at `now` with `collected`
/// alerts: `None` — nothing came, the group ends and the next alert goes out at
/// once; `Some(end)` — a digest goes out and the next window ends at `end`.
pub fn next_window(now: DateTime<Utc>, collected: usize, interval: Duration) -> Option<DateTime<Utc>> {
    (collected > 0).then(|| after(now, interval))
}

/// Whether a fingerprint first seen with window end `expires_at` still holds at `now`.
pub fn duplicate(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < expires_at
}

/// `5 minutes`, `90 seconds`, `2 hours`: a window length for people.
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (value, unit) = if seconds >= 7200 && seconds % 3600 == 0 {
        (seconds / 3600, "hour")
    } else if seconds >= 120 && seconds % 60 == 0 {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    format!("{value} {unit}{}", if value == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests;
