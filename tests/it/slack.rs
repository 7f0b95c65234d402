//! Slack adapter against a loopback server standing in for hooks.slack.com.

use std::time::Duration;

use flockrelay::notify::slack::config::SlackSettings;
use flockrelay::notify::slack::payload::{MAX_FIELD_TEXT, MAX_HEADER_TEXT, MAX_SECTION_TEXT};
use flockrelay::notify::Channel;
use flockrelay::notify::Outcome;
use serde_json::Value;

use crate::support::receiver::{Receiver, Reply};
use crate::support::{assert_golden, canary_alert, deliver_once, destination, hostile_alert};

const HOOK_PATH: &str = "/services/T0001/B0002/abcdefghijklmnopqrstuvwx";

fn slack(receiver: &Receiver) -> flockrelay::destination::Destination {
    destination(
        "soc_slack",
        Channel::Slack(SlackSettings {
            url: receiver.url(HOOK_PATH).parse().expect("valid URL"),
            channel: Some("#soc".into()),
            team: None,
            configuration_url: None,
        }),
    )
}

#[tokio::test]
async fn posts_block_kit_matching_the_golden_file() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let delivery = deliver_once(&slack(&receiver), &canary_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri.path(), HOOK_PATH);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(request.header("user-agent").is_some_and(|agent| agent.starts_with("flockrelay/")));
    assert_eq!(request.header("authorization"), None);
    assert_golden("slack/golden/canary-incident.json", &request.body);
}

#[tokio::test]
async fn every_answer_is_classified_by_slack_rules() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let destination = slack(&receiver);
    let alert = canary_alert();
    receiver.script([
        Reply::new(429, "rate_limited").header("retry-after", "17"),
        Reply::new(500, "internal_error"),
        Reply::new(400, "invalid_payload"),
        Reply::new(400, "invalid_blocks"),
        Reply::new(403, "action_prohibited"),
        Reply::new(404, "channel_not_found"),
        Reply::new(410, "channel_is_archived"),
        Reply::new(302, "").header("location", "https://elsewhere.example/"),
    ]);
    let expected = [
        ("retry", Some(Duration::from_secs(17)), "rate_limited", false),
        ("retry", None, "internal_error", false),
        ("failed", None, "invalid_payload", false),
        ("failed", None, "invalid_blocks", false),
        ("paused", None, "action_prohibited", false),
        ("paused", None, "channel_not_found", false),
        ("failed", None, "channel_is_archived", true),
        ("failed", None, "HTTP 302", false),
    ];
    for (label, after, text, disable) in expected {
        let delivery = deliver_once(&destination, &alert).await;
        assert_eq!(delivery.outcome.label(), label, "{text}: {:?}", delivery.outcome);
        assert!(
            delivery.outcome.reason().is_some_and(|reason| reason.contains(text)),
            "{text}: {:?}",
            delivery.outcome
        );
        match delivery.outcome {
            Outcome::Retry { after: got, .. } => assert_eq!(got, after, "{text}"),
            Outcome::Failed { disable_destination, .. } => assert_eq!(disable_destination, disable, "{text}"),
            Outcome::Paused { cause, .. } => assert_eq!(cause, format!("slack_{text}")),
            other => unreachable!("{other:?}"),
        }
    }
    // The redirect was not followed: one request per attempt, all to the hook.
    assert_eq!(receiver.requests().len(), expected.len());
}

#[tokio::test]
async fn hostile_text_still_makes_a_valid_message_within_limits() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let delivery = deliver_once(&slack(&receiver), &hostile_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let body: Value = serde_json::from_slice(&receiver.single().body).expect("valid JSON");
    let blocks = body["blocks"].as_array().expect("blocks");
    let header = blocks[0]["text"]["text"].as_str().expect("header text");
    assert!(header.chars().count() <= MAX_HEADER_TEXT);
    let section = blocks[1]["text"]["text"].as_str().expect("section text");
    assert_eq!(section.chars().count(), MAX_SECTION_TEXT);
    assert!(section.ends_with('…'));
    // mrkdwn control characters arrive escaped, so no <!channel> ping or fake link.
    assert!(!section.contains('<') && !section.contains('>'));
    assert!(section.contains("&lt;!channel&gt;") && section.contains("&amp;amp;"));
    for field in blocks.iter().filter_map(|block| block["fields"].as_array()).flatten() {
        let text = field["text"].as_str().expect("field text");
        assert!(text.chars().count() <= MAX_FIELD_TEXT);
        assert!(!text.contains('<'), "{text}");
    }
}
