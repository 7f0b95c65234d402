use serde_json::{json, Value};

use super::payload::*;
use crate::notify::{ChannelAnswer, Outcome};

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |text| text.chars().count())
}

#[test]
fn oversized_parts_are_truncated_not_refused() {
    let long = "x".repeat(50_000);
    let fields: Vec<Value> = (0..14).map(|i| json!({"type": "mrkdwn", "text": format!("{i}{long}")})).collect();
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": long}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": long}, "fields": fields}),
    ];
    blocks.extend((0..60).map(|_| json!({"type": "divider"})));
    let shaped = enforce_limits(json!({"text": long, "blocks": blocks})).expect("still a message");

    assert_eq!(chars(&shaped["text"]), MAX_TEXT);
    assert!(shaped["text"].as_str().is_some_and(|text| text.ends_with('…')));
    let blocks = shaped["blocks"].as_array().expect("blocks");
    assert_eq!(blocks.len(), MAX_BLOCKS);
    assert_eq!(chars(&blocks[0]["text"]["text"]), MAX_HEADER_TEXT);
    assert_eq!(chars(&blocks[1]["text"]["text"]), MAX_SECTION_TEXT);
    let fields = blocks[1]["fields"].as_array().expect("fields");
    assert_eq!(fields.len(), MAX_FIELDS);
    assert!(fields.iter().all(|field| chars(&field["text"]) <= MAX_FIELD_TEXT));
    assert_eq!(fields[9]["text"], "… 5 more");
    assert_eq!(blocks[49]["type"], "context");
}

#[test]
fn a_message_without_text_or_blocks_is_a_template_error() {
    assert!(enforce_limits(json!({"blocks": []})).is_err());
    assert!(enforce_limits(json!("text")).is_err());
    assert!(enforce_limits(json!({"text": "hi"})).is_ok());
}

#[test]
fn answers_are_classified_by_slack_rules() {
    let answer = |status, body: &str, retry_after| ChannelAnswer { status, body: body.into(), retry_after };
    assert_eq!(super::classify::classify(&answer(200, "ok", None)), Outcome::Delivered);
    let wait = Some(std::time::Duration::from_secs(30));
    assert!(
        matches!(super::classify::classify(&answer(429, "rate_limited", wait)), Outcome::Retry { after, .. } if after == wait)
    );
    assert!(matches!(super::classify::classify(&answer(503, "", None)), Outcome::Retry { .. }));
    for (status, body) in [(400, "invalid_payload"), (400, "invalid_blocks"), (400, "too_many_attachments")] {
        match super::classify::classify(&answer(status, body, None)) {
            Outcome::Failed { reason, disable_destination: false } => assert!(reason.contains(body), "{reason}"),
            other => panic!("{status} {body}: {other:?}"),
        }
    }
    // The webhook itself refused: the destination pauses, the message waits.
    for (status, body) in [
        (403, "action_prohibited"),
        (403, "posting_to_general_channel_denied"),
        (404, "channel_not_found"),
        (404, "no_service"),
        (400, "no_service_id"),
        (404, "no_team"),
        (403, "team_disabled"),
        (403, "invalid_token"),
        (404, "no_active_hooks"),
    ] {
        match super::classify::classify(&answer(status, body, None)) {
            Outcome::Paused { cause, reason } => {
                assert_eq!(cause, format!("slack_{body}"));
                assert!(reason.contains(body), "{reason}");
            }
            other => panic!("{status} {body}: {other:?}"),
        }
    }
    assert!(
        matches!(super::classify::classify(&answer(403, "<html>forbidden</html>", None)), Outcome::Paused { cause, .. } if cause == "http_403")
    );
    assert!(matches!(super::classify::classify(&answer(404, "not found", None)), Outcome::Failed { .. }));
    assert!(matches!(
        super::classify::classify(&answer(410, "channel_is_archived", None)),
        Outcome::Failed { disable_destination: true, .. }
    ));
}
