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
timeout = "30s"
lease = "10m"
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
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
    eventually(Duration::from_secs(120), "the destination was disabled", || async {
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

// ── the envelope, the svix-* names, secret length ───────────────────────────

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// `whsec_` + base64("sixteen-byte-key"): valid base64, but only 16 bytes.
const SHORT_SECRET: &str = "whsec_c2l4dGVlbi1ieXRlLWtleQ==";

#[tokio::test]
async fn a_signed_destination_sends_the_spec_envelope_so_the_kind_survives() {
    let receiver = Receiver::start(Reply::new(204, "")).await;
    let signing = format!("signing = {{ scheme = \"standard_webhooks\", secrets = [\"{SECRET}\"] }}");
    let relay = Relay::configured(FAST, &hook(&receiver, &signing)).await;
    let sent = json!({"kind": "canarytoken.aws_key", "title": "AWS key used", "severity": "high",
                      "timestamp": "2026-03-14T09:30:00Z", "details": {"key": "AKIA…"}});
    let alert_id = relay.ingest(&sent).await[0]["alert_id"].as_str().expect("id").to_owned();
    wait_for_status(&relay, &alert_id, "delivered").await;
    let request = receiver.single();
    standardwebhooks::Webhook::new(SECRET)
        .expect("valid secret")
        .verify(&request.body, &request.headers)
        .expect("the reference crate verifies the request");
    let body: Value = serde_json::from_slice(&request.body).expect("JSON");
    let keys: Vec<&str> = body.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys, ["type", "timestamp", "data"], "{body}");
    assert_eq!(body["type"], "canarytoken.aws_key");
    assert_eq!(body["timestamp"], "2026-03-14T09:30:00Z");
    assert_eq!(body["data"]["id"], alert_id.as_str());
    assert_eq!(body["data"]["title"], "AWS key used");
    assert_eq!(body["data"]["severity"], "high");
    assert_eq!(body["data"]["details"], json!({"key": "AKIA…"}));
}

/// A relay with a Standard Webhooks source `svix` whose alerts go to `receiver`.
async fn relay_with_source(receiver: &Receiver) -> Relay {
    let config =
        format!("{}\n[sources.svix]\nscheme = \"standard_webhooks\"\nsecrets = [\"{SECRET}\"]\n", hook(receiver, ""));
    Relay::configured(FAST, &config).await
}

#[tokio::test]
async fn svix_header_names_are_accepted_like_the_webhook_ones() {
    let receiver = Receiver::start(Reply::new(204, "")).await;
    let relay = relay_with_source(&receiver).await;
    let http = reqwest::Client::new();
    let body = br#"{"type":"invoice.paid","timestamp":"2026-03-14T09:30:00Z","data":{"id":"in_1"}}"#;
    let id = format!("msg_{}", uuid::Uuid::now_v7().simple());
    let now = chrono::Utc::now().timestamp();
    let signature = standardwebhooks::Webhook::new(SECRET).expect("valid").sign(&id, now, body).expect("signs");
    let post = |prefix: &'static str, signature: String| {
        http.post(relay.url("/hooks/svix"))
            .header(format!("{prefix}-id"), &id)
            .header(format!("{prefix}-timestamp"), now.to_string())
            .header(format!("{prefix}-signature"), signature)
            .body(body.to_vec())
            .send()
    };
    let answer = post("svix", signature.clone()).await.expect("answers");
    assert_eq!(answer.status(), 202);
    let first: Value = serde_json::from_slice(&answer.bytes().await.expect("reads")).expect("JSON");
    assert_eq!(first["duplicate"], false, "{first}");
    eventually(Duration::from_secs(120), "the event was relayed", || async { receiver.requests().len() == 1 }).await;
    let relayed: Value = serde_json::from_slice(&receiver.single().body).expect("JSON");
    assert_eq!(relayed["kind"], "invoice.paid");

    // The same event under the webhook-* names is the same event: a duplicate.
    let again = post("webhook", signature).await.expect("answers").bytes().await.expect("reads");
    let again: Value = serde_json::from_slice(&again).expect("JSON");
    assert_eq!(again["duplicate"], true, "{again}");
    // A wrong signature under the svix names is refused like any other.
    let wrong = post("svix", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into()).await.expect("answers");
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn a_short_whsec_secret_is_refused_in_the_config_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("flockrelay.toml");
    std::fs::write(
        &path,
        format!(
            "[destinations.hook.generic]\nurl = \"https://hooks.example/x\"\n\
             signing = {{ scheme = \"standard_webhooks\", secrets = [\"{SECRET}\", \"{SHORT_SECRET}\"] }}\n\n\
             [sources.svix]\nscheme = \"standard_webhooks\"\nsecrets = [\"{SHORT_SECRET}\"]\n"
        ),
    )
    .expect("writes");
    let error = flockrelay::config::load(Some(&path)).expect_err("refused").to_string();
    for key in ["destinations.hook.generic.signing.secrets[1]: ", "sources.svix.secrets[0]: "] {
        let line = error.lines().find(|line| line.contains(key)).unwrap_or_else(|| panic!("no `{key}` in {error}"));
        assert!(line.contains("16 bytes") && line.contains("at least 24"), "{line}");
    }
    assert!(!error.contains("secrets[0]: ") || !error.contains("destinations.hook.generic.signing.secrets[0]"));
    assert!(!error.contains("c2l4dGVlbi1ieXRlLWtleQ"), "the secret is echoed: {error}");
}

#[tokio::test]
async fn a_short_whsec_secret_is_refused_by_the_sources_and_management_apis() {
    let receiver = Receiver::start(Reply::new(204, "")).await;
    let relay = relay_with_source(&receiver).await;
    let source = json!({"id": "short", "scheme": "standard_webhooks", "secrets": [SECRET, SHORT_SECRET]});
    let request = relay
        .client
        .post(relay.url("/api/v1/sources"))
        .header("X-Canary-Auth-Token", crate::support::relay::TOKEN)
        .header("content-type", "application/json")
        .body(source.to_string());
    let (status, answer) = crate::support::relay::answer(request).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.contains("secrets[1]") && message.contains("at least 24"), "{message}");
    assert!(!answer.to_string().contains("c2l4dGVlbi1ieXRlLWtleQ"), "{answer}");

    let add = "/api/v1/flock/settings/webhooks/generic/add";
    let url = receiver.url("/signed");
    let params = |secret: &'static str| {
        [("flock_id", "global"), ("url", url.as_str()), ("signing", "standard_webhooks"), ("signing_secret", secret)]
    };
    let (status, answer) = relay.post(add, &params(SHORT_SECRET)).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("invalid signing_secret") && message.contains("at least 24"), "{message}");
    assert!(!answer.to_string().contains("c2l4dGVlbi1ieXRlLWtleQ"), "{answer}");
    let (status, answer) = relay.post(add, &[("flock_id", "global"), ("url", &url), ("signing", "pgp")]).await;
    assert_eq!(status, 400, "{answer}");

    // A good secret: the webhook signs, and the reference crate verifies.
    let (status, answer) = relay.post(add, &params(SECRET)).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) =
        relay.post("/api/v1/flock/settings/webhooks/generic/test", &[("flock_id", "global"), ("url", &url)]).await;
    assert_eq!(status, 200, "{answer}");
    let signed = receiver.requests().into_iter().find(|request| request.uri.path() == "/signed").expect("sent");
    standardwebhooks::Webhook::new(SECRET).expect("valid").verify(&signed.body, &signed.headers).expect("verifies");
    let listed = relay.get("/api/v1/flock/settings/webhooks/generic/list", &[("flock_id", "global")]).await.1;
    assert!(!listed.to_string().contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "{listed}");
}

#[tokio::test]
async fn the_envelope_matches_its_golden_file() {
    use flockrelay::notify::generic::config::{GenericSettings, Signing};
    use flockrelay::notify::Channel;
    use flockrelay::secret::Secret;
    let receiver = Receiver::start(Reply::new(204, "")).await;
    let destination = crate::support::destination(
        "signed",
        Channel::Generic(GenericSettings {
            url: receiver.url("/signed").parse().expect("valid URL"),
            headers: Default::default(),
            auth: None,
            signing: Some(Signing::StandardWebhooks { secrets: vec![Secret::new(SECRET)] }),
            permanent_statuses: Vec::new(),
        }),
    );
    let delivery = crate::support::deliver_once(&destination, &crate::support::canary_alert()).await;
    assert_eq!(delivery.outcome, flockrelay::notify::Outcome::Delivered);
    crate::support::assert_golden("generic/golden/canary-incident.standard-webhooks.json", &receiver.single().body);
}
