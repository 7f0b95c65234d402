//! The HEC event envelope around a rendered event: `time` in epoch seconds from
//! the alert's timestamp, plus `host`, `source`, `sourcetype` and `index` from the
//! destination's settings when set. Built as text around the already-valid event
//! JSON, so the event is never re-parsed.

use super::config::SplunkHecSettings;
use crate::alert::Alert;

/// Wraps `event` (valid JSON) in the HEC envelope.
pub fn envelope(settings: &SplunkHecSettings, alert: &Alert, event: &str) -> String {
    let mut envelope = String::with_capacity(event.len() + 160);
    envelope.push_str("{\"time\":");
    envelope.push_str(&epoch_seconds(alert));
    let optional = [
        ("host", &settings.event_host),
        ("source", &settings.source),
        ("sourcetype", &settings.sourcetype),
        ("index", &settings.index),
    ];
    for (key, value) in optional {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            envelope.push_str(&format!(",\"{key}\":"));
            envelope.push_str(&serde_json::Value::from(value).to_string());
        }
    }
    envelope.push_str(",\"event\":");
    envelope.push_str(event);
    envelope.push('}');
    envelope
}

/// Whole seconds when the timestamp has no fraction, else seconds with millisecond
/// precision (HEC accepts both).
fn epoch_seconds(alert: &Alert) -> String {
    let millis = alert.timestamp.timestamp_millis();
    let (seconds, fraction) = (millis.div_euclid(1000), millis.rem_euclid(1000));
    if fraction == 0 {
        seconds.to_string()
    } else {
        format!("{seconds}.{fraction:03}")
    }
}
