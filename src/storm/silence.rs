//! Silences: mute rules an operator creates with a reason, an author and an
//! expiry. A silence matches an alert when every matcher does; a matcher names
//! an alert field ([`super::FIELDS`], `details.<name>`) and either a value it
//! must equal or a regular expression the whole value must match. Pure: `now`
//! is an argument; storing and listing are the store's.

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{known_field, Facts};

/// Most matchers in one silence.
pub const MAX_MATCHERS: usize = 20;
/// Longest value or pattern of a matcher.
pub const MAX_VALUE: usize = 1000;
/// Longest reason or author.
pub const MAX_TEXT: usize = 1000;

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// The field equals the value.
    Equals,
    /// The whole field matches the regular expression.
    Matches,
}

/// One condition of a silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    pub field: String,
    #[serde(default = "equals")]
    pub op: Op,
    pub value: String,
}

fn equals() -> Op {
    Op::Equals
}

/// A stored silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub reason: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a silence cannot be created; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("field `{field}` is invalid: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> SilenceError {
    SilenceError::Invalid { field: field.into(), reason: reason.into() }
}

/// A silence's matchers, compiled.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub silence: Silence,
    rules: Vec<(String, Rule)>,
}

#[derive(Debug, Clone)]
enum Rule {
    Equals(String),
    Matches(Regex),
    /// A stored pattern that no longer compiles.
    Never,
}

/// Checks a new silence: at least one matcher, known fields, valid patterns,
/// an expiry after `now`, a reason and an author.
pub fn validate(
    matchers: &[Matcher],
    reason: &str,
    author: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), SilenceError> {
    if matchers.is_empty() {
        return Err(invalid("matchers", "at least one matcher is needed (a silence of everything is refused)"));
    }
    if matchers.len() > MAX_MATCHERS {
        return Err(invalid("matchers", format!("at most {MAX_MATCHERS} matchers")));
    }
    for (index, matcher) in matchers.iter().enumerate() {
        if !known_field(&matcher.field) {
            return Err(invalid(
                format!("matchers[{index}].field"),
                format!("unknown alert field; use one of {} or details.<name>", super::FIELDS.join(", ")),
            ));
        }
        if matcher.value.chars().count() > MAX_VALUE {
            return Err(invalid(format!("matchers[{index}].value"), format!("at most {MAX_VALUE} characters")));
        }
        if matcher.op == Op::Matches {
            anchored(&matcher.value).map_err(|error| {
                invalid(format!("matchers[{index}].value"), format!("not a regular expression: {error}"))
            })?;
        }
    }
    for (field, text) in [("reason", reason), ("author", author)] {
        if text.trim().is_empty() {
            return Err(invalid(field, "must not be empty"));
        }
        if text.chars().count() > MAX_TEXT || text.contains('\0') {
            return Err(invalid(field, format!("at most {MAX_TEXT} characters, no NUL")));
        }
    }
    if expires_at <= now {
        return Err(invalid("expires_at", "must be in the future"));
    }
    Ok(())
}

/// A pattern that must match the whole value; bounded in size.
fn anchored(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$")).size_limit(1 << 20).build()
}

impl Compiled {
    /// Compiles a stored silence; a pattern that no longer compiles makes the
    /// silence match nothing (it was valid when created).
    pub fn new(silence: Silence) -> Self {
        let rules = silence
            .matchers
            .iter()
            .map(|matcher| {
                let rule = match matcher.op {
                    Op::Equals => Rule::Equals(matcher.value.clone()),
                    Op::Matches => match anchored(&matcher.value) {
                        Ok(regex) => Rule::Matches(regex),
                        Err(_) => Rule::Never,
                    },
                };
                (matcher.field.clone(), rule)
            })
            .collect();
        Self { silence, rules }
    }

    /// Whether the silence applies to an alert with these facts at `now`.
    pub fn matches(&self, facts: &Facts, now: DateTime<Utc>) -> bool {
        active(&self.silence, now)
            && !self.rules.is_empty()
            && self.rules.iter().all(|(field, rule)| {
                let value = facts.get(field).unwrap_or_default();
                match rule {
                    Rule::Equals(expected) => value == expected,
                    Rule::Matches(regex) => regex.is_match(value),
                    Rule::Never => false,
                }
            })
    }
}

/// Whether a silence is in force at `now`.
pub fn active(silence: &Silence, now: DateTime<Utc>) -> bool {
    silence.created_at <= now && now < silence.expires_at
}

/// The first silence in force that matches.
pub fn first_match<'a>(silences: &'a [Compiled], facts: &Facts, now: DateTime<Utc>) -> Option<&'a Silence> {
    silences.iter().find(|silence| silence.matches(facts, now)).map(|compiled| &compiled.silence)
}

/// What a silenced message's log says.
pub fn reason(silence: &Silence) -> String {
    format!(
        "Silenced by {} ({}, by {}, until {})",
        silence.id,
        silence.reason,
        silence.author,
        silence.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, minute, 0).single().expect("valid time")
    }

    fn facts(pairs: &[(&str, &str)]) -> Facts {
        Facts(pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect())
    }

    fn silence(matchers: Vec<Matcher>) -> Compiled {
        Compiled::new(Silence {
            id: "sil_1".into(),
            matchers,
            reason: "pen test".into(),
            author: "ana".into(),
            created_at: at(0),
            expires_at: at(30),
        })
    }

    fn matcher(field: &str, op: Op, value: &str) -> Matcher {
        Matcher { field: field.into(), op, value: value.into() }
    }

    #[test]
    fn every_matcher_must_match_while_the_silence_is_in_force() {
        let scan = facts(&[("flock", "flock:lab"), ("kind", "canary.incident"), ("actor.ip", "192.0.2.66")]);
        let other = facts(&[("flock", "flock:lab"), ("kind", "canary.incident"), ("actor.ip", "198.51.100.1")]);
        let cases: [(Vec<Matcher>, &Facts, DateTime<Utc>, bool); 8] = [
            (vec![matcher("flock", Op::Equals, "flock:lab")], &scan, at(10), true),
            (vec![matcher("flock", Op::Equals, "flock:lab")], &scan, at(30), false),
            (vec![matcher("flock", Op::Equals, "flock:lab")], &scan, at(31), false),
            (
                vec![matcher("flock", Op::Equals, "flock:lab"), matcher("actor.ip", Op::Equals, "192.0.2.66")],
                &other,
                at(10),
                false,
            ),
            (vec![matcher("actor.ip", Op::Matches, r"192\.0\.2\.\d+")], &scan, at(10), true),
            (vec![matcher("actor.ip", Op::Matches, r"192\.0\.2")], &scan, at(10), false),
            (vec![matcher("kind", Op::Matches, "canary\\..*")], &other, at(10), true),
            (vec![matcher("details.user", Op::Equals, "")], &scan, at(10), true),
        ];
        for (index, (matchers, facts, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(silence(matchers).matches(facts, now), expected, "case {index}");
        }
    }

    #[test]
    fn creating_a_silence_names_what_is_wrong() {
        let now = at(0);
        let ok = vec![matcher("kind", Op::Equals, "x")];
        let field = |result: Result<(), SilenceError>| match result {
            Err(SilenceError::Invalid { field, .. }) => field,
            Ok(()) => "ok".to_owned(),
        };
        assert_eq!(field(validate(&ok, "r", "a", at(1), now)), "ok");
        assert_eq!(field(validate(&[], "r", "a", at(1), now)), "matchers");
        assert_eq!(field(validate(&[matcher("nope", Op::Equals, "x")], "r", "a", at(1), now)), "matchers[0].field");
        assert_eq!(field(validate(&[matcher("kind", Op::Matches, "(")], "r", "a", at(1), now)), "matchers[0].value");
        assert_eq!(field(validate(&ok, " ", "a", at(1), now)), "reason");
        assert_eq!(field(validate(&ok, "r", "", at(1), now)), "author");
        assert_eq!(field(validate(&ok, "r", "a", now, now)), "expires_at");
    }

    #[test]
    fn the_log_names_the_silence_its_reason_author_and_expiry() {
        let compiled = silence(vec![matcher("kind", Op::Equals, "x")]);
        assert_eq!(reason(&compiled.silence), "Silenced by sil_1 (pen test, by ana, until 2026-01-02 03:30:00 UTC)");
    }
}
