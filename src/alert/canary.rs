//! The incident document a Canary console posts to a generic webhook
//! (capitalised keys: `Description`, `CanaryName`, `AdditionalDetails` …) turned
//! into an [`Alert`]: kind, title and timestamp from whichever fields a device or
//! token incident carries, its extra fields as details. Pure.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::fields::{optional_port, optional_str, optional_timestamp, required_str, wrong_type};
use super::{Actor, Alert, AlertError, Severity, Target};
use crate::flock::DEFAULT_FLOCK;

/// Canary console documents use capitalised keys; these are present in every
/// incident it sends (device and token incidents alike).
pub(super) fn is_canary_incident(doc: &Map<String, Value>) -> bool {
    ["IncidentHash", "Intro", "CanaryID", "CanaryName", "Description"].iter().any(|key| doc.contains_key(*key))
}

/// A Canary incident as an alert, always of high severity; `now` stands in for
/// a missing timestamp. The first field that is invalid is the one named.
pub(super) fn from_canary(doc: &Map<String, Value>, raw: &Value, now: DateTime<Utc>) -> Result<Alert, AlertError> {
    let description = required_str(doc, "Description")?;
    let device = optional_str(doc, "CanaryName", "CanaryName")?;
    let kind = kind(doc)?;
    let title = title(doc, &description, device.as_deref());
    let timestamp = timestamp(doc)?;
    let details = details(doc)?;
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

/// `AlertType` when the console sends one, else a token or a device incident
/// (a token incident carries `Token` or `Memo`).
fn kind(doc: &Map<String, Value>) -> Result<String, AlertError> {
    let token = doc.contains_key("Token") || doc.contains_key("Memo");
    Ok(match optional_str(doc, "AlertType", "AlertType")? {
        Some(alert_type) => alert_type,
        None if token => "canarytoken.incident".to_owned(),
        None => "canary.incident".to_owned(),
    })
}

/// `Port Scan on fs-canary` for a device; `Description: memo` for a token.
fn title(doc: &Map<String, Value>, description: &str, device: Option<&str>) -> String {
    match (device, doc.get("Memo").and_then(Value::as_str)) {
        (Some(device), _) => format!("{description} on {device}"),
        (None, Some(memo)) if !memo.is_empty() => format!("{description}: {memo}"),
        _ => description.to_owned(),
    }
}

/// `Timestamp`, else `Time` (token incidents), else none.
fn timestamp(doc: &Map<String, Value>) -> Result<Option<DateTime<Utc>>, AlertError> {
    match optional_timestamp(doc.get("Timestamp"), "Timestamp")? {
        Some(timestamp) => Ok(Some(timestamp)),
        None => optional_timestamp(doc.get("Time"), "Time"),
    }
}

/// `AdditionalDetails` (a list of `[name, value]` pairs, or an object), then
/// the console's non-empty `CanaryLocation`, `Memo`, `Manage` and `IncidentKey`.
fn details(doc: &Map<String, Value>) -> Result<Map<String, Value>, AlertError> {
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
    Ok(details)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("valid date")
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
}
