//! The loop guard: a relay never delivers to its own listening address, and the
//! hop count each request carries (`X-Flockrelay-Hops`) ends a loop through
//! other relays after a few hops. Each test reproduces the flood an unguarded
//! relay runs into (generic destinations posting back to `/hooks/…` of a source
//! with `scheme = "none"`) and proves that it ends.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay, Setup};

/// Long enough for a loaded machine; the tests wait for a state, not a time.
const DEADLINE: Duration = Duration::from_secs(120);

/// A source that accepts anything: what the flood of the report went through.
const OPEN_SOURCE: &str = "[sources.lab]\nscheme = \"none\"\n";

async fn open_relay() -> Relay {
    Relay::with(Setup { extra: OPEN_SOURCE.into(), ..Setup::default() }).await
}

/// Adds a generic destination of the global set through the management API.
async fn add_generic(relay: &Relay, url: &str) {
    let (status, body) =
        relay.post("/api/v1/flock/settings/webhooks/generic/add", &[("flock_id", "global"), ("url", url)]).await;
    assert_eq!(status, 200, "{body}");
}

/// Every stored message (newest first).
async fn messages(relay: &Relay) -> Vec<Value> {
    let (status, body) = relay.get("/api/v1/messages", &[("limit", "1000")]).await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().cloned().unwrap_or_default()
}

fn finished(messages: &[Value]) -> bool {
    messages.iter().all(|message| !matches!(message["status"].as_str(), Some("pending" | "delivering")))
}

fn alert_ids(messages: &[Value]) -> BTreeSet<String> {
    messages.iter().filter_map(|message| message["alert_id"].as_str().map(str::to_owned)).collect()
}

async fn metrics(relay: &Relay) -> String {
    relay.client.get(relay.url("/metrics")).send().await.expect("metrics").text().await.expect("text")
}

/// The value of one counter line of the Prometheus text, 0 when absent.
fn counter(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(line_start))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

async fn attempts(relay: &Relay, message_id: &str) -> Vec<Value> {
    let (_, shown) = relay.get(&format!("/api/v1/messages/{message_id}"), &[]).await;
    shown["attempts"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_relay_pointing_at_itself_under_another_name_refuses_the_destination() {
    let relay = open_relay().await;
    let port = relay.base.rsplit(':').next().expect("a port").to_owned();
    // Its own address, by literal and by a name that resolves to it.
    add_generic(&relay, &format!("http://127.0.0.1:{port}/hooks/lab")).await;
    add_generic(&relay, &format!("http://localhost:{port}/hooks/lab")).await;
    relay.ingest(&json!({"kind": "canary.incident", "title": "One alert"})).await;

    eventually(DEADLINE, "both messages finished", || async {
        let all = messages(&relay).await;
        all.len() >= 2 && finished(&all)
    })
    .await;
    let all = messages(&relay).await;
    assert_eq!(all.len(), 2, "one alert, one message per destination, nothing relayed back: {all:?}");
    for message in &all {
        assert_eq!(message["status"], "failed", "{message}");
        let id = message["id"].as_str().expect("id");
        let detail = attempts(&relay, id).await[0]["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains(&format!("is this relay's own listening address (127.0.0.1:{port})")), "{detail}");
    }
    let text = metrics(&relay).await;
    assert_eq!(counter(&text, "flockrelay_alerts_received_total{source=\"hook:lab\"}"), 0.0, "{text}");
}

#[tokio::test]
async fn two_relays_pointing_at_each_other_stop_at_the_hop_limit() {
    let first = open_relay().await;
    let second = open_relay().await;
    // Each relays every alert twice to the other's open source.
    for (from, to) in [(&first, &second), (&second, &first)] {
        add_generic(from, &to.url("/hooks/lab?copy=1")).await;
        add_generic(from, &to.url("/hooks/lab?copy=2")).await;
    }
    first.ingest(&json!({"id": "flood", "kind": "canary.incident", "title": "One alert"})).await;

    // Hops 0 and 2 are stored by the first relay, 1 and 3 by the second; the
    // requests of hop 4 are refused. (The second copy of each hop is the same
    // alert id again: acknowledged as a duplicate, not stored twice.)
    eventually(DEADLINE, "the loop ended and every message finished", || async {
        let (a, b) = (messages(&first).await, messages(&second).await);
        a.len() + b.len() >= 8 && finished(&a) && finished(&b)
    })
    .await;
    let (a, b) = (messages(&first).await, messages(&second).await);
    let alerts: BTreeSet<String> = alert_ids(&a).union(&alert_ids(&b)).cloned().collect();
    assert_eq!(alerts.len(), 4, "a bounded number of alerts: {alerts:?}");
    assert_eq!(a.len() + b.len(), 8, "two messages per alert");
    let mut hops: Vec<u64> = a.iter().chain(&b).filter_map(|message| message["hops"].as_u64()).collect();
    hops.sort_unstable();
    assert_eq!(hops, vec![0, 0, 1, 1, 2, 2, 3, 3], "each alert keeps the hop count it came with");

    // The last hop's requests were refused by the first relay, with a 4xx naming why.
    let last: Vec<&Value> = b.iter().filter(|message| message["hops"] == 3).collect();
    for message in last {
        assert_eq!(message["status"], "failed", "{message}");
        let attempt = &attempts(&second, message["id"].as_str().expect("id")).await[0];
        assert_eq!(attempt["http_status"], 400, "{attempt}");
        assert!(attempt["detail"].as_str().unwrap_or_default().contains("loop"), "{attempt}");
    }
    let text = metrics(&first).await;
    assert!(counter(&text, "flockrelay_requests_rejected_total{reason=\"hook_loop\"}") >= 2.0, "{text}");
}

#[tokio::test]
async fn the_hop_count_is_stored_with_the_alert_and_sent_on_every_attempt_and_replay() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::with(Setup {
        extra: format!("{OPEN_SOURCE}\n[destinations.sink.generic]\nurl = \"{}\"\n", receiver.url("/sink")),
        ..Setup::default()
    })
    .await;
    // An API alert is hop 0: its requests say 1.
    relay.ingest(&json!({"kind": "canary.incident", "title": "From the API"})).await;
    // A hook request that passed two relays already: its alert is hop 2.
    let response = relay
        .client
        .post(relay.url("/hooks/lab"))
        .header("X-Flockrelay-Hops", "2")
        .body(json!({"id": "relayed", "kind": "canary.incident", "title": "From a relay"}).to_string())
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status().as_u16(), 202);
    eventually(DEADLINE, "both were delivered", || async { receiver.requests().len() == 2 }).await;
    let mut sent: Vec<String> = receiver
        .requests()
        .iter()
        .map(|request| request.header("x-flockrelay-hops").unwrap_or("missing").to_owned())
        .collect();
    sent.sort();
    assert_eq!(sent, vec!["1", "3"]);

    let all = messages(&relay).await;
    let relayed = all.iter().find(|message| message["hops"] == 2).expect("the hook alert's message");
    let id = relayed["id"].as_str().expect("id");
    let (status, body) = relay.post_raw(&format!("/api/v1/messages/{id}/replay"), "").await;
    assert_eq!(status, 200, "{body}");
    eventually(DEADLINE, "the replay was delivered", || async { receiver.requests().len() == 3 }).await;
    assert_eq!(receiver.requests()[2].header("x-flockrelay-hops"), Some("3"), "a replay keeps the hop count");
}

#[tokio::test]
async fn hooks_refuse_requests_past_the_hop_limit_with_a_4xx_naming_why() {
    let relay = open_relay().await;
    let post = |hops: &'static str| {
        relay
            .client
            .post(relay.url("/hooks/lab"))
            .header("X-Flockrelay-Hops", hops)
            .body(json!({"kind": "canary.incident", "title": "Hop"}).to_string())
            .send()
    };
    let answer = post("3").await.expect("answers");
    assert_eq!(answer.status().as_u16(), 202, "three hops are still fine");
    for (hops, reason) in [("4", "hook_loop"), ("99999999999999999999", "hook_loop"), ("two", "hook_bad_hops")] {
        let answer = post(hops).await.expect("answers");
        assert_eq!(answer.status().as_u16(), 400, "{hops}");
        let body: Value = serde_json::from_slice(&answer.bytes().await.expect("reads")).expect("JSON");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("X-Flockrelay-Hops"), "{hops}: {message}");
        let text = metrics(&relay).await;
        assert!(counter(&text, &format!("flockrelay_requests_rejected_total{{reason=\"{reason}\"}}")) >= 1.0, "{text}");
    }
    let text = metrics(&relay).await;
    assert_eq!(counter(&text, "flockrelay_requests_rejected_total{reason=\"hook_loop\"}"), 2.0, "{text}");
}
