//! Generic JSON webhook adapter against a loopback endpoint: headers, auth,
//! signatures checked by an independent implementation, and every answer class.

use std::collections::BTreeMap;
use std::time::Duration;

use flockrelay::destination::Destination;
use flockrelay::notify::generic::config::{GenericAuth, GenericSettings, Signing};
use flockrelay::notify::Channel;
use flockrelay::notify::Outcome;
use flockrelay::secret::Secret;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::support::receiver::{Receiver, Reply};
use crate::support::{assert_golden, canary_alert, deliver_once, deliver_with_timeout, destination, hostile_alert};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEXT_SECRET: &str = "whsec_bmV4dC1zZWNyZXQtZm9yLXJvdGF0aW9uLTAxMjM0NQ==";

fn generic(receiver: &Receiver, auth: Option<GenericAuth>, signing: Option<Signing>) -> Destination {
    destination(
        "siem_hook",
        Channel::Generic(GenericSettings {
            url: receiver.url("/hooks/alerts?team=soc").parse().expect("valid URL"),
            headers: BTreeMap::from([
                ("X-Api-Key".to_owned(), Secret::new("key-123456")),
                ("X-Team".to_owned(), Secret::new("blue")),
            ]),
            auth,
            signing,
            permanent_statuses: Vec::new(),
        }),
    )
}

#[tokio::test]
async fn posts_json_with_custom_headers_matching_the_golden_file() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let delivery = deliver_once(&generic(&receiver, None, None), &canary_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    assert_eq!(request.method, "POST");
    assert_eq!(request.uri.to_string(), "/hooks/alerts?team=soc");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-api-key"), Some("key-123456"));
    assert_eq!(request.header("x-team"), Some("blue"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("webhook-signature"), None);
    assert_golden("generic/golden/canary-incident.json", &request.body);
}

#[tokio::test]
async fn standard_webhooks_signatures_verify_with_the_reference_crate() {
    let receiver = Receiver::start(Reply::new(204, "")).await;
    let signing = Signing::StandardWebhooks { secrets: vec![Secret::new(SECRET), Secret::new(NEXT_SECRET)] };
    let destination = generic(&receiver, None, Some(signing));
    assert_eq!(deliver_once(&destination, &canary_alert()).await.outcome, Outcome::Delivered);
    assert_eq!(deliver_once(&destination, &canary_alert()).await.outcome, Outcome::Delivered);
    let requests = receiver.requests();
    for request in &requests {
        assert_eq!(request.header("webhook-id"), Some("msg_2Xq9s0uTRYbgIsHxO8nsdIjYV4r"));
        let signatures: Vec<&str> = request.header("webhook-signature").expect("signed").split(' ').collect();
        assert_eq!(signatures.len(), 2, "one signature per secret while rotating");
        // Receivers on either secret accept the message.
        for secret in [SECRET, NEXT_SECRET] {
            let webhook = standardwebhooks::Webhook::new(secret).expect("valid secret");
            webhook.verify(&request.body, &request.headers).expect("signature verifies");
        }
        let stranger =
            standardwebhooks::Webhook::new("whsec_c3RyYW5nZXItc2VjcmV0LTAxMjM0NTY3ODk=").expect("valid secret");
        assert!(stranger.verify(&request.body, &request.headers).is_err());
        let mut tampered = request.body.to_vec();
        tampered[1] ^= 1;
        let webhook = standardwebhooks::Webhook::new(SECRET).expect("valid secret");
        assert!(webhook.verify(&tampered, &request.headers).is_err());
    }
}

#[tokio::test]
async fn flock_signature_is_the_hex_hmac_of_the_body() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let signing = Signing::FlockHmac { secret: Secret::new("your_shared_secret") };
    let delivery = deliver_once(&generic(&receiver, None, Some(signing)), &canary_alert()).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let request = receiver.single();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"your_shared_secret").expect("key");
    mac.update(&request.body);
    assert_eq!(request.header("x-flock-signature"), Some(hex::encode(mac.finalize().into_bytes()).as_str()));
}

#[tokio::test]
async fn basic_bearer_and_client_secret_auth() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let basic = GenericAuth::Basic { username: "relay".into(), password: Secret::new("p@ss:word") };
    let bearer = GenericAuth::Bearer { token: Secret::new("tok-abcdef") };
    let client = GenericAuth::ClientSecret { secret: Secret::new("flowingly-secret-1"), field: "client_secret".into() };
    for auth in [basic, bearer, client] {
        assert_eq!(
            deliver_once(&generic(&receiver, Some(auth), None), &canary_alert()).await.outcome,
            Outcome::Delivered
        );
    }
    let requests = receiver.requests();
    // printf 'relay:p@ss:word' | base64
    assert_eq!(requests[0].header("authorization"), Some("Basic cmVsYXk6cEBzczp3b3Jk"));
    assert_eq!(requests[1].header("authorization"), Some("Bearer tok-abcdef"));
    assert_eq!(requests[2].header("authorization"), None);
    let body: Value = serde_json::from_slice(&requests[2].body).expect("JSON");
    assert_eq!(body["client_secret"], "flowingly-secret-1");
    assert_eq!(body["id"], "3f6c3f2a9b8e4d1c");
}

#[tokio::test]
async fn every_answer_is_classified_and_redirects_are_not_followed() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let destination = generic(&receiver, None, None);
    let elsewhere = receiver.url("/elsewhere");
    let cases: Vec<(Reply, &str, Option<Duration>, bool)> = vec![
        (Reply::new(201, "created"), "delivered", None, false),
        (Reply::new(408, "slow"), "retry", None, false),
        (Reply::new(425, "too early"), "retry", None, false),
        (Reply::new(429, "slow down").header("retry-after", "120"), "retry", Some(Duration::from_secs(120)), false),
        (
            Reply::new(503, "down").header("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
            "retry",
            Some(Duration::ZERO),
            false,
        ),
        // Standard Webhooks: every other answer is a failed attempt, retried.
        (Reply::new(301, "").header("location", &elsewhere), "retry", None, false),
        (Reply::new(307, "").header("location", &elsewhere), "retry", None, false),
        (Reply::new(400, "bad"), "retry", None, false),
        (Reply::new(401, "who"), "retry", None, false),
        (Reply::new(404, "where").header("retry-after", "30"), "retry", Some(Duration::from_secs(30)), false),
        (Reply::new(410, "gone"), "failed", None, true),
    ];
    receiver.script(cases.iter().map(|(reply, ..)| reply.clone()));
    for (reply, label, after, disable) in &cases {
        let delivery = deliver_once(&destination, &canary_alert()).await;
        assert_eq!(delivery.outcome.label(), *label, "{reply:?}: {:?}", delivery.outcome);
        match &delivery.outcome {
            Outcome::Retry { after: got, .. } => assert_eq!(got, after, "{reply:?}"),
            Outcome::Failed { disable_destination, .. } => assert_eq!(disable_destination, disable, "{reply:?}"),
            _ => {}
        }
    }
    assert!(receiver.requests().iter().all(|request| request.uri.path() == "/hooks/alerts"));
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_retried() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    // Ten minutes late against a 300 ms timeout: only the timeout can end it.
    receiver.script([Reply::new(200, "").delayed(Duration::from_secs(600))]);
    let destination = generic(&receiver, None, None);
    let delivery = deliver_with_timeout(&destination, &canary_alert(), Duration::from_millis(300)).await;
    assert_eq!(delivery.outcome.label(), "retry");
    assert!(delivery.outcome.reason().is_some_and(|reason| reason.contains("timed out")), "{:?}", delivery.outcome);

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.local_addr().expect("address").port()
    };
    let mut refused = generic(&receiver, None, None);
    if let Channel::Generic(settings) = &mut refused.channel {
        settings.url = format!("http://127.0.0.1:{closed}/hook").parse().expect("valid URL");
    }
    let delivery = deliver_once(&refused, &canary_alert()).await;
    assert_eq!(delivery.outcome.label(), "retry");
    assert_eq!(delivery.status, None);
}

#[tokio::test]
async fn hostile_text_still_makes_valid_json() {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let alert = hostile_alert();
    let delivery = deliver_once(&generic(&receiver, None, None), &alert).await;
    assert_eq!(delivery.outcome, Outcome::Delivered);
    let body: Value = serde_json::from_slice(&receiver.single().body).expect("valid JSON");
    // Nothing is lost or altered on the way: the text arrives exactly as it was.
    assert_eq!(body["description"].as_str(), Some(alert.description.as_str()));
    assert_eq!(body["title"].as_str(), Some(alert.title.as_str()));
    assert_eq!(body["details"], Value::Object(alert.details.clone()));
}
