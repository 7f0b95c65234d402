//! Keeps a Teams message under the webhook size limit (about 28 KB) by cutting
//! the longest texts first, then the trailing facts, never by failing.

use serde_json::Value;

use crate::render::filters::truncate_chars;

/// Largest body sent to Teams, in bytes: under the ~28 KB limit with headroom for
/// the envelope Teams adds.
pub const MAX_BODY_BYTES: usize = 27 * 1024;

/// Strings never shortened: they are structure, not content.
const STRUCTURAL_KEYS: [&str; 8] =
    ["type", "contentType", "$schema", "version", "@type", "@context", "color", "themeColor"];

/// Shrinks `message` until its JSON form is at most `max_bytes`.
pub fn fit(mut message: Value, max_bytes: usize) -> Result<Value, String> {
    if !message.is_object() {
        return Err("a Teams message must be a JSON object".into());
    }
    for _ in 0..256 {
        let size = serialized_len(&message);
        if size <= max_bytes {
            return Ok(message);
        }
        let excess = size - max_bytes;
        match longest_text(&mut message) {
            Some(text) if text.len() > 64 => {
                // Bytes to drop, plus room for the ellipsis and escaping.
                let keep_bytes = text.len().saturating_sub(excess + 16);
                let keep_chars = text.char_indices().take_while(|(index, _)| *index < keep_bytes).count();
                *text = truncate_chars(text, keep_chars.max(16));
            }
            _ => {
                if !drop_facts(&mut message, excess) {
                    break;
                }
            }
        }
    }
    if serialized_len(&message) <= max_bytes {
        Ok(message)
    } else {
        Err(format!("the rendered Teams message cannot be cut under {max_bytes} bytes"))
    }
}

fn serialized_len(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |bytes| bytes.len())
}

/// The longest content string anywhere in the message.
fn longest_text(value: &mut Value) -> Option<&mut String> {
    match longest_text_owner(value)? {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// The `Value::String` holding the longest content string below `value`.
fn longest_text_owner(value: &mut Value) -> Option<&mut Value> {
    match value {
        Value::String(_) => Some(value),
        Value::Object(map) => map
            .iter_mut()
            .filter(|(key, _)| !STRUCTURAL_KEYS.contains(&key.as_str()))
            .filter_map(|(_, child)| longest_text_owner(child))
            .max_by_key(|candidate| candidate.as_str().map_or(0, str::len)),
        Value::Array(items) => items
            .iter_mut()
            .filter_map(longest_text_owner)
            .max_by_key(|candidate| candidate.as_str().map_or(0, str::len)),
        _ => None,
    }
}

/// Removes entries from the end of the longest `facts` array until about `excess`
/// bytes are gone (keeping at least one); false when there is nothing to remove.
fn drop_facts(value: &mut Value, excess: usize) -> bool {
    fn longest(value: &Value) -> usize {
        match value {
            Value::Object(map) => map
                .iter()
                .map(|(key, child)| match child {
                    Value::Array(items) if key == "facts" => items.len().max(longest(child)),
                    other => longest(other),
                })
                .max()
                .unwrap_or(0),
            Value::Array(items) => items.iter().map(longest).max().unwrap_or(0),
            _ => 0,
        }
    }
    fn pop_from(value: &mut Value, length: usize, excess: usize) -> bool {
        match value {
            Value::Object(map) => map.iter_mut().any(|(key, child)| match child {
                Value::Array(items) if key == "facts" && items.len() == length => {
                    let mut removed = 0;
                    while removed < excess && items.len() > 1 {
                        removed += items.pop().map_or(0, |fact| serialized_len(&fact) + 1);
                    }
                    removed > 0
                }
                other => pop_from(other, length, excess),
            }),
            Value::Array(items) => items.iter_mut().any(|item| pop_from(item, length, excess)),
            _ => false,
        }
    }
    let length = longest(value);
    length > 1 && pop_from(value, length, excess)
}
