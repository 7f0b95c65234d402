use serde_json::{json, Value};

use super::payload::fit;
use crate::notify::{ChannelAnswer, Outcome};

#[test]
fn a_long_description_is_cut_to_fit() {
    let card = json!({"type": "message", "attachments": [{"content": {"type": "AdaptiveCard", "body": [
        {"type": "TextBlock", "text": "title"},
        {"type": "TextBlock", "text": "🦜".repeat(20_000)}
    ]}}]});
    let fitted = fit(card, 27 * 1024).expect("fits");
    assert!(serde_json::to_vec(&fitted).expect("serializes").len() <= 27 * 1024);
    let body = &fitted["attachments"][0]["content"]["body"];
    assert_eq!(body[0]["text"], "title");
    assert!(body[1]["text"].as_str().is_some_and(|text| text.ends_with('…') && text.len() > 20_000));
}

#[test]
fn many_small_facts_are_dropped_from_the_end() {
    let facts: Vec<Value> = (0..3000).map(|i| json!({"title": format!("k{i}"), "value": "v"})).collect();
    let card = json!({"type": "message", "body": [{"type": "FactSet", "facts": facts}]});
    let fitted = fit(card, 8 * 1024).expect("fits");
    assert!(serde_json::to_vec(&fitted).expect("serializes").len() <= 8 * 1024);
    assert_eq!(fitted["body"][0]["facts"][0]["title"], "k0");
}

#[test]
fn structure_is_never_shortened() {
    let card = json!({"type": "message", "contentType": "x".repeat(100), "text": "y".repeat(2_000)});
    let fitted = fit(card, 1_000).expect("fits");
    assert_eq!(fitted["contentType"].as_str().map(str::len), Some(100));
}

#[test]
fn answers_are_classified_by_teams_rules() {
    let answer = |status| ChannelAnswer { status, body: String::new(), retry_after: None };
    assert_eq!(super::classify::classify(&answer(202)), Outcome::Delivered);
    assert_eq!(super::classify::classify(&answer(200)), Outcome::Delivered);
    assert!(matches!(super::classify::classify(&answer(429)), Outcome::Retry { .. }));
    assert!(matches!(super::classify::classify(&answer(502)), Outcome::Retry { .. }));
    assert!(matches!(super::classify::classify(&answer(400)), Outcome::Failed { .. }));
    assert!(matches!(super::classify::classify(&answer(413)), Outcome::Failed { .. }));
    for status in [401, 403, 404] {
        match super::classify::classify(&answer(status)) {
            Outcome::Paused { cause, .. } => assert_eq!(cause, format!("http_{status}")),
            other => panic!("{status}: {other:?}"),
        }
    }
    let revoked = ChannelAnswer {
        status: 200,
        body: "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 403 with ContextId tcid=0".into(),
        retry_after: None,
    };
    assert!(matches!(super::classify::classify(&revoked), Outcome::Paused { cause, .. } if cause == "http_403"));
}

#[test]
fn a_connector_failure_hidden_in_a_200_is_not_delivered() {
    let answer = |body: &str| ChannelAnswer { status: 200, body: body.to_owned(), retry_after: None };
    let throttled = "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0";
    assert!(matches!(super::classify::classify(&answer(throttled)), Outcome::Retry { .. }));
    let too_large = "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error 413 with ContextId tcid=0";
    assert!(
        matches!(super::classify::classify(&answer(too_large)), Outcome::Failed { reason, .. } if reason.contains("413"))
    );
    assert_eq!(super::classify::classify(&answer("1")), Outcome::Delivered);
}
