//! Escaping for the two dialects templates write: JSON strings and Slack mrkdwn.
//!
//! Every `{{ … }}` in a `.json` template is JSON-string-escaped automatically (the
//! escape function below is Tera's autoescape for these templates), so hostile
//! alert text cannot break out of a string. `json` emits a whole JSON value for
//! places outside quotes; `mrkdwn` neutralises Slack's control characters.

use std::collections::HashMap;

use serde_json::Value;
use tera::{Filter, Result as TeraResult};

/// Escapes text for the inside of a JSON string literal (no surrounding quotes).
pub fn escape_json(text: &str) -> String {
    let needs_escaping = |byte: u8| byte < 0x20 || byte == b'"' || byte == b'\\' || byte == 0xE2;
    if !text.bytes().any(needs_escaping) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // U+2028/2029 are valid JSON but break JavaScript consumers.
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            ch if (ch as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", ch as u32)),
            ch => out.push(ch),
        }
    }
    out
}

/// Escapes Slack mrkdwn control characters: `&`, `<` and `>` (Slack's own rule).
pub fn escape_mrkdwn(text: &str) -> String {
    if !text.bytes().any(|byte| matches!(byte, b'&' | b'<' | b'>')) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            ch => out.push(ch),
        }
    }
    out
}

/// `{{ value | mrkdwn }}`: text safe to place in a Slack mrkdwn field.
pub struct Mrkdwn;

impl Filter for Mrkdwn {
    fn filter(&self, value: &Value, _args: &HashMap<String, Value>) -> TeraResult<Value> {
        Ok(Value::String(escape_mrkdwn(&as_text(value))))
    }
}

/// `{{ value | json }}`: the value as a complete JSON literal (strings quoted),
/// exempt from autoescape. Use it outside quotes: `"details": {{ alert.details | json }}`.
pub struct Json;

impl Filter for Json {
    fn filter(&self, value: &Value, _args: &HashMap<String, Value>) -> TeraResult<Value> {
        serde_json::to_string(value).map(Value::String).map_err(tera::Error::json)
    }

    fn is_safe(&self) -> bool {
        true
    }
}

/// `{{ value | text }}`: any value as display text (strings unquoted, others as JSON).
pub struct Text;

impl Filter for Text {
    fn filter(&self, value: &Value, _args: &HashMap<String, Value>) -> TeraResult<Value> {
        Ok(Value::String(as_text(value)))
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Cuts `text` to at most `max` characters, ending with `…` when something was cut.
/// Never splits an HTML entity (`&amp;`), so escaped mrkdwn stays valid.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(1);
    let mut end = text.char_indices().nth(keep).map_or(text.len(), |(index, _)| index);
    // If the cut lands inside `&…;`, back off to before the `&`.
    if let Some(amp) = text[..end].rfind('&') {
        let tail = &text[amp..end];
        if !tail.contains(';') && tail.len() <= 5 && text[amp..].find(';').is_some_and(|semi| semi <= 5) {
            end = amp;
        }
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escape_produces_a_valid_string_for_hostile_text() {
        let hostile = "quote \" backslash \\ newline \n tab \t bell \u{7} ls \u{2028} emoji 🦜 <b>&";
        let literal = format!("\"{}\"", escape_json(hostile));
        let parsed: String = serde_json::from_str(&literal).expect("valid JSON string");
        assert_eq!(parsed, hostile);
    }

    #[test]
    fn mrkdwn_escapes_only_slack_control_characters() {
        assert_eq!(escape_mrkdwn("<@U123> & <!channel> *bold*"), "&lt;@U123&gt; &amp; &lt;!channel&gt; *bold*");
    }

    #[test]
    fn truncate_counts_characters_and_adds_an_ellipsis() {
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("🦜🦜🦜🦜", 3), "🦜🦜…");
        assert_eq!(truncate_chars("abcdef", 4).chars().count(), 4);
    }

    #[test]
    fn truncate_never_splits_an_entity() {
        assert_eq!(truncate_chars("ab &amp; cd", 6), "ab …");
        assert_eq!(truncate_chars("ab &amp; cd", 10), "ab &amp; …");
    }
}
