//! Destination-wide failures pause the destination, not each message: a HEC
//! refusing the token, a removed Slack webhook, a Teams workflow refusing its
//! signature. The breaker opens with the channel's reason (API, metric, log),
//! the queue is kept without counting against any message's retry schedule, and
//! after the cool-down one trial decides.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::hec::{FakeHec, TokenState};
use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay};

const HEC_TOKEN: &str = "7d3e1f0a-4b2c-4d5e-8f9a-0b1c2d3e4f5a";

/// Sends are held by the fake services instead of timing out, and a paused
/// destination tries again after a second.
const DELIVERY: &str = r#"allowed_cidrs = ["127.0.0.0/8"]
retry_schedule = ["0s", "10m"]
jitter = 0.0
timeout = "5m"
lease = "30m"
poll_interval = "50ms"
concurrency = 1
breaker_cooldown = "1s"
"#;

fn alerts(count: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|n| json!({"kind": "canary.incident", "title": format!("alert {n}"), "description": "Port scan"}))
            .collect(),
    )
}

async fn messages(relay: &Relay, destination: &str) -> Vec<Value> {
    let (status, body) = relay.get("/api/v1/messages", &[("destination", destination), ("limit", "1000")]).await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().cloned().unwrap_or_default()
}

async fn breaker(relay: &Relay) -> Value {
    let (_, listed) = relay.get("/api/v1/destinations", &[]).await;
    listed["destinations"][0]["breaker"].clone()
}

async fn metrics(relay: &Relay) -> String {
    relay.client.get(relay.url("/metrics")).send().await.expect("metrics").text().await.expect("text")
}

/// Waits until the breaker shows a pause whose reason contains `reason`.
async fn paused_because(relay: &Relay, reason: &str) -> Value {
    eventually(Duration::from_secs(120), &format!("the destination is paused because of {reason}"), || async {
        breaker(relay).await["reason"].as_str().is_some_and(|shown| shown.contains(reason))
    })
    .await;
    breaker(relay).await
}

/// Every message still queued, none failed, and no attempt counted against a
/// retry schedule.
async fn assert_queue_kept(relay: &Relay, destination: &str, count: usize) {
    // The round that met the refusal is recorded (and its unsent messages
    // handed back) just after the breaker shows the pause.
    eventually(Duration::from_secs(120), "the paused round is recorded", || async {
        messages(relay, destination).await.iter().all(|message| message["status"] != "delivering")
    })
    .await;
    let messages = messages(relay, destination).await;
    assert_eq!(messages.len(), count);
    for message in &messages {
        assert_eq!(message["status"], "pending", "{message}");
        assert_eq!(message["tries"], 0, "a pause is not a try: {message}");
    }
}

async fn all_delivered(relay: &Relay, destination: &str, count: usize) {
    eventually(Duration::from_secs(120), "every message is delivered", || async {
        let messages = messages(relay, destination).await;
        messages.len() == count && messages.iter().all(|message| message["status"] == "delivered")
    })
    .await;
}

#[tokio::test]
async fn a_hec_refusing_the_token_pauses_the_destination_and_delivers_the_queue_once_fixed() {
    // The collector does not know the token yet: code 4, "Invalid token".
    let fake = FakeHec::start().await;
    fake.hold_after(1);
    let destination = format!(
        "[destinations.hec.splunk]\nhost = \"127.0.0.1\"\nport = {}\ntoken = \"{HEC_TOKEN}\"\nhttps = false\n",
        fake.addr.port()
    );
    let relay = Relay::configured(DELIVERY, &destination).await;
    relay.ingest(&alerts(20)).await;

    let shown = paused_because(&relay, "HEC code 4: Invalid token").await;
    assert!(matches!(shown["state"].as_str(), Some("open" | "half_open")), "{shown}");
    assert_eq!(shown["cause"], "hec_code_4", "{shown}");
    let requests = fake.requests_to("/services/collector/event");
    assert!(!requests.is_empty() && requests.len() <= 2, "one answered request (and perhaps the held trial)");
    assert_eq!(crate::support::json_stream(&requests[0].body).len(), 20, "the 20 events went out together");
    assert_queue_kept(&relay, "hec", 20).await;
    let scraped = metrics(&relay).await;
    assert!(scraped.contains(r#"flockrelay_destination_paused{destination="hec",cause="hec_code_4"} 1"#), "{scraped}");

    // The token is fixed: the trial succeeds and the whole queue follows.
    fake.token(HEC_TOKEN, TokenState::Enabled);
    fake.release();
    all_delivered(&relay, "hec", 20).await;
    assert_eq!(fake.events().len(), 20);
    let shown = breaker(&relay).await;
    assert_eq!(shown["state"], "closed", "{shown}");
    assert!(shown.get("reason").is_none(), "{shown}");
    assert!(!metrics(&relay).await.contains("flockrelay_destination_paused{"), "the pause metric is gone");
}

#[tokio::test]
async fn a_disabled_hec_token_pauses_too() {
    let fake = FakeHec::start().await;
    fake.token(HEC_TOKEN, TokenState::Disabled).hold_after(1);
    let destination = format!(
        "[destinations.hec.splunk]\nhost = \"127.0.0.1\"\nport = {}\ntoken = \"{HEC_TOKEN}\"\nhttps = false\n",
        fake.addr.port()
    );
    let relay = Relay::configured(DELIVERY, &destination).await;
    relay.ingest(&alerts(3)).await;
    let shown = paused_because(&relay, "Token disabled").await;
    assert_eq!(shown["cause"], "hec_code_1");
    assert_queue_kept(&relay, "hec", 3).await;
    fake.token(HEC_TOKEN, TokenState::Enabled);
    fake.release();
    all_delivered(&relay, "hec", 3).await;
}

#[tokio::test]
async fn a_removed_slack_webhook_pauses_the_destination_instead_of_failing_each_message() {
    for (status, error) in
        [(404, "no_service"), (403, "action_prohibited"), (404, "channel_not_found"), (403, "invalid_token")]
    {
        let slack = Receiver::start(Reply::new(200, "ok")).await;
        slack.script([Reply::new(status, error)]);
        let gate = crate::support::receiver::Gate::default();
        slack.hold_after(1, gate.clone());
        let destination = format!(
            "[destinations.chat]\nrate_limit = 1000.0\n\n[destinations.chat.slack]\nurl = \"{}\"\n",
            slack.url("/services/T1/B2/slacksecrettoken")
        );
        let relay = Relay::configured(DELIVERY, &destination).await;
        relay.ingest(&alerts(20)).await;
        let shown = paused_because(&relay, error).await;
        assert_eq!(shown["cause"], format!("slack_{error}"), "{shown}");
        assert!(slack.requests().len() <= 2, "{error}: one answered request (and perhaps the held trial)");
        assert_queue_kept(&relay, "chat", 20).await;
        let scraped = metrics(&relay).await;
        let line = format!(r#"flockrelay_destination_paused{{destination="chat",cause="slack_{error}"}} 1"#);
        assert!(scraped.contains(&line), "{scraped}");
        gate.open();
        all_delivered(&relay, "chat", 20).await;
    }
}

#[tokio::test]
async fn a_teams_workflow_refusing_its_signature_pauses_the_destination() {
    for status in [401, 403, 404] {
        let teams = Receiver::start(Reply::new(202, "")).await;
        teams
            .script([Reply::new(status, r#"{"error":{"code":"DirectApiAuthorizationRequired","message":"refused"}}"#)]);
        let gate = crate::support::receiver::Gate::default();
        teams.hold_after(1, gate.clone());
        let destination = format!(
            "[destinations.teams.ms_teams]\nurl = \"{}\"\n",
            teams.url("/workflows/1/invoke?sig=teamssecretsignature")
        );
        let relay = Relay::configured(DELIVERY, &destination).await;
        relay.ingest(&alerts(5)).await;
        let shown = paused_because(&relay, &format!("HTTP {status}")).await;
        assert_eq!(shown["cause"], format!("http_{status}"), "{shown}");
        assert!(!shown.to_string().contains("teamssecretsignature"), "{shown}");
        assert_queue_kept(&relay, "teams", 5).await;
        gate.open();
        all_delivered(&relay, "teams", 5).await;
    }
}
