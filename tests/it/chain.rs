//! Relay → relay: relay A's generic destinations post, one per scheme, to relay
//! B's `/hooks/<source>`; B verifies each and relays it to a recording receiver.
//! What A signs or authenticates with is exactly what B checks.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay};

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FLOCK_SECRET: &str = "chain-flock-secret-0123456789";
const PASSWORD: &str = "chain-basic-password-0123";
const TOKEN: &str = "chain-bearer-token-0123456789";
const CLIENT_SECRET: &str = "chain-client-secret-0123456789";

const DELIVERY: &str = r#"retry_schedule = ["0s", "100ms", "100ms"]
jitter = 0.0
timeout = "30s"
lease = "10m"
poll_interval = "50ms"
allowed_cidrs = ["127.0.0.0/8"]
"#;

/// Relay B: one source per scheme, every verified event relayed to `sink`.
fn relay_b(sink: &Receiver) -> String {
    format!(
        r#"
[destinations.sink.generic]
url = "{sink}"

[sources.sw]
scheme = "standard_webhooks"
secrets = ["{WHSEC}"]

[sources.flock]
scheme = "flock_hmac"
secret = "{FLOCK_SECRET}"

[sources.basic]
scheme = "basic"
username = "relay-a"
password = "{PASSWORD}"

[sources.bearer]
scheme = "bearer"
token = "{TOKEN}"

[sources.cs]
scheme = "client_secret"
secret = "{CLIENT_SECRET}"
"#,
        sink = sink.url("/sink")
    )
}

/// Relay A: one generic destination per scheme, each posting to B.
fn relay_a(b: &Relay) -> String {
    let hook = |source: &str| b.url(&format!("/hooks/{source}"));
    format!(
        r#"
[destinations.to_sw.generic]
url = "{sw}"
signing = {{ scheme = "standard_webhooks", secrets = ["{WHSEC}"] }}

[destinations.to_flock.generic]
url = "{flock}"
signing = {{ scheme = "flock_hmac", secret = "{FLOCK_SECRET}" }}

[destinations.to_basic.generic]
url = "{basic}"
auth = {{ type = "basic", username = "relay-a", password = "{PASSWORD}" }}

[destinations.to_bearer.generic]
url = "{bearer}"
auth = {{ type = "bearer", token = "{TOKEN}" }}

[destinations.to_cs.generic]
url = "{cs}"
auth = {{ type = "client_secret", secret = "{CLIENT_SECRET}" }}
"#,
        sw = hook("sw"),
        flock = hook("flock"),
        basic = hook("basic"),
        bearer = hook("bearer"),
        cs = hook("cs"),
    )
}

#[tokio::test]
async fn an_alert_crosses_from_relay_to_relay_under_every_scheme() {
    let sink = Receiver::start(Reply::new(204, "")).await;
    let b = Relay::configured(DELIVERY, &relay_b(&sink)).await;
    let a = Relay::configured(DELIVERY, &relay_a(&b)).await;

    let alert = json!({"kind": "canary.incident", "title": "Chained \u{2028} alert", "severity": "high",
                       "description": "Port scan from 10.0.0.9", "details": {"ports": [22, 445], "big": 1e21}});
    let stored = a.ingest(&alert).await;
    assert_eq!(stored[0]["messages"], 5, "one message per destination of A");
    let alert_id = stored[0]["alert_id"].as_str().expect("alert id").to_owned();

    eventually(Duration::from_secs(120), "B relayed the alert once per scheme", || async {
        sink.requests().len() >= 5
    })
    .await;
    // Each of A's messages was accepted by B (202), not retried or failed. A
    // records its attempts just after B has answered.
    eventually(Duration::from_secs(120), "A recorded its five attempts", || async {
        let (_, listed) = a.get("/api/v1/messages", &[("alert", &alert_id)]).await;
        listed["messages"].as_array().is_some_and(|messages| {
            messages.len() == 5 && messages.iter().all(|message| message["status"] != "delivering")
        })
    })
    .await;
    let (_, listed) = a.get("/api/v1/messages", &[("alert", &alert_id)]).await;
    let messages = listed["messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 5, "{listed}");
    for message in &messages {
        assert_eq!(message["status"], "delivered", "{message}");
    }
    let (_, shown) = a.get(&format!("/api/v1/messages/{}", messages[0]["id"].as_str().expect("id")), &[]).await;
    assert_eq!(shown["attempts"][0]["http_status"], 202, "{shown}");

    let relayed: Vec<Value> =
        sink.requests().iter().map(|request| serde_json::from_slice(&request.body).expect("JSON")).collect();
    assert_eq!(relayed.len(), 5);
    // Alert ids are namespaced by source (`<source>:…`, or `hook:<source>:…`).
    let by_source = |source: &str| {
        let from = |id: &str| id.strip_prefix("hook:").unwrap_or(id).starts_with(&format!("{source}:"));
        relayed
            .iter()
            .find(|alert| alert["id"].as_str().is_some_and(from))
            .unwrap_or_else(|| panic!("nothing relayed through source {source}: {relayed:#?}"))
            .clone()
    };
    // Standard Webhooks and Flock carry the kind across (envelope `type`, event `name`).
    assert_eq!(by_source("sw")["kind"], "canary.incident");
    assert_eq!(by_source("sw")["details"]["title"], "Chained \u{2028} alert");
    assert_eq!(by_source("flock")["kind"], "canary.incident");
    assert_eq!(by_source("flock")["details"]["severity"], "high");
    // A bearer source reads the body as an alert of its own.
    assert_eq!(by_source("bearer")["kind"], "canary.incident");
    assert_eq!(by_source("bearer")["title"], "Chained \u{2028} alert");
    // Basic and client secret use the Flowingly step mapping, the alert in details.
    for source in ["basic", "cs"] {
        assert_eq!(by_source(source)["kind"], "flowingly.step");
        assert_eq!(by_source(source)["details"]["title"], "Chained \u{2028} alert", "{source}");
    }
    let everything = relayed.iter().map(Value::to_string).collect::<String>();
    for secret in [FLOCK_SECRET, PASSWORD, TOKEN, CLIENT_SECRET] {
        assert!(!everything.contains(secret), "B relayed a credential: {secret}");
    }
}
