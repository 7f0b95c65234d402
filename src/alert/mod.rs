//! The normalized alert every source is turned into, and the two JSON forms it is
//! parsed from: flockrelay's own form (`own.rs`) and the incident document a Canary
//! console posts to a generic webhook (`canary.rs`). This file owns the types and
//! the choice between the forms; `fields.rs` reads typed fields out of either.
//!
//! Pure data: no I/O. Unknown fields are never rejected; the whole input document
//! stays available to templates as `alert.raw`. Every document passes
//! [`crate::limits`] first (no NUL anywhere, nesting, field lengths), whichever
//! origin it comes from.

mod canary;
mod fields;
mod own;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::limits;
use canary::{from_canary, is_canary_incident};
use fields::json_type;
use own::from_own;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("valid date")
    }

    use crate::flock::DEFAULT_FLOCK;
    use chrono::TimeZone;
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
}
