//! Slack Block Kit limits, enforced after rendering by truncating with an
//! ellipsis so that an oversized alert still arrives instead of being refused.

use serde_json::{json, Map, Value};

use crate::render::filters::truncate_chars;
use crate::render::Rendered;

/// Most blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Longest header block text.
pub const MAX_HEADER_TEXT: usize = 150;
/// Longest section text.
pub const MAX_SECTION_TEXT: usize = 3000;
/// Most fields in one section.
pub const MAX_FIELDS: usize = 10;
/// Longest section field text.
pub const MAX_FIELD_TEXT: usize = 2000;
/// Most elements in one context block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Longest top-level `text` (the notification fallback).
pub const MAX_TEXT: usize = 40_000;

/// True when no limit can be exceeded: no string is longer than the smallest text
/// limit, no array longer than the smallest count limit, and there are blocks. Most
/// alerts pass, and are sent as rendered without being parsed into a tree.
pub fn within_limits(rendered: &Rendered) -> bool {
    rendered.longest_string <= MAX_HEADER_TEXT
        && rendered.longest_array <= MAX_FIELDS.min(MAX_CONTEXT_ELEMENTS)
        && rendered.is_object()
        && rendered.json.contains(r#""blocks":[{"#)
}

/// Cuts every part of the message down to Slack's limits. Fails only when the
/// template produced something that is not a Slack message at all.
pub fn enforce_limits(message: Value) -> Result<Value, String> {
    let Value::Object(mut message) = message else {
        return Err("a Slack message must be a JSON object".into());
    };
    let has_text = message.get("text").and_then(Value::as_str).is_some_and(|text| !text.trim().is_empty());
    let has_blocks = message.get("blocks").and_then(Value::as_array).is_some_and(|blocks| !blocks.is_empty());
    if !has_text && !has_blocks {
        return Err("a Slack message needs a non-empty `text` or `blocks`".into());
    }
    truncate_string(&mut message, "text", MAX_TEXT);
    if let Some(Value::Array(blocks)) = message.get_mut("blocks") {
        if blocks.len() > MAX_BLOCKS {
            let omitted = blocks.len() - (MAX_BLOCKS - 1);
            blocks.truncate(MAX_BLOCKS - 1);
            blocks.push(json!({"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("… {omitted} more blocks omitted")}
            ]}));
        }
        for block in blocks.iter_mut().filter_map(Value::as_object_mut) {
            limit_block(block);
        }
    }
    Ok(Value::Object(message))
}

fn limit_block(block: &mut Map<String, Value>) {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
    match kind.as_str() {
        "header" => {
            if let Some(Value::Object(text)) = block.get_mut("text") {
                truncate_string(text, "text", MAX_HEADER_TEXT);
            }
        }
        "section" => {
            if let Some(Value::Object(text)) = block.get_mut("text") {
                truncate_string(text, "text", MAX_SECTION_TEXT);
            }
            if let Some(Value::Array(fields)) = block.get_mut("fields") {
                if fields.len() > MAX_FIELDS {
                    let omitted = fields.len() - (MAX_FIELDS - 1);
                    fields.truncate(MAX_FIELDS - 1);
                    fields.push(json!({"type": "mrkdwn", "text": format!("… {omitted} more")}));
                }
                for field in fields.iter_mut().filter_map(Value::as_object_mut) {
                    truncate_string(field, "text", MAX_FIELD_TEXT);
                }
            }
        }
        "context" => {
            if let Some(Value::Array(elements)) = block.get_mut("elements") {
                elements.truncate(MAX_CONTEXT_ELEMENTS);
                for element in elements.iter_mut().filter_map(Value::as_object_mut) {
                    truncate_string(element, "text", MAX_SECTION_TEXT);
                }
            }
        }
        _ => {}
    }
}

fn truncate_string(object: &mut Map<String, Value>, key: &str, max: usize) {
    if let Some(Value::String(text)) = object.get_mut(key) {
        if text.chars().count() > max {
            *text = truncate_chars(text, max);
        }
    }
}
