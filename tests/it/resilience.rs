//! Nothing a receiver answers, and no bug in a send, leaves a message stuck:
//! hostile `Retry-After` values are bounded or ignored, and a send that panics
//! is recorded as an attempt like any other failure.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::Relay;

/// Two attempts, the second at once, and a cap of one hour on `Retry-After`.
const SCHEDULE: &str = r#"retry_schedule = ["0s", "0s"]
jitter = 0.0
max_retry_after = "1h"
poll_interval = "50ms"
allowed_cidrs = ["127.0.0.0/8"]
"#;

/// Waits (minutes at most: only a wedged message fails) until the only
/// message of `alert_id` satisfies `done`, and returns it with its attempts.
async fn settled(relay: &Relay, alert_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let shown = relay.message_of(alert_id).await;
    let id = shown["message"]["id"].as_str().expect("message id").to_owned();
    settled_message(relay, &id, done).await
}

/// As [`settled`], for a message by id.
async fn settled_message(relay: &Relay, message_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let path = format!("/api/v1/messages/{message_id}");
    let mut shown = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while tokio::time::Instant::now() < deadline {
        shown = relay.get(&path, &[]).await.1;
        if done(&shown) {
            return shown;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("message {message_id} never settled: {shown}");
}

fn attempts(shown: &Value) -> Vec<(Value, Value)> {
    shown["attempts"]
        .as_array()
        .map(|attempts| {
            attempts.iter().map(|attempt| (attempt["http_status"].clone(), attempt["outcome"].clone())).collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_retry_after_that_is_not_a_number_of_seconds_or_a_date_is_ignored() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let extra = format!("[destinations.hook.generic]\nurl = \"{}\"\n", receiver.url("/hook"));
    let relay = Relay::configured(SCHEDULE, &extra).await;
    for value in ["1e308", "1e20", "-5", "NaN", "inf", "-inf", "1.5e3", "0x10", "soon", "5 seconds"] {
        receiver.script([Reply::new(429, "slow down").header("retry-after", value)]);
        let alert = relay.ingest(&json!({"kind": "k", "title": format!("Retry-After {value:?}")})).await;
        let id = alert[0]["alert_id"].as_str().expect("alert id");
        let shown = settled(&relay, id, |shown| shown["message"]["status"] == "delivered").await;
        // The first answer is recorded and the schedule (0s) applies, not the header.
        assert_eq!(
            attempts(&shown),
            [(json!(429), json!("retry")), (json!(200), json!("delivered"))],
            "Retry-After {value:?}: {shown}"
        );
    }
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_at_max_retry_after() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let extra = format!("[destinations.hook.generic]\nurl = \"{}\"\n", receiver.url("/hook"));
    let relay = Relay::configured(SCHEDULE, &extra).await;
    for value in ["99999999999999999999", "18446744073709551616", "86400", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        receiver.script([Reply::new(429, "slow down").header("retry-after", value)]);
        let before = Utc::now();
        let alert = relay.ingest(&json!({"kind": "k", "title": format!("Retry-After {value:?}")})).await;
        let id = alert[0]["alert_id"].as_str().expect("alert id");
        // The message row is one snapshot (its attempt list is read after it).
        let shown =
            settled(&relay, id, |shown| shown["message"]["status"] == "pending" && shown["message"]["attempts"] == 1)
                .await;
        assert_eq!(attempts(&shown), [(json!(429), json!("retry"))], "Retry-After {value:?}: {shown}");
        let next: DateTime<Utc> =
            shown["message"]["next_attempt_at"].as_str().and_then(|at| at.parse().ok()).expect("a due time");
        // One hour from the attempt; minutes of margin either way.
        let wait = next - before;
        assert!(
            wait > chrono::Duration::minutes(50) && wait < chrono::Duration::minutes(70),
            "Retry-After {value:?} gave a wait of {wait}: {shown}"
        );
    }
}

/// The net under every send: a send task that panics (here, provoked on purpose
/// through the `fault-injection` feature) becomes a recorded attempt with the
/// panic's reason for every message of its request, and the message goes on by
/// the schedule until it fails — it never stays `delivering`.
#[tokio::test]
async fn a_send_that_panics_is_a_recorded_attempt_and_the_message_fails_when_the_schedule_is_spent() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let extra = format!(
        "[destinations.panicky_hook.generic]\nurl = \"{hook}\"\n\n\
         [destinations.panicky_hec.splunk]\nhost = \"127.0.0.1\"\nport = {port}\nhttps = false\ntoken = \"hec-token\"\n",
        hook = receiver.url("/hook"),
        port = receiver.addr.port(),
    );
    flockrelay::fault::panic_on_send("panicky_hook", "injected fault in a generic send");
    flockrelay::fault::panic_on_send("panicky_hec", "injected fault in a HEC batch");
    let relay = Relay::configured(SCHEDULE, &extra).await;
    let alerts = relay
        .ingest(&json!([
            {"kind": "k", "title": "one"}, {"kind": "k", "title": "two"}, {"kind": "k", "title": "three"}
        ]))
        .await;
    for alert in &alerts {
        let id = alert["alert_id"].as_str().expect("alert id");
        let (status, listed) = relay.get("/api/v1/messages", &[("alert", id)]).await;
        assert_eq!(status, 200);
        let messages = listed["messages"].as_array().cloned().unwrap_or_default();
        assert_eq!(messages.len(), 2, "{listed}");
        for message in messages {
            let id = message["id"].as_str().expect("message id");
            let shown = settled_message(&relay, id, |shown| shown["message"]["status"] == "failed").await;
            let recorded = shown["attempts"].as_array().cloned().unwrap_or_default();
            assert_eq!(recorded.len(), 2, "every attempt is recorded: {shown}");
            for attempt in recorded {
                assert_eq!(attempt["http_status"], Value::Null, "{shown}");
                let detail = attempt["detail"].as_str().unwrap_or_default();
                assert!(detail.starts_with("the send panicked: injected fault in a"), "{shown}");
            }
        }
    }
    assert!(receiver.requests().is_empty(), "nothing was sent");
}

/// A rate limit is a number from the config file or the API: one so small that
/// its period overflows a duration still paces (one message a day at most)
/// instead of killing the destination's worker.
#[tokio::test]
async fn a_vanishingly_small_rate_limit_does_not_stop_delivery() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let extra = format!(
        "[destinations.trickle]\nrate_limit = 1e-300\n[destinations.trickle.generic]\nurl = \"{}\"\n",
        receiver.url("/hook")
    );
    let relay = Relay::configured(SCHEDULE, &extra).await;
    let alert = relay.ingest(&json!({"kind": "k", "title": "one"})).await;
    let id = alert[0]["alert_id"].as_str().expect("alert id");
    let shown = settled(&relay, id, |shown| shown["message"]["status"] == "delivered").await;
    assert_eq!(attempts(&shown), [(json!(200), json!("delivered"))]);
}
