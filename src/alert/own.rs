//! flockrelay's own alert form (`kind`, `title`, `severity`, `source`, `target`,
//! `details` …) turned into an [`Alert`]: what the API and the CLI accept.
//! Missing optional fields get their defaults (the default flock, `now`,
//! medium severity, a fresh id). Pure.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::fields::{optional_port, optional_str, optional_timestamp, required_str, wrong_type};
use super::{Actor, Alert, AlertError, Severity, Target};
use crate::flock::DEFAULT_FLOCK;

/// A document in flockrelay's own form as an alert; `now` stands in for a
/// missing timestamp.
pub(super) fn from_own(doc: &Map<String, Value>, raw: &Value, now: DateTime<Utc>) -> Result<Alert, AlertError> {
    let kind = required_str(doc, "kind")?;
    let title = required_str(doc, "title")?;
    let severity = match doc.get("severity") {
        None | Some(Value::Null) => Severity::default(),
        Some(Value::String(text)) => Severity::parse(text).ok_or_else(|| AlertError::InvalidField {
            field: "severity".into(),
            reason: format!("`{text}` is not one of info, low, medium, high, critical"),
        })?,
        Some(other) => return Err(wrong_type("severity", "a string", other)),
    };
    let actor = match doc.get("source") {
        None | Some(Value::Null) => Actor::default(),
        Some(Value::Object(map)) => {
            Actor { ip: optional_str(map, "source.ip", "ip")?, name: optional_str(map, "source.name", "name")? }
        }
        Some(other) => return Err(wrong_type("source", "an object", other)),
    };
    let target = match doc.get("target") {
        None | Some(Value::Null) => Target::default(),
        Some(Value::Object(map)) => Target {
            name: optional_str(map, "target.name", "name")?,
            ip: optional_str(map, "target.ip", "ip")?,
            port: optional_port(map.get("port"), "target.port")?,
            id: optional_str(map, "target.id", "id")?,
        },
        Some(other) => return Err(wrong_type("target", "an object", other)),
    };
    let details = match doc.get("details") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(other) => return Err(wrong_type("details", "an object", other)),
    };
    Ok(Alert {
        id: optional_str(doc, "id", "id")?.unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        flock_id: optional_str(doc, "flock_id", "flock_id")?.unwrap_or_else(|| DEFAULT_FLOCK.to_owned()),
        kind,
        severity,
        title,
        description: optional_str(doc, "description", "description")?.unwrap_or_default(),
        timestamp: optional_timestamp(doc.get("timestamp"), "timestamp")?.unwrap_or(now),
        actor,
        target,
        details,
        raw: raw.clone(),
    })
}
