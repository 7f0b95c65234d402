//! Teams adapter against a loopback server standing in for a Workflows webhook.

use flockrelay::destination::Destination;
use flockrelay::notify::teams::config::{TeamsFormat, TeamsSettings};
use flockrelay::notify::teams::payload::MAX_BODY_BYTES;
use flockrelay::notify::Channel;
use flockrelay::notify::Outcome;
use serde_json::Value;

use crate::support::receiver::{Receiver, Reply};
use crate::support::{assert_golden, canary_alert, deliver_once, destination, hostile_alert, root};

const WORKFLOW_PATH: &str =
    "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=s3cretSignatureValue0123456789";

fn teams(receiver: &Receiver, format: TeamsFormat) -> Destination {
    destination(
        "soc_teams",
        Channel::MsTeams(TeamsSettings { url: receiver.url(WORKFLOW_PATH).parse().expect("valid URL"), format }),
    )
}

/// The vendored Adaptive Card schema, compiled once per test.
fn adaptive_card_validator() -> jsonschema::Validator {
    let schema_path = root().join("adapters/teams/adaptive-card.schema.json");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&schema_path).expect("schema is vendored")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid_card(card: &Value) {
    let validator = adaptive_card_validator();
    let errors: Vec<String> =
        validator.iter_errors(card).map(|error| format!("{error} at {}", error.instance_path())).collect();
    assert!(errors.is_empty(), "card violates the Adaptive Card schema: {errors:#?}");
}

#[tokio::test]
async fn posts_an_adaptive_card_matching_the_golden_file() {
    let receiver = Receiver::start(Reply::new(202, "")).await;
    let delivery = deliver_once(&teams(&receiver, TeamsFormat::AdaptiveCard), &canary_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri.to_string(), WORKFLOW_PATH);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_golden("teams/golden/canary-incident.adaptive-card.json", &request.body);
    let body: Value = serde_json::from_slice(&request.body).expect("JSON");
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["contentType"], "application/vnd.microsoft.card.adaptive");
    // Sent explicitly: Workflows has answered 400 without it.
    assert!(attachment.as_object().is_some_and(|object| object.get("contentUrl") == Some(&Value::Null)));
    assert_valid_card(&attachment["content"]);
}

#[tokio::test]
async fn legacy_connectors_get_a_message_card() {
    let receiver = Receiver::start(Reply::new(200, "1")).await;
    let delivery = deliver_once(&teams(&receiver, TeamsFormat::MessageCard), &canary_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    assert_golden("teams/golden/canary-incident.message-card.json", &request.body);
    let body: Value = serde_json::from_slice(&request.body).expect("JSON");
    assert_eq!(body["@type"], "MessageCard");
}

#[tokio::test]
async fn every_answer_is_classified_by_teams_rules() {
    let receiver = Receiver::start(Reply::new(202, "")).await;
    let destination = teams(&receiver, TeamsFormat::AdaptiveCard);
    receiver.script([
        Reply::new(429, "Too many requests").header("retry-after", "3"),
        Reply::new(502, "Bad gateway"),
        Reply::new(400, "Bad payload: contentUrl"),
        Reply::new(401, "Unauthorized"),
        Reply::new(404, "Workflow not found"),
    ]);
    let expected = [
        ("retry", "Too many requests"),
        ("retry", "Bad gateway"),
        ("failed", "Bad payload"),
        ("paused", "Unauthorized"),
        ("paused", "Workflow not found"),
    ];
    for (label, text) in expected {
        let delivery = deliver_once(&destination, &canary_alert()).await;
        assert_eq!(delivery.outcome.label(), label, "{text}");
        assert!(delivery.outcome.reason().is_some_and(|reason| reason.contains(text)));
    }
    let delivery = deliver_once(&destination, &canary_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
}

#[tokio::test]
async fn hostile_text_still_makes_a_valid_card_under_the_size_limit() {
    let receiver = Receiver::start(Reply::new(202, "")).await;
    let mut alert = hostile_alert();
    alert.description = alert.description.repeat(4);
    let delivery = deliver_once(&teams(&receiver, TeamsFormat::AdaptiveCard), &alert).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    assert!(request.body.len() <= MAX_BODY_BYTES, "{} bytes", request.body.len());
    let body: Value = serde_json::from_slice(&request.body).expect("valid JSON");
    assert_valid_card(&body["attachments"][0]["content"]);
    let description = body["attachments"][0]["content"]["body"][1]["text"].as_str().expect("description");
    assert!(description.ends_with('…'));
}
