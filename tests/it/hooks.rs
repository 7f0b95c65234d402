//! Inbound webhooks end to end: the real relay in process on 127.0.0.1:0, signed
//! requests posted with reqwest, the relayed alert asserted at a loopback
//! receiver standing in for the flock's destination.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use flockrelay::ingest::inbound::verify::standard_webhooks::StandardWebhooks;
use flockrelay::ingest::inbound::Verifier as _;
use flockrelay::signing::flock_hmac;
use flockrelay::signing::standard_webhooks::SigningKey;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, write_config, Relay, TOKEN};
use crate::support::root;

/// The Flowcode document's example secret and a second one, for rotation.
const OLD_SECRET: &str = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
const NEW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FLOCK_SECRET: &str = "your_shared_secret";
const BASIC_PASSWORD: &str = "basic-pass-0123456789";
const CLIENT_SECRET: &str = "client-secret-0123456789";
const BEARER_TOKEN: &str = "canary-bearer-0123456789";
/// Every secret the test relay knows, so log and API checks can look for them.
const SECRETS: [&str; 6] = [OLD_SECRET, NEW_SECRET, FLOCK_SECRET, BASIC_PASSWORD, CLIENT_SECRET, BEARER_TOKEN];

/// Minutes: only a relay that never does it fails, not a slow machine.
const DEADLINE: Duration = Duration::from_secs(120);

/// A relay with one flock whose own destination is the receiver, and one source
/// of every scheme attached to that flock.
struct Setup {
    relay: Relay,
    receiver: Receiver,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

fn config_text(receiver: &Receiver) -> String {
    format!(
        r#"
[flocks."flock:campaigns"]
name = "Campaigns"
use_global = false
enabled = true

[destinations.sink]
flock = "flock:campaigns"
[destinations.sink.generic]
url = "{url}"

[sources.flowcode]
flock = "flock:campaigns"
scheme = "standard_webhooks"
secrets = ["{OLD_SECRET}", "{NEW_SECRET}"]

[sources.rotated]
flock = "flock:campaigns"
scheme = "standard_webhooks"
secrets = ["{NEW_SECRET}"]

[sources.referrals]
flock = "flock:campaigns"
scheme = "flock_hmac"
secret = "{FLOCK_SECRET}"

[sources.flowingly]
flock = "flock:campaigns"
scheme = "basic"
username = "flowingly"
password = "{BASIC_PASSWORD}"

[sources.flowingly_secret]
flock = "flock:campaigns"
scheme = "client_secret"
secret = "{CLIENT_SECRET}"

[sources.console]
flock = "flock:campaigns"
scheme = "bearer"
token = "{BEARER_TOKEN}"

[sources.lab]
flock = "flock:campaigns"
scheme = "none"

[sources.switched_off]
flock = "flock:campaigns"
enabled = false
scheme = "none"
"#,
        url = receiver.url("/sink"),
    )
}

impl Setup {
    async fn start() -> Self {
        let receiver = Receiver::start(Reply::new(200, "ok")).await;
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = write_config(dir.path(), &config_text(&receiver));
        let relay = Relay::from_file(&path).await;
        Self { relay, receiver, dir, http: reqwest::Client::new() }
    }

    async fn restart(self) -> Self {
        let Self { relay, receiver, dir, http } = self;
        relay.stop().await;
        let relay = Relay::from_file(&dir.path().join("relay.toml")).await;
        Self { relay, receiver, dir, http }
    }

    /// Posts to `/hooks/<source>`; returns the status and the JSON answer.
    async fn post(&self, source: &str, headers: &[(&str, String)], body: impl Into<Vec<u8>>) -> (u16, Value) {
        let mut request = self.http.post(self.relay.url(&format!("/hooks/{source}"))).body(body.into());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("relay answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("reads the answer");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, String) {
        let mut request = self.http.request(method, self.relay.url(path)).header("X-Canary-Auth-Token", TOKEN);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("relay answers");
        (response.status().as_u16(), response.text().await.expect("reads the answer"))
    }

    async fn metrics(&self) -> String {
        self.http.get(self.relay.url("/metrics")).send().await.expect("answers").text().await.expect("reads")
    }

    /// The relayed alerts (generic JSON bodies), waiting until there are `n`.
    async fn relayed(&self, n: usize) -> Vec<Value> {
        eventually(DEADLINE, &format!("{n} alert(s) were relayed"), || async { self.receiver.requests().len() >= n })
            .await;
        self.receiver
            .requests()
            .iter()
            .map(|request| serde_json::from_slice(&request.body).expect("relayed body is JSON"))
            .collect()
    }

    /// Messages the relay stored for an alert (through the operator API).
    async fn messages_of(&self, alert_id: &str) -> Vec<Value> {
        let (status, text) = self.api(reqwest::Method::GET, &format!("/api/v1/messages?alert={alert_id}"), None).await;
        assert_eq!(status, 200, "{text}");
        let answer: Value = serde_json::from_str(&text).expect("JSON");
        answer["messages"].as_array().cloned().unwrap_or_default()
    }
}

/// Request headers as (name, value).
type Headers = Vec<(&'static str, String)>;

/// Standard Webhooks headers for `body`, signed with `secrets` at `timestamp`.
fn standard_headers(id: &str, timestamp: i64, secrets: &[&str], body: &[u8]) -> Headers {
    let signature = secrets
        .iter()
        .map(|secret| SigningKey::from_secret(secret).expect("valid secret").sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ");
    vec![("webhook-id", id.to_owned()), ("webhook-timestamp", timestamp.to_string()), ("webhook-signature", signature)]
}

fn event_body(kind: &str) -> Vec<u8> {
    json!({"type": kind, "timestamp": "2026-03-14T09:30:00Z", "data": {"code": "qr-42", "scans": 3}})
        .to_string()
        .into_bytes()
}

fn unique_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

fn basic(username: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{username}:{password}")))
}

#[tokio::test]
async fn an_event_signed_by_the_reference_crate_is_relayed_to_the_flock() {
    let setup = Setup::start().await;
    let body = event_body("qr_code.scanned");
    let id = unique_id("msg");
    let now = Utc::now().timestamp();
    let reference = standardwebhooks::Webhook::new(NEW_SECRET).expect("valid secret");
    let signature = reference.sign(&id, now, &body).expect("signs");
    let headers =
        [("webhook-id", id.clone()), ("webhook-timestamp", now.to_string()), ("webhook-signature", signature)];

    let (status, answer) = setup.post("flowcode", &headers, body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["duplicate"], false);
    assert_eq!(answer["alert_id"], format!("hook:flowcode:{id}"));

    let relayed = setup.relayed(1).await;
    assert_eq!(relayed[0]["id"], format!("hook:flowcode:{id}"));
    assert_eq!(relayed[0]["kind"], "qr_code.scanned");
    assert_eq!(relayed[0]["flock_id"], "flock:campaigns");
    assert_eq!(relayed[0]["details"]["code"], "qr-42");
}

#[tokio::test]
async fn our_signature_verifies_with_the_reference_crate_and_at_the_relay() {
    let setup = Setup::start().await;
    let body = event_body("link.created");
    let id = unique_id("msg");
    let headers = standard_headers(&id, Utc::now().timestamp(), &[OLD_SECRET], &body);
    let mut map = axum::http::HeaderMap::new();
    for (name, value) in &headers {
        map.insert(*name, value.parse().expect("valid header"));
    }
    standardwebhooks::Webhook::new(OLD_SECRET)
        .expect("valid secret")
        .verify(&body, &map)
        .expect("the reference crate accepts ours");

    let (status, answer) = setup.post("flowcode", &headers, body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(setup.relayed(1).await[0]["kind"], "link.created");
}

#[tokio::test]
async fn the_official_vectors_verify_through_the_source_verifier() {
    for vector in crate::support::standard_webhooks_vectors() {
        let verifier = StandardWebhooks::new("vectors", &[flockrelay::secret::Secret::new(vector.secret.clone())]);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("webhook-id", vector.msg_id.parse().expect("valid header"));
        headers.insert("webhook-timestamp", vector.timestamp.to_string().parse().expect("valid header"));
        headers.insert("webhook-signature", vector.expected_signature.parse().expect("valid header"));
        let at = chrono::DateTime::from_timestamp(vector.timestamp, 0).expect("valid time");
        let verified = verifier
            .verify(&headers, vector.payload.as_bytes(), at)
            .unwrap_or_else(|error| panic!("{}: {error}", vector.name));
        assert_eq!(verified.event_id.as_deref(), Some(vector.msg_id.as_str()));
        assert!(verifier.verify(&headers, format!("{} ", vector.payload).as_bytes(), at).is_err(), "{}", vector.name);
    }
}

#[tokio::test]
async fn bad_signatures_are_refused_with_401_revealing_nothing_and_counted() {
    let setup = Setup::start().await;
    let body = event_body("qr_code.scanned");
    let now = Utc::now().timestamp();
    let id = unique_id("msg");
    let good = standard_headers(&id, now, &[NEW_SECRET], &body);
    let without = |name: &str| good.iter().filter(|(header, _)| *header != name).cloned().collect::<Vec<_>>();
    let cases: Vec<(&str, Headers, Vec<u8>)> = vec![
        ("tampered body", good.clone(), event_body("qr_code.deleted")),
        ("wrong secret", standard_headers(&id, now, &["whsec_c2VjcmV0LW5vYm9keS1rbm93cw=="], &body), body.clone()),
        // An hour outside the ±5 minute window, so a slow machine cannot carry the
        // request back inside it (the exact boundary is pinned by the verifiers'
        // unit tests, which take `now` as an argument).
        ("expired timestamp", standard_headers(&id, now - 3600, &[NEW_SECRET], &body), body.clone()),
        ("future timestamp", standard_headers(&id, now + 3600, &[NEW_SECRET], &body), body.clone()),
        ("missing webhook-id", without("webhook-id"), body.clone()),
        ("missing webhook-timestamp", without("webhook-timestamp"), body.clone()),
        ("missing webhook-signature", without("webhook-signature"), body.clone()),
        (
            "not a v1 signature",
            vec![good[0].clone(), good[1].clone(), ("webhook-signature", "v2,abc".into())],
            body.clone(),
        ),
        ("no headers at all", Vec::new(), body.clone()),
    ];
    for (case, headers, body) in cases {
        let (status, answer) = setup.post("flowcode", &headers, body).await;
        assert_eq!(status, 401, "{case}: {answer}");
        assert_eq!(answer, json!({"result": "error", "message": "unauthorized"}), "{case}");
    }
    assert!(setup.messages_of(&format!("flowcode:{id}")).await.is_empty(), "nothing was enqueued");

    let (status, _) = setup.post("flowcode", &good, body).await;
    assert_eq!(status, 202, "the untouched request still passes");
    let metrics = setup.metrics().await;
    for line in [
        r#"flockrelay_requests_rejected_total{reason="hook_bad_credentials"} 2"#,
        r#"flockrelay_requests_rejected_total{reason="hook_stale_timestamp"} 2"#,
        r#"flockrelay_requests_rejected_total{reason="hook_missing_credentials"} 4"#,
        r#"flockrelay_requests_rejected_total{reason="hook_malformed_credentials"} 1"#,
        r#"flockrelay_alerts_received_total{source="hook:flowcode"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line} in:\n{metrics}");
    }
}

#[tokio::test]
async fn a_rotated_secret_keeps_working_and_a_retired_one_stops() {
    let setup = Setup::start().await;
    let now = Utc::now().timestamp();
    let body = event_body("qr_code.scanned");
    for (source, secrets, expected) in [
        ("flowcode", vec![OLD_SECRET], 202),
        ("flowcode", vec![NEW_SECRET], 202),
        ("flowcode", vec![OLD_SECRET, NEW_SECRET], 202),
        ("rotated", vec![NEW_SECRET], 202),
        ("rotated", vec![OLD_SECRET], 401),
        ("rotated", vec![OLD_SECRET, NEW_SECRET], 202),
    ] {
        let headers = standard_headers(&unique_id("msg"), now, &secrets, &body);
        let (status, answer) = setup.post(source, &headers, body.clone()).await;
        assert_eq!(status, expected, "{source} signed with {} secret(s): {answer}", secrets.len());
    }
    assert_eq!(setup.relayed(5).await.len(), 5);
}

#[tokio::test]
async fn a_duplicate_webhook_id_is_acknowledged_but_relayed_once_even_after_a_restart() {
    let setup = Setup::start().await;
    let body = event_body("qr_code.scanned");
    let id = unique_id("msg");
    let alert_id = format!("hook:flowcode:{id}");

    let (status, answer) = setup
        .post("flowcode", &standard_headers(&id, Utc::now().timestamp(), &[NEW_SECRET], &body), body.clone())
        .await;
    assert_eq!((status, answer["duplicate"].clone()), (202, json!(false)), "{answer}");
    setup.relayed(1).await;

    // The sender retries: same webhook-id, fresh timestamp and signature.
    let retry = standard_headers(&id, Utc::now().timestamp(), &[OLD_SECRET], &body);
    let (status, answer) = setup.post("flowcode", &retry, body.clone()).await;
    assert_eq!((status, answer["duplicate"].clone(), answer["alert_id"].clone()), (202, json!(true), json!(alert_id)));

    let setup = setup.restart().await;
    let (status, answer) = setup.post("flowcode", &retry, body).await;
    assert_eq!((status, answer["duplicate"].clone()), (202, json!(true)), "recognised after a restart: {answer}");

    assert_eq!(setup.messages_of(&alert_id).await.len(), 1, "one message, from the first delivery only");
    assert_eq!(setup.receiver.requests().len(), 1);
}

#[tokio::test]
async fn oversized_malformed_and_unmappable_bodies_are_4xx_never_5xx() {
    let setup = Setup::start().await;
    let now = Utc::now().timestamp();

    let large = format!("{{\"type\":\"x\",\"data\":{{\"pad\":\"{}\"}}}}", "a".repeat(5000)).into_bytes();
    let (status, _) =
        setup.post("flowcode", &standard_headers(&unique_id("msg"), now, &[NEW_SECRET], &large), large).await;
    assert_eq!(status, 413, "past the body limit");

    let garbage = b"{\"type\": not json".to_vec();
    let (status, answer) =
        setup.post("flowcode", &standard_headers(&unique_id("msg"), now, &[NEW_SECRET], &garbage), garbage).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().is_some_and(|message| message.contains("not valid JSON")), "{answer}");

    let not_canary = json!({"hello": "world"}).to_string();
    let bearer = [("authorization", format!("Bearer {BEARER_TOKEN}"))];
    let (status, answer) = setup.post("console", &bearer, not_canary).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().is_some_and(|message| message.contains("does not map")), "{answer}");

    // Random headers and bodies at every source: always an answer below 500.
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_b0d1);
    let names =
        ["webhook-id", "webhook-timestamp", "webhook-signature", "x-flock-signature", "authorization", "content-type"];
    for source in ["flowcode", "referrals", "flowingly", "flowingly_secret", "console", "lab", "nope", "..%2F"] {
        for _ in 0..15 {
            let mut headers: Vec<(&str, String)> = Vec::new();
            for name in names {
                if rng.random_bool(0.5) {
                    let length = rng.random_range(0..40);
                    headers.push((name, (0..length).map(|_| char::from(rng.random_range(0x21_u8..0x7f))).collect()));
                }
            }
            let body: Vec<u8> = (0..rng.random_range(0..300)).map(|_| rng.random()).collect();
            let (status, answer) = setup.post(source, &headers, body).await;
            assert!(status < 500, "{source}: {status} {answer}");
        }
    }
    let metrics = setup.metrics().await;
    for reason in ["hook_too_large", "hook_bad_body", "hook_unmappable", "hook_unknown_source"] {
        assert!(metrics.contains(&format!("reason=\"{reason}\"")), "missing {reason} in:\n{metrics}");
    }
}

/// The seed's example payload, as `JSON.stringify` sends it, at `timestamp`.
fn flock_body(timestamp: i64) -> String {
    json!({
        "name": "invitee.accepted",
        "entity": "invitee",
        "entityId": "customer_67890",
        "data": {
            "campaignId": "campaign_12345",
            "referrer": {"id": "customer_12345"},
            "invitee": {"id": "customer_67890"},
            "inviteeReward": {"id": "c_reward_12345"},
            "referrerReward": {"id": "c_reward_67890"}
        },
        "timestamp": timestamp
    })
    .to_string()
}

#[tokio::test]
async fn the_flock_example_is_verified_over_the_body_as_sent_and_relayed() {
    let setup = Setup::start().await;
    // The seed as published: signature computed with Python's hmac (see
    // src/ingest/inbound/verify/flock_hmac.rs); it verifies, but 2022 is outside the window.
    let seed = flock_body(1_641_234_567);
    let seed_signature = "3c6f9b6c6bbd29fe46d25a0e6ad20558325d476cbc4c7d9a5aadf98651ec5cc1";
    assert_eq!(flock_hmac::sign(FLOCK_SECRET.as_bytes(), seed.as_bytes()), seed_signature);
    let (status, _) = setup.post("referrals", &[("X-Flock-Signature", seed_signature.into())], seed.clone()).await;
    assert_eq!(status, 401, "the seed's own timestamp is years old");
    let placeholder = "abcdef1234567890abcdef1234567890abcdef1234567890";
    let (status, _) = setup.post("referrals", &[("X-Flock-Signature", placeholder.into())], seed).await;
    assert_eq!(status, 401, "the seed's placeholder signature verifies under no secret");

    let now = Utc::now().timestamp();
    let body = flock_body(now);
    let signature = flock_hmac::sign(FLOCK_SECRET.as_bytes(), body.as_bytes());
    let (status, _) =
        setup.post("referrals", &[("X-Flock-Signature", signature.clone())], body.replace("12345", "99999")).await;
    assert_eq!(status, 401, "tampered");
    let (status, answer) = setup.post("referrals", &[("X-Flock-Signature", signature)], body.clone()).await;
    assert_eq!(status, 202, "{answer}");

    let relayed = setup.relayed(1).await;
    assert_eq!(relayed[0]["kind"], "invitee.accepted");
    assert_eq!(relayed[0]["flock_id"], "flock:campaigns");
    assert_eq!(relayed[0]["title"], "Flock invitee.accepted: invitee customer_67890");
    assert_eq!(relayed[0]["details"]["campaignId"], "campaign_12345");

    // An hour old: far outside the window however slowly this test runs.
    let stale = flock_body(now - 3600);
    let (status, _) = setup
        .post("referrals", &[("X-Flock-Signature", flock_hmac::sign(FLOCK_SECRET.as_bytes(), stale.as_bytes()))], stale)
        .await;
    assert_eq!(status, 401, "expired payload timestamp");
    let undated = json!({"name": "invitee.accepted"}).to_string();
    let (status, _) = setup
        .post(
            "referrals",
            &[("X-Flock-Signature", flock_hmac::sign(FLOCK_SECRET.as_bytes(), undated.as_bytes()))],
            undated,
        )
        .await;
    assert_eq!(status, 400, "authentic but without a timestamp");
}

#[tokio::test]
async fn basic_client_secret_bearer_and_none_sources() {
    let setup = Setup::start().await;
    let step = json!({"FlowName": "Onboarding", "StepName": "Approve laptop", "Requester": "ana"});

    let (status, _) =
        setup.post("flowingly", &[("authorization", basic("flowingly", BASIC_PASSWORD))], step.to_string()).await;
    assert_eq!(status, 202);
    for headers in [
        vec![("authorization", basic("flowingly", "wrong"))],
        vec![("authorization", basic("other", BASIC_PASSWORD))],
        Vec::new(),
    ] {
        let (status, _) = setup.post("flowingly", &headers, step.to_string()).await;
        assert_eq!(status, 401);
    }

    let mut with_secret = step.clone();
    with_secret["client_secret"] = json!(CLIENT_SECRET);
    let (status, _) = setup.post("flowingly_secret", &[], with_secret.to_string()).await;
    assert_eq!(status, 202);
    with_secret["client_secret"] = json!("client-secret-wrong");
    let (status, _) = setup.post("flowingly_secret", &[], with_secret.to_string()).await;
    assert_eq!(status, 401);

    let incident = std::fs::read_to_string(root().join("tests/fixtures/canary-incident.json")).expect("fixture");
    let (status, answer) =
        setup.post("console", &[("authorization", format!("Bearer {BEARER_TOKEN}"))], incident.clone()).await;
    assert_eq!(status, 202, "{answer}");
    let (status, _) =
        setup.post("console", &[("authorization", "Bearer canary-bearer-wrong".into())], incident.clone()).await;
    assert_eq!(status, 401);

    let (status, _) = setup.post("lab", &[], json!({"kind": "lab.test", "title": "Unverified"}).to_string()).await;
    assert_eq!(status, 202, "scheme none accepts without credentials");
    for source in ["switched_off", "no_such_source", "%FF%FE", "UPPER"] {
        let (status, answer) = setup.post(source, &[], json!({"kind": "k", "title": "t"}).to_string()).await;
        assert_eq!((status, answer), (401, json!({"result": "error", "message": "unauthorized"})), "{source}");
    }

    let relayed = setup.relayed(4).await;
    let kinds: Vec<&str> = relayed.iter().filter_map(|alert| alert["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|kind| **kind == "flowingly.step").count(), 2, "{kinds:?}");
    assert!(kinds.contains(&"canary.incident") && kinds.contains(&"lab.test"), "{kinds:?}");
    let flowingly =
        relayed.iter().find(|alert| alert["title"] == "Flowingly step Approve laptop in Onboarding").expect("relayed");
    assert_eq!(flowingly["details"]["Requester"], "ana");
    for request in setup.receiver.requests() {
        let text = String::from_utf8_lossy(&request.body);
        assert!(SECRETS.iter().all(|secret| !text.contains(secret)), "a credential was relayed: {text}");
    }
}

#[tokio::test]
async fn the_sources_api_lists_without_secrets_adds_and_removes() {
    let setup = Setup::start().await;
    let response = setup.http.get(setup.relay.url("/api/v1/sources")).send().await.expect("answers");
    assert_eq!(response.status().as_u16(), 401, "the API needs its token");

    let (status, text) = setup.api(reqwest::Method::GET, "/api/v1/sources", None).await;
    assert_eq!(status, 200, "{text}");
    assert!(SECRETS.iter().all(|secret| !text.contains(secret)), "a secret is listed: {text}");
    let listed: Value = serde_json::from_str(&text).expect("JSON");
    let flowcode = listed["sources"]
        .as_array()
        .and_then(|sources| sources.iter().find(|source| source["id"] == "flowcode"))
        .expect("listed");
    assert_eq!(
        *flowcode,
        json!({"id": "flowcode", "flock_id": "flock:campaigns", "enabled": true, "scheme": "standard_webhooks",
               "template": "standard_webhooks_event", "origin": "config", "endpoint": "/hooks/flowcode", "secret_count": 2})
    );

    let added_secret = "whsec_YWRkZWQtdGhyb3VnaC10aGUtYXBpLTAxMjM0NTY=";
    let new_source =
        json!({"id": "svix", "flock": "flock:campaigns", "scheme": "standard_webhooks", "secrets": [added_secret]});
    let (status, text) = setup.api(reqwest::Method::POST, "/api/v1/sources", Some(new_source.clone())).await;
    assert_eq!(status, 201, "{text}");
    assert!(!text.contains(added_secret), "{text}");
    let (status, _) = setup.api(reqwest::Method::POST, "/api/v1/sources", Some(new_source)).await;
    assert_eq!(status, 409, "the id exists");

    let body = event_body("invoice.paid");
    let (status, answer) = setup
        .post(
            "svix",
            &standard_headers(&unique_id("msg"), Utc::now().timestamp(), &[added_secret], &body),
            body.clone(),
        )
        .await;
    assert_eq!(status, 202, "{answer}");

    let invalid = json!({"id": "Bad Id", "flock": "flock:nowhere", "scheme": "standard_webhooks", "secrets": ["whsec_c2Vj", "not-whsec"], "token": "x"});
    let (status, text) = setup.api(reqwest::Method::POST, "/api/v1/sources", Some(invalid)).await;
    assert_eq!(status, 400);
    for key in
        ["id: source ids", "flock: unknown flock", "secrets[1]", "token: is not used by scheme standard_webhooks"]
    {
        assert!(text.contains(key), "missing `{key}` in {text}");
    }
    let typo = json!({"id": "t", "scheme": "bearer", "token": "tok", "tempalte": "x"});
    let (status, text) = setup.api(reqwest::Method::POST, "/api/v1/sources", Some(typo)).await;
    assert!(status == 400 && text.contains("tempalte"), "{status} {text}");
    let unknown_template = json!({"id": "t", "scheme": "none", "template": "nope"});
    let (status, text) = setup.api(reqwest::Method::POST, "/api/v1/sources", Some(unknown_template)).await;
    assert!(status == 400 && text.contains("no mapping template named `nope`"), "{status} {text}");

    let (status, _) = setup.api(reqwest::Method::DELETE, "/api/v1/sources/flowcode", None).await;
    assert_eq!(status, 409, "config sources are removed in the file");
    let (status, _) = setup.api(reqwest::Method::DELETE, "/api/v1/sources/svix", None).await;
    assert_eq!(status, 200);
    let (status, _) = setup.api(reqwest::Method::DELETE, "/api/v1/sources/svix", None).await;
    assert_eq!(status, 404);
    let (status, _) = setup
        .post("svix", &standard_headers(&unique_id("msg"), Utc::now().timestamp(), &[added_secret], &body), body)
        .await;
    assert_eq!(status, 401, "a removed source accepts nothing");
}

/// The real binary's JSON log lines, collected as they are written.
#[derive(Clone, Default)]
struct LogLines(Arc<Mutex<Vec<Value>>>);

impl LogLines {
    fn snapshot(&self) -> Vec<Value> {
        self.0.lock().expect("lock").clone()
    }
}

// The real binary (`flockrelay serve`), so that the production log set-up is what
// is checked, in its own process (a thread-local subscriber would race with the
// other tests over tracing's shared callsite cache).
#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_logged_with_their_reason_and_without_secrets() {
    use tokio::io::AsyncBufReadExt as _;

    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = write_config(dir.path(), &config_text(&receiver));
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_flockrelay"));
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("FLOCKRELAY_")) {
        command.env_remove(key);
    }
    command
        .arg("--config")
        .arg(&path)
        .arg("serve")
        .env("FLOCKRELAY_LOG", "debug")
        .env("FLOCKRELAY_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let lines = LogLines::default();
    let collector = {
        let lines = lines.clone();
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                lines.0.lock().expect("lock").push(value);
            }
        })
    };
    let serving = |lines: &LogLines| {
        lines.snapshot().iter().find_map(|line| {
            (line["fields"]["message"] == "flockrelay is serving.")
                .then(|| line["fields"]["address"].as_str().map(str::to_owned))?
        })
    };
    eventually(DEADLINE, "the relay serves", || async { serving(&lines).is_some() }).await;
    let address = serving(&lines).expect("the relay logged its address");
    let http = reqwest::Client::new();
    let post = |source: &str, headers: Headers, body: Vec<u8>| {
        let mut request = http.post(format!("http://{address}/hooks/{source}")).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        async move { request.send().await.expect("relay answers").status().as_u16() }
    };

    let body = event_body("qr_code.scanned");
    let now = Utc::now().timestamp();
    let tampered = standard_headers(&unique_id("msg"), now, &[NEW_SECRET], &event_body("other"));
    assert_eq!(post("flowcode", tampered, body.clone()).await, 401);
    assert_eq!(
        post("flowcode", standard_headers(&unique_id("msg"), now - 3600, &[OLD_SECRET], &body), body.clone()).await,
        401
    );
    assert_eq!(
        post("flowingly", vec![("authorization", basic("flowingly", "presented-password-42"))], b"{}".to_vec()).await,
        401
    );
    assert_eq!(post("console", vec![("authorization", "Bearer presented-token-42".into())], b"{}".to_vec()).await, 401);
    let mut with_secret = json!({"StepName": "x", "client_secret": "presented-client-secret-42"});
    assert_eq!(post("flowingly_secret", Vec::new(), with_secret.to_string().into_bytes()).await, 401);
    with_secret["client_secret"] = json!(CLIENT_SECRET);
    assert_eq!(post("flowingly_secret", Vec::new(), with_secret.to_string().into_bytes()).await, 202);
    assert_eq!(post("nowhere", Vec::new(), b"{}".to_vec()).await, 401);
    eventually(DEADLINE, "the accepted event was relayed", || async { !receiver.requests().is_empty() }).await;

    child.kill().await.expect("stops the relay");
    collector.await.expect("collector ends");
    let logs: Vec<String> = lines.snapshot().iter().map(Value::to_string).collect();
    let all = logs.join("\n");
    let mut reasons: Vec<String> = lines
        .snapshot()
        .iter()
        .filter(|line| {
            line["fields"]["message"].as_str().is_some_and(|message| message.starts_with("Inbound webhook refused"))
        })
        .filter_map(|line| line["fields"]["reason"].as_str().map(str::to_owned))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "hook_bad_credentials",
            "hook_bad_credentials",
            "hook_bad_credentials",
            "hook_bad_credentials",
            "hook_stale_timestamp",
            "hook_unknown_source"
        ],
        "one log line per refusal, with its reason:\n{all}"
    );
    assert!(all.contains("Inbound webhook accepted."), "{all}");
    let presented = ["presented-password-42", "presented-token-42", "presented-client-secret-42"];
    for secret in SECRETS.iter().chain(&presented) {
        assert!(!all.contains(secret), "`{secret}` was logged:\n{all}");
    }
}
