//! Escaping for the dialects templates write: JSON strings, Slack mrkdwn and
//! Teams markdown.
//!
//! Every `{{ … }}` in a `.json` template is JSON-string-escaped automatically (the
//! escape function below is Tera's autoescape for these templates), so hostile
//! alert text cannot break out of a string. `json` emits a whole JSON value for
//! places outside quotes; `mrkdwn` neutralises Slack's control characters;
//! `teams_md` and `teams_connector_md` neutralise the markdown Teams renders in
//! Adaptive Card TextBlocks and facts, and in connector MessageCards.

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

/// Escapes text for a Teams Adaptive Card `TextBlock` or `Fact` (markdown).
///
/// Teams renders a CommonMark subset there — `**bold**`, `_italic_`, `- ` and
/// `1. ` lists, `[title](url)` links — and MessageCards add headers, `~~`,
/// `` ` `` and `>` quotes. Every character that could open such markup is
/// backslash-escaped (CommonMark's escape): `\ * _ [ ] ( ) ` ~ < >` anywhere,
/// and `# - + =` or `1.` at the start of a line. Parentheses are escaped too, so
/// a renderer that ignored escapes still would not see `](` and form a link.
pub fn escape_teams_markdown(text: &str) -> String {
    escape_teams(text, false)
}

/// Escapes text for a Teams connector MessageCard, which renders markdown and
/// a subset of HTML: as [`escape_teams_markdown`], with `&`, `<` and `>` as
/// HTML entities, so `<a href=…>` stays text.
pub fn escape_teams_connector(text: &str) -> String {
    escape_teams(text, true)
}

fn escape_teams(text: &str, html: bool) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    let mut chars = text.chars().peekable();
    // A block marker only counts when a space, a line end or (for rules and
    // underlines such as `---`) the same character follows it.
    let opens_block =
        |next: Option<&char>, marker: char| next.is_none_or(|next| next.is_whitespace() || *next == marker);
    while let Some(ch) = chars.next() {
        match ch {
            '&' if html => out.push_str("&amp;"),
            '<' if html => out.push_str("&lt;"),
            '>' if html => out.push_str("&gt;"),
            '\\' | '*' | '_' | '[' | ']' | '(' | ')' | '`' | '~' | '<' | '>' => {
                out.push('\\');
                out.push(ch);
            }
            '#' | '-' | '+' | '=' if line_start && opens_block(chars.peek(), ch) => {
                out.push('\\');
                out.push(ch);
            }
            digit if line_start && digit.is_ascii_digit() => {
                // `1. item`: escape the delimiter after the number (`)` always is).
                out.push(digit);
                while let Some(next) = chars.next_if(char::is_ascii_digit) {
                    out.push(next);
                }
                if chars.peek() == Some(&'.') {
                    chars.next();
                    out.push_str(if opens_block(chars.peek(), '.') { "\\." } else { "." });
                }
            }
            ch => out.push(ch),
        }
        // Markers count at the start of a line, after up to three spaces.
        line_start = match ch {
            '\n' | '\r' => true,
            ' ' | '\t' => line_start,
            _ => false,
        };
    }
    out
}

/// `{{ value | teams_md }}`: text safe in an Adaptive Card TextBlock or Fact.
pub struct TeamsMarkdown;

impl Filter for TeamsMarkdown {
    fn filter(&self, value: &Value, _args: &HashMap<String, Value>) -> TeraResult<Value> {
        Ok(Value::String(escape_teams_markdown(&as_text(value))))
    }
}

/// `{{ value | teams_connector_md }}`: text safe in a connector MessageCard.
pub struct TeamsConnectorMarkdown;

impl Filter for TeamsConnectorMarkdown {
    fn filter(&self, value: &Value, _args: &HashMap<String, Value>) -> TeraResult<Value> {
        Ok(Value::String(escape_teams_connector(&as_text(value))))
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
    fn teams_markdown_is_escaped_wherever_it_could_start() {
        assert_eq!(escape_teams_markdown("[click](https://evil.example)"), r"\[click\]\(https://evil.example\)");
        assert_eq!(
            escape_teams_markdown("**b** _i_ `c` ~~s~~ <at>x</at>"),
            r"\*\*b\*\* \_i\_ \`c\` \~\~s\~\~ \<at\>x\</at\>"
        );
        assert_eq!(
            escape_teams_markdown("- a\n  + b\r12. c\n# h\n===\nx - y 3. z #1"),
            "\\- a\n  \\+ b\r12\\. c\n\\# h\n\\===\nx - y 3. z #1"
        );
        // Not block markers: left alone.
        assert_eq!(escape_teams_markdown("192.0.2.66\n-5 C\n#soc\n+1"), "192.0.2.66\n-5 C\n#soc\n+1");
        assert_eq!(escape_teams_markdown(r"back\slash"), r"back\\slash");
        assert_eq!(escape_teams_connector("<a href=\"x\">&amp;</a>"), "&lt;a href=\"x\"&gt;&amp;amp;&lt;/a&gt;");
        assert_eq!(escape_teams_markdown("plain text 10.0.0.9:445"), "plain text 10.0.0.9:445");
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
