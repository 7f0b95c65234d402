//! Configuration errors as people read them: the key, what was expected, and
//! for a value from the environment the variable's name — never the value.
//!
//! Deserialization errors come from figment, whose own messages quote the
//! offending value (`invalid type: found string "whsec_…"`), and from crates
//! such as `url`, which do the same. A value can be a secret (a token given to
//! the wrong key, a Slack URL without its scheme), so these messages are
//! rebuilt from the error's kind and path, and a crate's free-form message has
//! the value cut out before it is shown. Syntax errors in the file are reported
//! by line and column, without the excerpt of the line that TOML parsers print.

use figment::error::{Actual, Kind};
use figment::Figment;

use super::validate::Problem;
use super::ENV_PREFIX;

/// Every error in `error`, as problems naming their keys. `figment` is the
/// merged configuration the errors came from (to find values to cut out).
pub fn problems(error: figment::Error, figment: &Figment) -> Vec<Problem> {
    error.into_iter().map(|error| problem(&error, figment)).collect()
}

fn problem(error: &figment::Error, figment: &Figment) -> Problem {
    let mut path = error.path.clone();
    if let Kind::MissingField(name) = &error.kind {
        path.push(name.to_string());
    }
    if let Kind::DuplicateField(name) = &error.kind {
        path.push((*name).to_owned());
    }
    let key = if path.is_empty() { "(top level)".to_owned() } else { dotted(&path) };
    let last = path.last().map(String::as_str).unwrap_or_default();
    let reason = match &error.kind {
        Kind::Message(message) => message_reason(message, &error.path, figment),
        Kind::InvalidType(actual, expected) => {
            format!("must be {}, not {}", expectation(expected, last), kind_of(actual))
        }
        Kind::InvalidValue(_, expected) => format!("must be {}", expectation(expected, last)),
        Kind::InvalidLength(found, expected) => {
            format!("must be {} (found {found} entries)", expectation(expected, last))
        }
        Kind::UnknownVariant(_, known) => format!("must be one of {}", quoted_list(known)),
        Kind::UnknownField(_, &[]) => "is not a known key".to_owned(),
        Kind::UnknownField(_, known) => format!("is not a known key (known here: {})", quoted_list(known)),
        Kind::MissingField(_) => "is required".to_owned(),
        Kind::DuplicateField(_) => "is given more than once".to_owned(),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "is out of range".to_owned(),
        Kind::Unsupported(actual) => format!("cannot be {}", kind_of(actual)),
        Kind::UnsupportedKey(..) => "has a key that is not text".to_owned(),
    };
    let from_environment = error.metadata.as_ref().is_some_and(|metadata| metadata.name.contains("environment"));
    let reason = if from_environment && !path.is_empty() {
        format!("{reason} (environment variable {})", variable_name(&path))
    } else {
        reason
    };
    Problem { key, reason }
}

/// The environment variable that sets the key at `path`.
pub fn variable_name(path: &[String]) -> String {
    format!("{ENV_PREFIX}{}", path.iter().map(|part| part.to_ascii_uppercase()).collect::<Vec<_>>().join("__"))
}

/// `destinations.x.slack.url`; parts other than `a-z 0-9 _ -` are quoted
/// (`flocks."flock:dc"`), as the validation problems write them.
fn dotted(path: &[String]) -> String {
    path.iter()
        .map(|part| {
            let plain = !part.is_empty() && part.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
            if plain {
                part.clone()
            } else {
                format!("\"{}\"", part.escape_debug())
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A crate's own message, with the value at `path` cut out wherever it is
/// quoted. When the value cannot be found, the message is not shown at all.
fn message_reason(message: &str, path: &[String], figment: &Figment) -> String {
    let value = if path.is_empty() { None } else { figment.find_value(&path.join(".")).ok() };
    let Some(value) = value else {
        return "has an invalid value".to_owned();
    };
    let mut text = message.to_owned();
    if let Some(value) = value.as_str().filter(|value| !value.is_empty()) {
        text = text.replace(&format!("{value:?}"), "").replace(value, "");
    }
    let text = text.trim().trim_end_matches(':').trim();
    if text.is_empty() {
        return "has an invalid value".to_owned();
    }
    if path.last().is_some_and(|last| last == "url") {
        return format!("is not a valid URL ({text})");
    }
    text.to_owned()
}

/// What serde says it expected, in the words of the configuration file.
fn expectation(expected: &str, key: &str) -> String {
    let whole = |max: &str| format!("a whole number from 0 to {max}");
    match expected {
        "u16" if key == "port" => "1-65535".to_owned(),
        "u8" => whole("255"),
        "u16" => whole("65535"),
        "u32" => whole("4294967295"),
        "u64" | "usize" => "a whole number, 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a sequence" => "a list".to_owned(),
        "a map" => "a table".to_owned(),
        "path string" => "a path".to_owned(),
        "a string" | "a borrowed string" => "text".to_owned(),
        other if other.starts_with("struct ") => "a table".to_owned(),
        other => other.to_owned(),
    }
}

/// What kind of value was found, without the value.
fn kind_of(actual: &Actual) -> &'static str {
    match actual {
        Actual::Bool(_) => "true or false",
        Actual::Unsigned(_) | Actual::Signed(_) => "a whole number",
        Actual::Float(_) => "a number",
        Actual::Char(_) | Actual::Str(_) => "text",
        Actual::Bytes(_) => "bytes",
        Actual::Unit | Actual::Option => "empty",
        Actual::Seq => "a list",
        Actual::Map | Actual::StructVariant => "a table",
        _ => "this kind of value",
    }
}

fn quoted_list(names: &[&str]) -> String {
    names.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", ")
}

/// Where a syntax error is: 1-based line and column of a byte offset.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |last| last.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        assert_eq!(line_and_column("a = 1\nb = ", 0), (1, 1));
        assert_eq!(line_and_column("a = 1\nb = ", 8), (2, 3));
        assert_eq!(line_and_column("a", 99), (1, 2));
    }

    #[test]
    fn keys_outside_plain_names_are_quoted() {
        let path = |parts: &[&str]| parts.iter().map(|part| (*part).to_owned()).collect::<Vec<_>>();
        assert_eq!(dotted(&path(&["flocks", "flock:dc", "name"])), "flocks.\"flock:dc\".name");
        assert_eq!(dotted(&path(&["delivery", "timeout"])), "delivery.timeout");
        assert_eq!(variable_name(&path(&["delivery", "timeout"])), "FLOCKRELAY_DELIVERY__TIMEOUT");
    }
}
