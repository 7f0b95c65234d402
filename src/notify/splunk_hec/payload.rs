//! The HEC event envelope around a rendered event: `time` in epoch seconds from
//! the alert's timestamp, plus `host`, `source`, `sourcetype` and `index` from the
//! destination's settings when set.

use serde_json::{Map, Number, Value};

use super::config::SplunkSettings;
use crate::alert::Alert;

/// Wraps `event` in the HEC envelope.
pub fn envelope(settings: &SplunkSettings, alert: &Alert, event: Value) -> Value {
    let mut envelope = Map::new();
    envelope.insert("time".into(), epoch_seconds(alert));
    let optional = [
        ("host", &settings.event_host),
        ("source", &settings.source),
        ("sourcetype", &settings.sourcetype),
        ("index", &settings.index),
    ];
    for (key, value) in optional {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            envelope.insert(key.into(), Value::from(value));
        }
    }
    envelope.insert("event".into(), event);
    Value::Object(envelope)
}

/// Whole seconds when the timestamp has no fraction, else seconds with millisecond
/// precision (HEC accepts both).
fn epoch_seconds(alert: &Alert) -> Value {
    let millis = alert.timestamp.timestamp_millis();
    if millis % 1000 == 0 {
        Value::from(millis / 1000)
    } else {
        Number::from_f64(millis as f64 / 1000.0).map_or_else(|| Value::from(millis / 1000), Value::Number)
    }
}
