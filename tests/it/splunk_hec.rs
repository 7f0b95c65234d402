//! Splunk HEC adapter against a loopback server standing in for a collector.

use chrono::Utc;
use flockrelay::destination::{Channel, Destination};
use flockrelay::notify::http::deliver;
use flockrelay::notify::splunk_hec::config::SplunkSettings;
use flockrelay::notify::{by_kind, AttemptContext, Outcome};
use flockrelay::render::Renderer;
use flockrelay::secret::Secret;

use crate::support::receiver::{Receiver, Reply};
use crate::support::{assert_golden, canary_alert, deliver_once, destination, hostile_alert, json_stream};

const TOKEN: &str = "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718";
const SUCCESS: &str = r#"{"text":"Success","code":0}"#;

fn hec(receiver: &Receiver) -> Destination {
    let mut settings = SplunkSettings::new("127.0.0.1", receiver.addr.port(), Secret::new(TOKEN));
    settings.https = false;
    settings.index = Some("security".into());
    settings.event_host = Some("relay-01".into());
    destination("dc_hec", Channel::Splunk(settings))
}

#[tokio::test]
async fn posts_an_event_matching_the_golden_file() {
    let receiver = Receiver::start(Reply::new(200, SUCCESS)).await;
    let delivery = deliver_once(&hec(&receiver), &canary_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri.path(), "/services/collector/event");
    assert_eq!(request.header("authorization"), Some(format!("Splunk {TOKEN}").as_str()));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_golden("splunk_hec/golden/canary-incident.json", &request.body);
    let events = json_stream(&request.body);
    // 2026-03-14 09:26:53 UTC, the incident's own time.
    assert_eq!(events[0]["time"], 1_773_480_413);
}

#[tokio::test]
async fn several_due_events_travel_in_one_request() {
    let receiver = Receiver::start(Reply::new(200, SUCCESS)).await;
    let destination = hec(&receiver);
    let renderer = Renderer::built_in().expect("templates");
    let notifier = by_kind(destination.channel.kind());
    let mut alerts = [canary_alert(), hostile_alert(), canary_alert()];
    alerts[2].id = "third".into();
    let payloads: Vec<_> =
        alerts.iter().map(|alert| notifier.render(&destination, alert, &renderer, false).expect("renders")).collect();
    let batch: Vec<_> = payloads.iter().collect();
    let attempt = AttemptContext { message_id: "batch", now: Utc::now() };
    let request = notifier.request(&destination, &batch, &attempt).expect("request");
    let delivery = deliver(&crate::support::loopback_sender(std::time::Duration::from_secs(5)), &request, |answer| {
        notifier.classify(answer)
    })
    .await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let events = json_stream(&receiver.single().body);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["event"]["alert_id"], "third");
    assert_eq!(events[1]["event"]["description"].as_str(), Some(alerts[1].description.as_str()));
}

#[tokio::test]
async fn every_hec_code_is_classified() {
    let receiver = Receiver::start(Reply::new(200, SUCCESS)).await;
    let destination = hec(&receiver);
    let cases = [
        (503, r#"{"text":"Server is busy","code":9}"#, "retry", "Server is busy"),
        (500, r#"{"text":"Internal server error","code":8}"#, "retry", "Internal server error"),
        (502, "<html>bad gateway</html>", "retry", "bad gateway"),
        (403, r#"{"text":"Token disabled","code":1}"#, "failed", "Token disabled"),
        (401, r#"{"text":"Token is required","code":2}"#, "failed", "Token is required"),
        (401, r#"{"text":"Invalid authorization","code":3}"#, "failed", "Invalid authorization"),
        (403, r#"{"text":"Invalid token","code":4}"#, "failed", "Invalid token"),
        (400, r#"{"text":"No data","code":5}"#, "failed", "No data"),
        (400, r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#, "failed", "Invalid data format"),
        (400, r#"{"text":"Incorrect index","code":7,"invalid-event-number":0}"#, "failed", "Incorrect index"),
        (200, SUCCESS, "delivered", ""),
    ];
    receiver.script(cases.iter().map(|(status, body, _, _)| Reply::new(*status, body)));
    for (status, _, label, text) in cases {
        let delivery = deliver_once(&destination, &canary_alert()).await;
        assert_eq!(delivery.outcome.label(), label, "{status} {text}: {:?}", delivery.outcome);
        assert!(delivery.outcome.reason().unwrap_or_default().contains(text), "{text}: {:?}", delivery.outcome);
    }
}

#[tokio::test]
async fn https_is_the_default_and_a_plain_http_server_is_not_trusted() {
    let receiver = Receiver::start(Reply::new(200, SUCCESS)).await;
    let mut destination = hec(&receiver);
    if let Channel::Splunk(settings) = &mut destination.channel {
        settings.https = true;
    }
    let delivery = deliver_once(&destination, &canary_alert()).await;
    // A TLS handshake against a plain HTTP server fails: retryable, nothing delivered,
    // and the token never appears in the error.
    assert_eq!(delivery.outcome.label(), "retry");
    assert!(!delivery.excerpt.contains(TOKEN));
}
