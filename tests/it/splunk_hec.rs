//! Splunk HEC adapter against a loopback server standing in for a collector.

use chrono::Utc;
use flockrelay::destination::Destination;
use flockrelay::notify::http::deliver;
use flockrelay::notify::splunk_hec::config::SplunkHecSettings;
use flockrelay::notify::Channel;
use flockrelay::notify::{by_kind, AttemptContext, Outcome};
use flockrelay::render::Renderer;
use flockrelay::secret::Secret;

use crate::support::receiver::{Receiver, Reply};
use crate::support::{assert_golden, canary_alert, deliver_once, destination, hostile_alert, json_stream};

const TOKEN: &str = "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718";
const SUCCESS: &str = r#"{"text":"Success","code":0}"#;

fn hec(receiver: &Receiver) -> Destination {
    let mut settings = SplunkHecSettings::new("127.0.0.1", receiver.addr.port(), Secret::new(TOKEN));
    settings.https = false;
    settings.index = Some("security".into());
    settings.event_host = Some("relay-01".into());
    destination("dc_hec", Channel::SplunkHec(settings))
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
    let delivery = deliver(&crate::support::loopback_sender(std::time::Duration::from_secs(30)), &request, |answer| {
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
        (403, r#"{"text":"Token disabled","code":1}"#, "paused", "Token disabled"),
        (401, r#"{"text":"Token is required","code":2}"#, "paused", "Token is required"),
        (401, r#"{"text":"Invalid authorization","code":3}"#, "paused", "Invalid authorization"),
        (403, r#"{"text":"Invalid token","code":4}"#, "paused", "Invalid token"),
        (400, r#"{"text":"No data","code":5}"#, "failed", "No data"),
        (400, r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#, "failed", "Invalid data format"),
        (400, r#"{"text":"Incorrect index","code":7,"invalid-event-number":0}"#, "paused", "Incorrect index"),
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
    if let Channel::SplunkHec(settings) = &mut destination.channel {
        settings.https = true;
    }
    let delivery = deliver_once(&destination, &canary_alert()).await;
    // A TLS handshake against a plain HTTP server fails: retryable, nothing delivered,
    // and the token never appears in the error.
    assert_eq!(delivery.outcome.label(), "retry");
    assert!(!delivery.excerpt.contains(TOKEN));
}

#[tokio::test]
async fn a_2xx_without_a_hec_answer_is_not_a_delivery() {
    // A proxy's login page or error page answered instead of Splunk.
    let receiver = Receiver::start(Reply::new(200, "<html><body>Please sign in</body></html>")).await;
    let delivery = deliver_once(&hec(&receiver), &canary_alert()).await;
    assert_eq!(delivery.outcome.label(), "retry", "{:?}", delivery.outcome);
    let reason = delivery.outcome.reason().unwrap_or_default();
    assert!(reason.contains("not a HEC answer"), "{reason}");
    assert!(reason.contains("Please sign in"), "{reason}");
    receiver.script([Reply::new(204, "")]);
    let delivery = deliver_once(&hec(&receiver), &canary_alert()).await;
    assert_eq!(delivery.outcome.label(), "retry", "an empty 204 is no HEC answer either: {:?}", delivery.outcome);
}

// ── the relay against a fake collector that behaves as Splunk documents ─────

mod relay {
    use std::time::Duration;

    use serde_json::{json, Value};

    use crate::support::hec::{FakeHec, TokenState};
    use crate::support::relay::{eventually, Relay};

    pub const HEC_TOKEN: &str = "5c2f7d1e-8a4b-4c3d-9e2f-1a2b3c4d5e6f";

    /// `[delivery]` keys: loopback allowed, quick polling, a schedule whose
    /// second attempt is far away (a retry stays visible as pending).
    pub const DELIVERY: &str = r#"allowed_cidrs = ["127.0.0.0/8"]
retry_schedule = ["0s", "10m"]
jitter = 0.0
poll_interval = "50ms"
"#;

    /// One HEC destination `hec` on `fake`, plus `extra` keys of its splunk table.
    pub fn destination(fake: &FakeHec, extra: &str) -> String {
        format!(
            "[destinations.hec.splunk]\nhost = \"127.0.0.1\"\nport = {}\ntoken = \"{HEC_TOKEN}\"\nhttps = false\n{extra}\n",
            fake.addr.port()
        )
    }

    pub fn alert(title: &str) -> Value {
        json!({"kind": "canary.incident", "title": title, "description": "Port scan from 10.0.0.9"})
    }

    /// Every message of destination `hec`.
    pub async fn messages(relay: &Relay) -> Vec<Value> {
        let (status, body) = relay.get("/api/v1/messages", &[("destination", "hec"), ("limit", "1000")]).await;
        assert_eq!(status, 200, "{body}");
        body["messages"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until every message of `hec` has `status`, and returns them.
    pub async fn all_become(relay: &Relay, count: usize, status: &str) -> Vec<Value> {
        eventually(Duration::from_secs(120), &format!("{count} messages are {status}"), || async {
            let messages = messages(relay).await;
            messages.len() == count && messages.iter().all(|message| message["status"] == status)
        })
        .await;
        messages(relay).await
    }

    /// The attempts of a message.
    pub async fn attempts(relay: &Relay, message: &Value) -> Vec<Value> {
        let id = message["id"].as_str().expect("message id");
        let (_, shown) = relay.get(&format!("/api/v1/messages/{id}"), &[]).await;
        shown["attempts"].as_array().cloned().unwrap_or_default()
    }

    pub async fn enabled_fake() -> FakeHec {
        let fake = FakeHec::start().await;
        fake.token(HEC_TOKEN, TokenState::Enabled);
        fake
    }

    #[tokio::test]
    async fn a_token_with_indexer_acknowledgement_gets_events_with_the_default_settings() {
        let fake = enabled_fake().await;
        fake.require_ack();
        let relay = Relay::configured(DELIVERY, &destination(&fake, "")).await;
        relay.ingest(&alert("ack token, default settings")).await;
        let delivered = all_become(&relay, 1, "delivered").await;
        assert_eq!(fake.events().len(), 1);
        let request = &fake.requests_to("/services/collector/event")[0];
        let channel = request.header("x-splunk-request-channel").expect("a data channel");
        assert!(uuid::Uuid::parse_str(channel).is_ok(), "{channel}");
        assert!(fake.requests_to("/services/collector/ack").is_empty(), "ack = false does not wait: {delivered:?}");
    }

    #[tokio::test]
    async fn with_ack_a_message_is_delivered_only_once_its_ack_id_is_acknowledged() {
        let fake = enabled_fake().await;
        fake.require_ack().ack_after_queries(Some(3));
        let settings = "ack = true\nack_timeout = \"10m\"\nack_poll_interval = \"20ms\"\nchannel = \"0f5d6c3a-2b1e-4f09-8a7b-6c5d4e3f2a10\"";
        let relay = Relay::configured(DELIVERY, &destination(&fake, settings)).await;
        relay.ingest(&alert("acknowledged after three queries")).await;
        let delivered = all_become(&relay, 1, "delivered").await;
        let queries = fake.requests_to("/services/collector/ack");
        assert_eq!(queries.len(), 3, "delivered at the third query, not before");
        for query in &queries {
            assert_eq!(query.header("x-splunk-request-channel"), Some("0f5d6c3a-2b1e-4f09-8a7b-6c5d4e3f2a10"));
            assert_eq!(query.header("authorization"), Some(format!("Splunk {HEC_TOKEN}").as_str()));
            let body: Value = serde_json::from_slice(&query.body).expect("JSON query");
            assert_eq!(body, json!({"acks": [0]}));
        }
        let attempts = attempts(&relay, &delivered[0]).await;
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0]["outcome"], "delivered");
        assert!(attempts[0]["detail"].as_str().unwrap_or_default().contains("acknowledged"), "{attempts:?}");
    }

    #[tokio::test]
    async fn acks_of_several_requests_are_asked_for_in_one_query() {
        let fake = enabled_fake().await;
        fake.require_ack().ack_after_queries(Some(1));
        // One event per request: five requests, five ack ids.
        let settings = "ack = true\nack_timeout = \"10m\"\nack_poll_interval = \"20ms\"\nmax_batch_bytes = 1";
        let relay = Relay::configured(DELIVERY, &destination(&fake, settings)).await;
        let alerts: Vec<Value> = (0..5).map(|n| alert(&format!("event {n}"))).collect();
        relay.ingest(&Value::Array(alerts)).await;
        all_become(&relay, 5, "delivered").await;
        assert_eq!(fake.requests_to("/services/collector/event").len(), 5);
        let queries = fake.requests_to("/services/collector/ack");
        assert_eq!(queries.len(), 1, "one query for the five ids");
        let body: Value = serde_json::from_slice(&queries[0].body).expect("JSON query");
        let mut ids: Vec<u64> = body["acks"].as_array().expect("ids").iter().filter_map(Value::as_u64).collect();
        ids.sort_unstable();
        assert_eq!(ids, [0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn an_ack_never_acknowledged_is_retried_after_the_ack_timeout() {
        let fake = enabled_fake().await;
        fake.require_ack().ack_after_queries(None);
        let settings = "ack = true\nack_timeout = \"300ms\"\nack_poll_interval = \"50ms\"";
        let relay = Relay::configured(DELIVERY, &destination(&fake, settings)).await;
        relay.ingest(&alert("never acknowledged")).await;
        eventually(Duration::from_secs(120), "the attempt was recorded", || async {
            let messages = messages(&relay).await;
            messages.len() == 1 && messages[0]["attempts"] == 1
        })
        .await;
        let message = messages(&relay).await.remove(0);
        assert_eq!(message["status"], "pending", "{message}");
        assert_eq!(message["tries"], 1, "counts against the retry schedule: {message}");
        let attempts = attempts(&relay, &message).await;
        assert_eq!(attempts[0]["outcome"], "retry");
        let detail = attempts[0]["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("not acknowledged within 300ms"), "{detail}");
        assert!(!fake.requests_to("/services/collector/ack").is_empty());
    }

    #[tokio::test]
    async fn an_ack_query_refused_with_a_hec_code_retries_the_message() {
        for (code, text) in [(10, "Data channel is missing"), (11, "Invalid data channel"), (14, "ACK is disabled")] {
            let fake = enabled_fake().await;
            fake.require_ack().ack_answer(400, &json!({"text": text, "code": code}).to_string());
            let settings = "ack = true\nack_timeout = \"10m\"\nack_poll_interval = \"20ms\"";
            let relay = Relay::configured(DELIVERY, &destination(&fake, settings)).await;
            relay.ingest(&alert("ack query refused")).await;
            eventually(Duration::from_secs(120), "the attempt was recorded", || async {
                let messages = messages(&relay).await;
                messages.len() == 1 && messages[0]["attempts"] == 1
            })
            .await;
            let message = messages(&relay).await.remove(0);
            assert_eq!(message["status"], "pending", "code {code}: {message}");
            let attempts = attempts(&relay, &message).await;
            assert_eq!(attempts[0]["outcome"], "retry", "code {code}");
            let detail = attempts[0]["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(text), "code {code}: {detail}");
            assert_eq!(fake.requests_to("/services/collector/ack").len(), 1, "a refusal ends the waiting");
        }
    }

    #[tokio::test]
    async fn a_413_splits_the_batch_and_an_event_too_large_alone_fails_alone() {
        let fake = enabled_fake().await;
        fake.max_content_length(2_500);
        let relay = Relay::configured(DELIVERY, &destination(&fake, "")).await;
        let mut alerts: Vec<Value> = (0..8).map(|n| alert(&format!("event {n}"))).collect();
        alerts.push(json!({"kind": "canary.incident", "title": "huge", "description": "x".repeat(4_000)}));
        relay.ingest(&Value::Array(alerts)).await;
        eventually(Duration::from_secs(120), "every message is finished", || async {
            let messages = messages(&relay).await;
            messages.len() == 9
                && messages.iter().all(|message| message["status"] != "pending" && message["status"] != "delivering")
        })
        .await;
        let messages = messages(&relay).await;
        let failed: Vec<&Value> = messages.iter().filter(|message| message["status"] == "failed").collect();
        let statuses: Vec<&Value> = messages.iter().map(|message| &message["status"]).collect();
        assert_eq!(failed.len(), 1, "{statuses:?}");
        let error = failed[0]["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("larger than the HEC accepts"), "{error}");
        assert!(error.contains("413"), "{error}");
        assert_eq!(messages.iter().filter(|message| message["status"] == "delivered").count(), 8);
        let titles: Vec<String> =
            fake.events().iter().map(|event| event["event"]["title"].as_str().unwrap_or_default().to_owned()).collect();
        assert_eq!(titles.len(), 8, "each small event indexed once: {titles:?}");
        assert!(!titles.contains(&"huge".to_owned()));
        let requests = fake.requests_to("/services/collector/event");
        assert!(requests.len() > 2, "the first batch was split: {}", requests.len());
        assert!(requests[0].body.len() > 2_500, "the first request carried the whole batch");
    }

    #[tokio::test]
    async fn batches_stay_under_max_batch_bytes() {
        let fake = enabled_fake().await;
        fake.max_content_length(2_500);
        let relay = Relay::configured(DELIVERY, &destination(&fake, "max_batch_bytes = 2500")).await;
        let alerts: Vec<Value> = (0..12).map(|n| alert(&format!("event {n}"))).collect();
        relay.ingest(&Value::Array(alerts)).await;
        all_become(&relay, 12, "delivered").await;
        let requests = fake.requests_to("/services/collector/event");
        assert!(requests.len() > 1, "more than one request");
        assert!(requests.iter().all(|request| request.body.len() <= 2_500), "no request over the cap, no 413");
        assert!(requests.iter().any(|request| crate::support::json_stream(&request.body).len() > 1), "still batched");
        assert_eq!(fake.events().len(), 12);
    }
}
