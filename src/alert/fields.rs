//! Reading typed fields out of an alert document, whichever form it is in: a
//! required or optional string (within its [`crate::limits`] length), a port,
//! a timestamp in any of the accepted forms; errors name the field. Pure.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use super::AlertError;
use crate::limits;

/// A string field that must be present and not blank.
pub(super) fn required_str(doc: &Map<String, Value>, field: &'static str) -> Result<String, AlertError> {
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
pub(super) fn optional_str(doc: &Map<String, Value>, path: &str, key: &str) -> Result<Option<String>, AlertError> {
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

/// A port number, as a number or numeric text; blank text is none.
pub(super) fn optional_port(value: Option<&Value>, field: &str) -> Result<Option<u16>, AlertError> {
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
pub(super) fn optional_timestamp(value: Option<&Value>, field: &str) -> Result<Option<DateTime<Utc>>, AlertError> {
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

/// Text in any of the forms [`optional_timestamp`] accepts.
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

/// Seconds (or milliseconds) since the epoch; none when negative or not finite.
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

/// The refusal of a field of the wrong JSON type.
pub(super) fn wrong_type(field: &str, expected: &str, found: &Value) -> AlertError {
    AlertError::InvalidField { field: field.into(), reason: format!("expected {expected}, got {}", json_type(found)) }
}

/// A JSON value's type, as error messages name it.
pub(super) fn json_type(value: &Value) -> &'static str {
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

    #[test]
    fn timestamps_in_every_accepted_form() {
        let expected = Utc.with_ymd_and_hms(2022, 1, 3, 18, 29, 27).single();
        for value in [json!(1641234567), json!("1641234567"), json!(1641234567000_u64), json!("2022-01-03T18:29:27Z")] {
            assert_eq!(optional_timestamp(Some(&value), "t").expect("parses"), expected, "{value}");
        }
    }
}
