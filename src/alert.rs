//! The normalized alert every source is turned into, and the two JSON forms it is
//! parsed from: flockrelay's own form and the incident document a Canary console
//! posts to a generic webhook.
//!
//! Pure data: no I/O. Unknown fields are never rejected; the whole input document
//! stays available to templates as `alert.raw`. Every document passes
//! [`crate::limits`] first (no NUL anywhere, nesting, field lengths), whichever
//! origin it comes from.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::flock::DEFAULT_FLOCK;
use crate::limits;

/// One security alert, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable identifier: the sender's id (Canary `IncidentHash`) when it has one,
    /// so a re-sent alert can be recognised; otherwise a fresh UUIDv7. Ingest
    /// and `flockrelay send` put it in its origin's namespace ([`crate::origin`]).
    pub id: String,
    /// The flock the alert belongs to; decides its destinations.
    pub flock_id: String,
    /// Event type (`canary.incident`, `canarytoken.incident`, `invitee.accepted` …),
    /// matched by destination event filters.
    pub kind: String,
    /// How urgent the alert is; templates colour by it.
    pub severity: Severity,
    /// One-line summary, used as the message title.
    pub title: String,
    /// Free text body of the alert.
    pub description: String,
    /// When the event happened (not when it reached the relay).
    pub timestamp: DateTime<Utc>,
    /// Who or what caused the alert (attacker IP, reverse DNS). Called
    /// `source` on the wire and in templates; `actor` in code, apart from the
    /// inbound `Source` a webhook comes from.
    #[serde(rename = "source")]
    pub actor: Actor,
    /// What was touched (the Canary device, its IP and port).
    pub target: Target,
    /// Extra key/value facts, shown as fields by the templates.
    pub details: Map<String, Value>,
    /// The document as it arrived, unknown fields included, for custom templates.
    pub raw: Value,
}

/// Alert severity, ordered from least to most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Severity {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "info" | "informational" => Some(Self::Info),
            "low" => Some(Self::Low),
            "medium" | "moderate" => Some(Self::Medium),
            "high" => Some(Self::High),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }

    /// The lowercase wire name (`high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Who or what caused the alert (the attacker): `source` on the wire.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub ip: Option<String>,
    pub name: Option<String>,
}

impl Actor {
    /// `192.0.2.7 (scanner.example)`, or whichever part is known.
    pub fn label(&self) -> Option<String> {
        match (&self.ip, &self.name) {
            (Some(ip), Some(name)) => Some(format!("{ip} ({name})")),
            (Some(one), None) | (None, Some(one)) => Some(one.clone()),
            (None, None) => None,
        }
    }
}

/// The device or service the activity was aimed at.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub name: Option<String>,
    pub ip: Option<String>,
    pub port: Option<u16>,
    /// The sender's identifier for the device (Canary `CanaryID`).
    pub id: Option<String>,
}

impl Target {
    /// `fs-canary 10.0.0.9:445`, or whichever parts are known.
    pub fn label(&self) -> Option<String> {
        let address = match (&self.ip, self.port) {
            (Some(ip), Some(port)) => Some(format!("{ip}:{port}")),
            (Some(ip), None) => Some(ip.clone()),
            (None, _) => None,
        };
        match (&self.name, address) {
            (Some(name), Some(address)) => Some(format!("{name} {address}")),
            (Some(name), None) => Some(name.clone()),
            (None, address) => address,
        }
    }
}

/// Why a document could not be turned into an [`Alert`]. Always names the field.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AlertError {
    #[error("alert must be a JSON object, got {found}")]
    NotAnObject { found: &'static str },
    #[error("missing required field `{field}`")]
    MissingField { field: &'static str },
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("alert is not valid JSON: {0}")]
    Syntax(String),
}

impl Alert {
    /// Parses an alert from JSON text (either form).
    pub fn from_slice(bytes: &[u8], now: DateTime<Utc>) -> Result<Self, AlertError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|error| AlertError::Syntax(error.to_string()))?;
        Self::from_value(value, now)
    }

    /// Parses an alert from a JSON document in flockrelay's own form or as a Canary
    /// console incident. `now` stands in for a missing timestamp. The document
    /// must be within [`crate::limits`]; the error names the first field that is not.
    pub fn from_value(raw: Value, now: DateTime<Utc>) -> Result<Self, AlertError> {
        let Value::Object(doc) = &raw else {
            return Err(AlertError::NotAnObject { found: json_type(&raw) });
        };
        limits::document(&raw)
            .map_err(|(field, refusal)| AlertError::InvalidField { field, reason: refusal.to_string() })?;
        if is_canary_incident(doc) {
            from_canary(doc, &raw, now)
        } else {
            from_own(doc, &raw, now)
        }
    }

    /// The alert that `flockrelay test` and the `…/test` endpoints send: clearly
    /// labelled as a test so nobody starts an incident over it.
    pub fn test_alert(flock_id: &str, now: DateTime<Utc>) -> Self {
        let mut details = Map::new();
        details
            .insert("purpose".into(), Value::from("Checks that this destination receives flockrelay notifications."));
        Self {
            id: format!("test-{}", uuid::Uuid::now_v7()),
            flock_id: flock_id.to_owned(),
            kind: "flockrelay.test".into(),
            severity: Severity::Info,
            title: "flockrelay test notification".into(),
            description:
                "This is a test notification from flockrelay. If you can read it, the destination is set up correctly."
                    .into(),
            timestamp: now,
            actor: Actor { ip: None, name: Some("flockrelay".into()) },
            target: Target::default(),
            details,
            raw: Value::Null,
        }
    }
}

/// Canary console documents use capitalised keys; these are present in every
/// incident it sends (device and token incidents alike).
fn is_canary_incident(doc: &Map<String, Value>) -> bool {
    ["IncidentHash", "Intro", "CanaryID", "CanaryName", "Description"].iter().any(|key| doc.contains_key(*key))
}

fn from_own(doc: &Map<String, Value>, raw: &Value, now: DateTime<Utc>) -> Result<Alert, AlertError> {
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

fn from_canary(doc: &Map<String, Value>, raw: &Value, now: DateTime<Utc>) -> Result<Alert, AlertError> {
    let description = required_str(doc, "Description")?;
    let device = optional_str(doc, "CanaryName", "CanaryName")?;
    let token = doc.contains_key("Token") || doc.contains_key("Memo");
    let kind = match optional_str(doc, "AlertType", "AlertType")? {
        Some(alert_type) => alert_type,
        None if token => "canarytoken.incident".to_owned(),
        None => "canary.incident".to_owned(),
    };
    let title = match (&device, doc.get("Memo").and_then(Value::as_str)) {
        (Some(device), _) => format!("{description} on {device}"),
        (None, Some(memo)) if !memo.is_empty() => format!("{description}: {memo}"),
        _ => description.clone(),
    };
    let timestamp = match optional_timestamp(doc.get("Timestamp"), "Timestamp")? {
        Some(timestamp) => Some(timestamp),
        None => optional_timestamp(doc.get("Time"), "Time")?,
    };
    let mut details = Map::new();
    match doc.get("AdditionalDetails") {
        None | Some(Value::Null) => {}
        Some(Value::Array(pairs)) => {
            for (index, pair) in pairs.iter().enumerate() {
                match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(key), value]) => {
                        details.insert(key.clone(), value.clone());
                    }
                    _ => {
                        return Err(AlertError::InvalidField {
                            field: format!("AdditionalDetails[{index}]"),
                            reason: "expected a [name, value] pair".into(),
                        })
                    }
                }
            }
        }
        Some(Value::Object(map)) => details.extend(map.clone()),
        Some(other) => return Err(wrong_type("AdditionalDetails", "a list of [name, value] pairs", other)),
    }
    for key in ["CanaryLocation", "Memo", "Manage", "IncidentKey"] {
        if let Some(Value::String(text)) = doc.get(key) {
            if !text.is_empty() {
                details.insert(key.to_owned(), Value::from(text.as_str()));
            }
        }
    }
    Ok(Alert {
        id: optional_str(doc, "IncidentHash", "IncidentHash")?
            .filter(|hash| !hash.is_empty())
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string()),
        flock_id: optional_str(doc, "flock_id", "flock_id")?.unwrap_or_else(|| DEFAULT_FLOCK.to_owned()),
        kind,
        severity: Severity::High,
        title,
        description: optional_str(doc, "Intro", "Intro")?.unwrap_or_else(|| description.clone()),
        timestamp: timestamp.unwrap_or(now),
        actor: Actor {
            ip: optional_str(doc, "SourceIP", "SourceIP")?.filter(|ip| !ip.is_empty()),
            name: optional_str(doc, "ReverseDNS", "ReverseDNS")?.filter(|name| !name.is_empty()),
        },
        target: Target {
            name: device,
            ip: optional_str(doc, "CanaryIP", "CanaryIP")?.filter(|ip| !ip.is_empty()),
            port: optional_port(doc.get("CanaryPort"), "CanaryPort")?,
            id: optional_str(doc, "CanaryID", "CanaryID")?,
        },
        details,
        raw: raw.clone(),
    })
}

fn required_str(doc: &Map<String, Value>, field: &'static str) -> Result<String, AlertError> {
    match doc.get(field) {
        None | Some(Value::Null) => Err(AlertError::MissingField { field }),
        Some(Value::String(text)) if text.trim().is_empty() => {
            Err(AlertError::InvalidField { field: field.into(), reason: "must not be empty".into() })
        }
        Some(Value::String(text)) => within_limit(field, text.clone()),
        Some(other) => Err(wrong_type(field, "a string", other)),
    }
}

/// A string field that may be absent; numbers are accepted and kept as text
/// (senders are loose about ids).
fn optional_str(doc: &Map<String, Value>, path: &str, key: &str) -> Result<Option<String>, AlertError> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => within_limit(path, text.clone()).map(Some),
        Some(Value::Number(number)) => within_limit(path, number.to_string()).map(Some),
        Some(other) => Err(wrong_type(path, "a string", other)),
    }
}

/// `text` if it is within the limit of the field at `path` ([`limits::alert_field`]).
fn within_limit(path: &str, text: String) -> Result<String, AlertError> {
    limits::text(&text, limits::alert_field(path))
        .map_err(|refusal| AlertError::InvalidField { field: path.into(), reason: refusal.to_string() })?;
    Ok(text)
}

fn optional_port(value: Option<&Value>, field: &str) -> Result<Option<u16>, AlertError> {
    let invalid = |reason: String| AlertError::InvalidField { field: field.into(), reason };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_u64()
            .and_then(|port| u16::try_from(port).ok())
            .map(Some)
            .ok_or_else(|| invalid(format!("{number} is not a port number (0-65535)"))),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => text
            .trim()
            .parse::<u16>()
            .map(Some)
            .map_err(|_| invalid(format!("`{text}` is not a port number (0-65535)"))),
        Some(other) => Err(wrong_type(field, "a port number", other)),
    }
}

/// Accepts RFC 3339, epoch seconds (number or numeric string) and the Canary
/// console's `2021-05-06 10:14:39 (UTC)` form.
fn optional_timestamp(value: Option<&Value>, field: &str) -> Result<Option<DateTime<Utc>>, AlertError> {
    let invalid = |shown: String| AlertError::InvalidField {
        field: field.into(),
        reason: format!("{shown} is not a timestamp (RFC 3339, epoch seconds, or `YYYY-MM-DD HH:MM:SS (UTC)`)"),
    };
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => {
            number.as_f64().and_then(epoch_seconds).map(Some).ok_or_else(|| invalid(number.to_string()))
        }
        Some(Value::String(text)) => parse_timestamp(text).map(Some).ok_or_else(|| invalid(format!("`{text}`"))),
        Some(other) => Err(wrong_type(field, "a timestamp", other)),
    }
}

fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(text) {
        return Some(parsed.with_timezone(&Utc));
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return epoch_seconds(seconds);
    }
    let naive = text.strip_suffix("(UTC)").or_else(|| text.strip_suffix("UTC")).unwrap_or(text).trim();
    NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(naive, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
        .map(|naive| Utc.from_utc_datetime(&naive))
}

fn epoch_seconds(seconds: f64) -> Option<DateTime<Utc>> {
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    // Milliseconds are common enough to deserve recognising (13 digits).
    let seconds = if seconds > 1e11 { seconds / 1000.0 } else { seconds };
    let whole = seconds.trunc() as i64;
    let nanos = ((seconds - seconds.trunc()) * 1e9).round() as u32;
    Utc.timestamp_opt(whole, nanos.min(999_999_999)).single()
}

fn wrong_type(field: &str, expected: &str, found: &Value) -> AlertError {
    AlertError::InvalidField { field: field.into(), reason: format!("expected {expected}, got {}", json_type(found)) }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("valid date")
    }

    #[test]
    fn own_form_keeps_every_field_and_unknown_ones_in_raw() {
        let doc = json!({
            "id": "a-1", "flock_id": "flock:soc", "kind": "ids.alert", "severity": "critical",
            "title": "Lateral movement", "description": "SMB sweep", "timestamp": "2026-01-01T00:00:00Z",
            "source": {"ip": "10.1.1.1", "name": "ws-17"}, "target": {"name": "fs01", "ip": "10.0.0.5", "port": 445},
            "details": {"rule": 42}, "vendor_extra": {"kept": true}
        });
        let alert = Alert::from_value(doc.clone(), now()).expect("valid alert");
        assert_eq!(alert.id, "a-1");
        assert_eq!(alert.flock_id, "flock:soc");
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.target.port, Some(445));
        assert_eq!(alert.details["rule"], 42);
        assert_eq!(alert.raw["vendor_extra"]["kept"], true);
        assert_eq!(alert.timestamp.to_rfc3339(), "2026-01-01T00:00:00+00:00");
    }

    #[test]
    fn own_form_defaults_flock_timestamp_and_severity() {
        let alert = Alert::from_value(json!({"kind": "x", "title": "t"}), now()).expect("valid alert");
        assert_eq!(alert.flock_id, DEFAULT_FLOCK);
        assert_eq!(alert.timestamp, now());
        assert_eq!(alert.severity, Severity::Medium);
        assert!(!alert.id.is_empty());
    }

    #[test]
    fn missing_required_fields_are_named() {
        assert_eq!(Alert::from_value(json!({"title": "t"}), now()), Err(AlertError::MissingField { field: "kind" }));
        assert_eq!(Alert::from_value(json!({"kind": "k"}), now()), Err(AlertError::MissingField { field: "title" }));
        assert_eq!(
            Alert::from_value(json!({"Intro": "x"}), now()),
            Err(AlertError::MissingField { field: "Description" })
        );
    }

    #[test]
    fn invalid_fields_are_named() {
        let cases = [
            (json!({"kind": "k", "title": "t", "severity": "urgent"}), "severity"),
            (json!({"kind": "k", "title": "t", "target": {"port": 70000}}), "target.port"),
            (json!({"kind": "k", "title": "t", "timestamp": "yesterday"}), "timestamp"),
            (json!({"kind": 5, "title": "t"}), "kind"),
            (json!({"Description": "d", "AdditionalDetails": [["only-one"]]}), "AdditionalDetails[0]"),
        ];
        for (doc, field) in cases {
            match Alert::from_value(doc.clone(), now()) {
                Err(AlertError::InvalidField { field: named, .. }) => assert_eq!(named, field, "{doc}"),
                other => panic!("{doc}: expected InvalidField({field}), got {other:?}"),
            }
        }
        assert_eq!(Alert::from_value(json!([1]), now()), Err(AlertError::NotAnObject { found: "an array" }));
    }

    #[test]
    fn the_limits_apply_to_both_forms_naming_the_field() {
        let refused = |doc: Value| match Alert::from_value(doc.clone(), now()) {
            Err(AlertError::InvalidField { field, reason }) => format!("{field}: {reason}"),
            other => panic!("{doc}: expected a refusal, got {other:?}"),
        };
        let nul = "a\u{0}b";
        assert_eq!(refused(json!({"kind": "k", "title": nul})), "title: must not contain NUL characters (U+0000)");
        assert_eq!(
            refused(json!({"kind": "k", "title": "t", "source": {"name": nul}})),
            format!("source.name: {}", limits::Refusal::Nul)
        );
        assert_eq!(
            refused(json!({"Description": "d", "CanaryName": nul})),
            "CanaryName: must not contain NUL characters (U+0000)"
        );
        assert_eq!(
            refused(json!({"kind": "k", "title": "t", "id": "i".repeat(257)})),
            "id: must be at most 256 characters"
        );
        assert_eq!(
            refused(json!({"Description": "d", "IncidentHash": "h".repeat(257)})),
            "IncidentHash: must be at most 256 characters"
        );
        assert_eq!(refused(json!({"kind": "k".repeat(257), "title": "t"})), "kind: must be at most 256 characters");
        assert!(Alert::from_value(json!({"kind": "k", "title": "t", "id": "i".repeat(256)}), now()).is_ok());
        assert!(
            Alert::from_value(json!({"kind": "k", "title": "t", "id": "é".repeat(256)}), now()).is_ok(),
            "characters, not bytes"
        );
    }

    #[test]
    fn canary_incident_is_normalized() {
        let doc = json!({
            "Description": "Port Scan", "Intro": "A portscan was detected on your Canary fs-canary.",
            "IncidentHash": "b6a1c0c5", "Timestamp": "2021-05-06 10:14:39 (UTC)",
            "SourceIP": "192.0.2.7", "ReverseDNS": "scanner.example", "CanaryName": "fs-canary",
            "CanaryIP": "10.0.0.9", "CanaryPort": "445", "CanaryID": "000222", "flock_id": "flock:dc",
            "AdditionalDetails": [["Ports", "22, 80, 445"], ["Scan type", "NMAP"]], "SomethingNew": 1
        });
        let alert = Alert::from_value(doc, now()).expect("valid incident");
        assert_eq!(alert.id, "b6a1c0c5");
        assert_eq!(alert.kind, "canary.incident");
        assert_eq!(alert.title, "Port Scan on fs-canary");
        assert_eq!(alert.flock_id, "flock:dc");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.timestamp.to_rfc3339(), "2021-05-06T10:14:39+00:00");
        assert_eq!(alert.actor.ip.as_deref(), Some("192.0.2.7"));
        assert_eq!(alert.target.port, Some(445));
        assert_eq!(alert.details["Scan type"], "NMAP");
        assert_eq!(alert.raw["SomethingNew"], 1);
    }

    #[test]
    fn labels_show_whatever_is_known() {
        let source =
            |ip: Option<&str>, name: Option<&str>| Actor { ip: ip.map(Into::into), name: name.map(Into::into) };
        assert_eq!(source(Some("1.2.3.4"), Some("h")).label().as_deref(), Some("1.2.3.4 (h)"));
        assert_eq!(source(None, Some("h")).label().as_deref(), Some("h"));
        assert_eq!(source(None, None).label(), None);
        let target = Target { name: Some("fs".into()), ip: Some("10.0.0.1".into()), port: Some(445), id: None };
        assert_eq!(target.label().as_deref(), Some("fs 10.0.0.1:445"));
        assert_eq!(Target { name: None, ..target.clone() }.label().as_deref(), Some("10.0.0.1:445"));
        assert_eq!(Target { ip: None, ..target }.label().as_deref(), Some("fs"));
    }

    #[test]
    fn timestamps_in_every_accepted_form() {
        let expected = Utc.with_ymd_and_hms(2022, 1, 3, 18, 29, 27).single();
        for value in [json!(1641234567), json!("1641234567"), json!(1641234567000_u64), json!("2022-01-03T18:29:27Z")] {
            assert_eq!(optional_timestamp(Some(&value), "t").expect("parses"), expected, "{value}");
        }
    }
}
