//! What the relay accepts from outside, decided once: the longest id,
//! idempotency key, flock id, kind, title and description of an alert, how deep
//! its JSON may nest, and that no text anywhere holds a NUL character. Every
//! entry point — `POST /api/v1/alerts`, `/hooks/…` (through the mapped alert),
//! the operator, sources and management APIs, the CLI — checks its input here
//! before the store sees it, so that bad input is a 4xx naming the field on
//! every store engine (PostgreSQL refuses NUL in text and index entries past
//! about 2,700 bytes; SQLite takes both), never a 5xx that makes a sender retry
//! the same poison forever.
//!
//! Pure: no I/O. Callers name the field; this module says what is wrong with it.

use serde_json::Value;

/// Longest alert id a sender may give (`id`, Canary `IncidentHash`, the id a
/// mapping template produces), in characters. The stored id adds the origin's
/// prefix (see [`crate::origin`]).
pub const ALERT_ID: usize = 256;

/// Longest `Idempotency-Key` header, in (visible ASCII) characters.
pub const IDEMPOTENCY_KEY: usize = 255;

/// Longest flock id (`flock_id`, and flock ids in API parameters).
pub const FLOCK_ID: usize = 128;

/// Longest alert kind (`kind`, Canary `AlertType`): destinations filter on it.
pub const KIND: usize = 256;

/// Longest title (`title`, Canary `Description`).
pub const TITLE: usize = 4_096;

/// Longest description (`description`, Canary `Intro`).
pub const DESCRIPTION: usize = 65_536;

/// Longest other named alert field (`source.ip`, `target.name`, `CanaryName` …).
/// `details` values are bounded only by `server.body_limit`.
pub const FIELD: usize = 1_024;

/// How deep the JSON of one alert may nest, the alert object itself counting as
/// one level (`details` is the second).
pub const DEPTH: usize = 32;

/// Longest id looked up by the API and the CLI (message, destination and
/// source ids in paths and filters, the `alert` filter): longer than any id
/// the relay stores, so a longer one names nothing.
pub const LOOKUP_ID: usize = 400;

/// What is wrong with a value. The caller adds the field's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must not contain NUL characters (U+0000)")]
    Nul,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("nests deeper than {max} levels")]
    TooDeep { max: usize },
}

/// A text field: no NUL, at most `max` characters.
pub fn text(value: &str, max: usize) -> Result<(), Refusal> {
    if value.contains('\0') {
        return Err(Refusal::Nul);
    }
    if value.chars().count() > max {
        return Err(Refusal::TooLong { max });
    }
    Ok(())
}

/// The limit of a named field of either alert form (dotted path for nested
/// fields of our own form).
pub fn alert_field(path: &str) -> usize {
    match path {
        "id" | "IncidentHash" => ALERT_ID,
        "flock_id" => FLOCK_ID,
        "kind" | "AlertType" => KIND,
        "title" | "Description" => TITLE,
        "description" | "Intro" => DESCRIPTION,
        _ => FIELD,
    }
}

/// A whole JSON document (an alert, a source): no string or key anywhere holds
/// a NUL, and it nests at most [`DEPTH`] levels. On failure, the path of the
/// first offending value (`details.rule`, `AdditionalDetails[0][1]`; for depth,
/// the top-level field that nests too deep) with what is wrong.
pub fn document(value: &Value) -> Result<(), (String, Refusal)> {
    walk(value, &mut String::new(), 1)
}

fn walk(value: &Value, path: &mut String, depth: usize) -> Result<(), (String, Refusal)> {
    let too_deep = |path: &str| {
        let top = path.split(['.', '[']).next().unwrap_or_default();
        Err((top.to_owned(), Refusal::TooDeep { max: DEPTH }))
    };
    match value {
        Value::String(text) if text.contains('\0') => Err((path.clone(), Refusal::Nul)),
        Value::Object(_) | Value::Array(_) if depth > DEPTH => too_deep(path),
        Value::Object(map) => {
            for (key, item) in map {
                let length = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                if key.contains('\0') {
                    path.extend(key.escape_debug());
                    return Err((path.clone(), Refusal::Nul));
                }
                path.push_str(key);
                walk(item, path, depth + 1)?;
                path.truncate(length);
            }
            Ok(())
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let length = path.len();
                path.push_str(&format!("[{index}]"));
                walk(item, path, depth + 1)?;
                path.truncate(length);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn text_refuses_nul_first_then_length() {
        assert_eq!(text("fine", 4), Ok(()));
        assert_eq!(text("fïne", 4), Ok(()), "characters, not bytes");
        assert_eq!(text("toolong", 4), Err(Refusal::TooLong { max: 4 }));
        assert_eq!(text("a\0", 4), Err(Refusal::Nul));
        assert_eq!(text("toolong\0", 4), Err(Refusal::Nul));
    }

    #[test]
    fn documents_name_the_path_of_a_nul() {
        assert_eq!(document(&json!({"a": [1, {"b": "x"}]})), Ok(()));
        assert_eq!(document(&json!({"title": "a\u{0}"})), Err(("title".into(), Refusal::Nul)));
        assert_eq!(
            document(&json!({"details": {"list": [1, {"x": "\u{0}"}]}})),
            Err(("details.list[1].x".into(), Refusal::Nul))
        );
        assert_eq!(
            document(&json!({"AdditionalDetails": [["k", "\u{0}"]]})).map_err(|(path, _)| path),
            Err("AdditionalDetails[0][1]".into())
        );
        assert_eq!(document(&json!({"details": {"a\u{0}b": 1}})), Err(("details.a\\0b".into(), Refusal::Nul)));
    }

    #[test]
    fn documents_nest_at_most_depth_levels() {
        let nested = |levels: usize| {
            let mut value = json!("x");
            for _ in 0..levels {
                value = json!({ "a": value });
            }
            value
        };
        assert_eq!(document(&nested(DEPTH)), Ok(()));
        assert_eq!(document(&json!({"details": nested(DEPTH - 1)})), Ok(()));
        assert_eq!(
            document(&json!({"details": nested(DEPTH)})),
            Err(("details".into(), Refusal::TooDeep { max: DEPTH }))
        );
    }
}
