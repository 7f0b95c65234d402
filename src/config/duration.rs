//! Durations in configuration: `"250ms"`, `"10s"`, `"5m"`, `"2h"`, `"1d"`, or a
//! plain number of seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as text (`"10s"`) or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub Duration);

impl Seconds {
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|ch: char| !(ch.is_ascii_digit() || ch == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 =
            number.parse().map_err(|_| format!("`{text}` is not a duration (use e.g. 500ms, 10s, 5m, 2h, 1d)"))?;
        let factor = match unit.trim() {
            "ms" => 0.001,
            "" | "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            other => return Err(format!("unknown duration unit `{other}` in `{text}` (use ms, s, m, h or d)")),
        };
        Duration::try_from_secs_f64(value * factor).map(Self).map_err(|_| format!("`{text}` is out of range"))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(f64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(seconds) => Duration::try_from_secs_f64(seconds)
                .map(Seconds)
                .map_err(|_| serde::de::Error::custom(format!("{seconds} is not a valid number of seconds"))),
            Raw::Text(text) => Seconds::parse(&text).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        for (text, expected) in [
            ("250ms", 0.25),
            ("10s", 10.0),
            ("10", 10.0),
            ("1.5s", 1.5),
            ("5m", 300.0),
            ("2h", 7200.0),
            ("1d", 86_400.0),
        ] {
            assert_eq!(Seconds::parse(text), Ok(Seconds(Duration::from_secs_f64(expected))), "{text}");
        }
        assert!(Seconds::parse("ten").is_err());
        assert!(Seconds::parse("5 weeks").is_err());
        assert!(Seconds::parse("-1s").is_err());
    }
}
