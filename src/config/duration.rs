//! Durations in configuration: `"250ms"`, `"10s"`, `"5m"`, `"2h"`, `"1d"`, or a
//! plain number of seconds.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as text (`"10s"`) or a number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub Duration);

/// The longest duration a configuration may give: 100 years.
pub const MAX: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Why a duration longer than [`MAX`] is refused.
const TOO_LONG: &str = "must be at most 100 years";

/// What a duration looks like, for error messages (which never quote the value).
const EXPECTED: &str = "a duration such as 500ms, 10s, 5m, 2h or 1d, or a number of seconds";

impl Seconds {
    /// Parses `"250ms"`, `"10s"`, `"5m"`, `"2h"`, `"1d"` or a plain number of
    /// seconds. The error says what is expected, without the text given.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text.find(|ch: char| !(ch.is_ascii_digit() || ch == '.')).unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number.parse().map_err(|_| format!("must be {EXPECTED}"))?;
        let factor = match unit.trim() {
            "ms" => 0.001,
            "" | "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            _ => return Err(format!("has an unknown unit: use ms, s, m, h or d, as in {EXPECTED}")),
        };
        Self::from_secs_f64(value * factor)
    }

    fn from_secs_f64(seconds: f64) -> Result<Self, String> {
        if seconds.is_finite() && seconds > MAX.as_secs_f64() {
            return Err(TOO_LONG.to_owned());
        }
        let duration =
            Duration::try_from_secs_f64(seconds).map_err(|_| format!("must be {EXPECTED}, 0 or more and finite"))?;
        Self::bounded(duration)
    }

    /// Every configured duration is at most [`MAX`]: longer ones are mistakes,
    /// and clocks and timers overflow somewhere past a few hundred thousand years.
    fn bounded(duration: Duration) -> Result<Self, String> {
        if duration > MAX {
            return Err(TOO_LONG.to_owned());
        }
        Ok(Self(duration))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;

        impl serde::de::Visitor<'_> for SecondsVisitor {
            type Value = Seconds;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str(EXPECTED)
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Seconds, E> {
                Seconds::parse(text).map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, seconds: u64) -> Result<Seconds, E> {
                Seconds::bounded(Duration::from_secs(seconds)).map_err(E::custom)
            }

            fn visit_i64<E: serde::de::Error>(self, seconds: i64) -> Result<Seconds, E> {
                let seconds =
                    u64::try_from(seconds).map_err(|_| E::custom(format!("must be {EXPECTED}, 0 or more")))?;
                self.visit_u64(seconds)
            }

            fn visit_f64<E: serde::de::Error>(self, seconds: f64) -> Result<Seconds, E> {
                Seconds::from_secs_f64(seconds).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(SecondsVisitor)
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
        assert!(Seconds::parse("1e400s").is_err(), "out of range is an error, not a panic");
        assert_eq!(Seconds::parse("36500d"), Ok(Seconds(Duration::from_secs(36_500 * 86_400))));
        for too_long in ["36501d", "100000000d", "18446744073709551615s", "99999999999999999999999999d"] {
            assert_eq!(Seconds::parse(too_long), Err("must be at most 100 years".to_owned()), "{too_long}");
        }
        for bad in ["ten", "5 weeks", "secret-value-9"] {
            let error = Seconds::parse(bad).expect_err("refused");
            assert!(!error.contains(bad), "the value is not echoed: {error}");
        }
    }
}
