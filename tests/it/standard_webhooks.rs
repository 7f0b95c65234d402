//! Standard Webhooks in both directions, as the spec (standardwebhooks.com,
//! `spec/standard-webhooks.md`) and the Svix libraries have it: a sender retries
//! every non-2xx answer except 410 Gone, unless the destination lists the status
//! as permanent; outbound bodies use the spec's `{"type", "timestamp", "data"}`
//! envelope; inbound requests may use the `svix-*` header names; a `whsec_`
//! secret must decode to at least 24 bytes.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay};

/// Fast retries, the receiver's loopback network allowed explicitly.
const FAST: &str = r#"retry_schedule = ["0s", "50ms", "50ms", "50ms", "50ms", "50ms"]
jitter = 0.0
timeout = "2s"
lease = "10s"
poll_interval = "50ms"
allowed_cidrs = ["127.0.0.0/8"]
"#;

fn alert(title: &str) -> Value {
    json!({"kind": "canary.incident", "title": title, "description": "Port scan from 10.0.0.9"})
}

/// A generic destination `hook` on `receiver`, plus `extra` keys in its table.
fn hook(receiver: &Receiver, extra: &str) -> String {
    format!("[destinations.hook.generic]\nurl = \"{}\"\n{extra}\n", receiver.url("/hook"))
}

async fn wait_for_status(relay: &Relay, alert_id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let shown = relay.message_of(alert_id).await;
        if shown["message"]["status"] == status {
            return shown;
        }
        assert!(tokio::time::Instant::now() < deadline, "the message of {alert_id} never became {status}: {shown}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn attempt_statuses(shown: &Value) -> Vec<Value> {
    shown["attempts"]
        .as_array()
        .map(|attempts| attempts.iter().map(|attempt| attempt["http_status"].clone()).collect())
        .unwrap_or_default()
}

async fn ingest_one(relay: &Relay, title: &str) -> String {
    relay.ingest(&alert(title)).await[0]["alert_id"].as_str().expect("alert id").to_owned()
}

// ── retries as the spec has them ────────────────────────────────────────────

#[tokio::test]
async fn a_redeploying_receiver_gets_the_message_on_a_later_attempt() {
    // 401, 403, 404 and a redirect while the receiver comes back: each is a
    // failed attempt, retried, never the message's end.
    let receiver = Receiver::start(Reply::new(204, "")).await;
    receiver.script([
        Reply::new(401, "not ready"),
        Reply::new(403, "not ready"),
        Reply::new(404, "no route yet"),
        Reply::new(307, "").header("location", "http://127.0.0.1:9/elsewhere"),
    ]);
    let relay = Relay::configured(FAST, &hook(&receiver, "")).await;
    let alert_id = ingest_one(&relay, "redeploy").await;
    let shown = wait_for_status(&relay, &alert_id, "delivered").await;
    assert_eq!(attempt_statuses(&shown), [json!(401), json!(403), json!(404), json!(307), json!(204)], "{shown}");
    let outcomes: Vec<&str> =
        shown["attempts"].as_array().expect("attempts").iter().filter_map(|a| a["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["retry", "retry", "retry", "retry", "delivered"]);
}

#[tokio::test]
async fn gone_still_disables_and_listed_statuses_fail_at_once() {
    let receiver = Receiver::start(Reply::new(422, "unprocessable")).await;
    let relay = Relay::configured(FAST, &hook(&receiver, "permanent_statuses = [400, 422]")).await;
    let alert_id = ingest_one(&relay, "refused").await;
    let shown = wait_for_status(&relay, &alert_id, "failed").await;
    assert_eq!(attempt_statuses(&shown), [json!(422)], "a listed status is not retried: {shown}");
    assert!(shown["message"]["last_error"].as_str().is_some_and(|error| error.contains("unprocessable")), "{shown}");

    let gone = Receiver::start(Reply::new(410, "gone")).await;
    let relay = Relay::configured(FAST, &hook(&gone, "")).await;
    let alert_id = ingest_one(&relay, "gone").await;
    wait_for_status(&relay, &alert_id, "failed").await;
    eventually(Duration::from_secs(10), "the destination was disabled", || async {
        let (_, listed) = relay.get("/api/v1/destinations", &[]).await;
        listed["destinations"][0]["enabled"] == false
    })
    .await;
    assert_eq!(gone.requests().len(), 1);
}

#[tokio::test]
async fn permanent_statuses_are_validated_in_the_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("flockrelay.toml");
    std::fs::write(
        &path,
        "[destinations.hook.generic]\nurl = \"https://hooks.example/x\"\npermanent_statuses = [404, 200, 600]\n",
    )
    .expect("writes");
    let error = flockrelay::config::load(Some(&path)).expect_err("refused").to_string();
    for key in [
        "destinations.hook.generic.permanent_statuses[1]: must be an HTTP status from 300 to 599",
        "destinations.hook.generic.permanent_statuses[2]: must be an HTTP status from 300 to 599",
    ] {
        assert!(error.contains(key), "missing `{key}` in {error}");
    }
    assert!(!error.contains("permanent_statuses[0]"), "{error}");
}

#[tokio::test]
async fn the_management_api_takes_permanent_statuses_for_a_generic_webhook() {
    let receiver = Receiver::start(Reply::new(404, "no such hook")).await;
    let relay = Relay::configured(FAST, "").await;
    let add = "/api/v1/flock/settings/webhooks/generic/add";
    let url = receiver.url("/api-hook");
    for (value, needle) in [("404,200", "200"), ("abc", "abc"), ("99999", "99999")] {
        let (status, body) =
            relay.post(add, &[("flock_id", "global"), ("url", &url), ("permanent_statuses", value)]).await;
        assert_eq!(status, 400, "{body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("invalid permanent_statuses") && message.contains(needle), "{message}");
    }
    let (status, body) =
        relay.post(add, &[("flock_id", "global"), ("url", &url), ("permanent_statuses", "404, 422")]).await;
    assert_eq!(status, 200, "{body}");
    let alert_id = ingest_one(&relay, "through the API").await;
    let shown = wait_for_status(&relay, &alert_id, "failed").await;
    assert_eq!(attempt_statuses(&shown), [json!(404)], "{shown}");
}
