use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};

use super::config::{GenericAuth, GenericSettings, Signing};
use super::payload::*;
use crate::notify::{json_request, AttemptContext, ChannelAnswer, Outcome};
use crate::secret::Secret;

fn settings() -> GenericSettings {
    GenericSettings {
        url: "https://hooks.example/in".parse().expect("valid URL"),
        headers: BTreeMap::from([
            ("X-Team".to_owned(), Secret::new("soc")),
            ("Content-Type".to_owned(), Secret::new("application/vnd.alert+json")),
        ]),
        auth: None,
        signing: None,
        permanent_statuses: Vec::new(),
    }
}

fn header<'a>(request: &'a crate::notify::OutboundRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
}

#[test]
fn custom_headers_replace_ours_and_are_redacted() {
    let settings = settings();
    let mut request = json_request(settings.url.clone(), b"{}".to_vec());
    apply_headers(&mut request, &settings);
    assert_eq!(header(&request, "content-type"), Some("application/vnd.alert+json"));
    assert_eq!(request.headers.iter().filter(|(name, _)| name.eq_ignore_ascii_case("content-type")).count(), 1);
    assert!(!request.to_masked_string().contains("soc\n"));
}

#[test]
fn basic_auth_is_base64_of_username_and_password() {
    let mut request = json_request("https://h.example".parse().expect("url"), Vec::new());
    let auth = GenericAuth::Basic { username: "relay".into(), password: Secret::new("p@ss:word") };
    apply_auth(&mut request, Some(&auth));
    // printf 'relay:p@ss:word' | base64
    assert_eq!(header(&request, "authorization"), Some("Basic cmVsYXk6cEBzczp3b3Jk"));
    assert!(!request.to_masked_string().contains("cmVsYXk6cEBzczp3b3Jk"));
}

#[test]
fn client_secret_is_carried_in_the_body() {
    let auth = GenericAuth::ClientSecret { secret: Secret::new("s3cr3t-value"), field: "client_secret".into() };
    let body = with_client_secret(r#"{"a":1}"#, Some(&auth)).expect("object body");
    assert_eq!(String::from_utf8(body).expect("utf8"), r#"{"a":1,"client_secret":"s3cr3t-value"}"#);
    assert!(with_client_secret("[1]", Some(&auth)).is_err());
    assert_eq!(with_client_secret("[1]", None), Ok(b"[1]".to_vec()));
}

#[test]
fn standard_webhooks_signs_with_every_secret_during_rotation() {
    let mut request = json_request("https://h.example".parse().expect("url"), br#"{"test": 2432232314}"#.to_vec());
    let signing = Signing::StandardWebhooks {
        secrets: vec![Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Secret::new("whsec_c2Vjb25kLXNlY3JldA==")],
    };
    let now = Utc.timestamp_opt(1_614_265_330, 0).single().expect("valid time");
    sign(&mut request, &signing, &AttemptContext { message_id: "msg_p5jXN8AQM9LWM0D4loKWxJek", now }).expect("signs");
    assert_eq!(header(&request, "webhook-id"), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
    assert_eq!(header(&request, "webhook-timestamp"), Some("1614265330"));
    let signatures: Vec<&str> = header(&request, "webhook-signature").expect("signed").split(' ').collect();
    assert_eq!(signatures.len(), 2);
    assert_eq!(signatures[0], "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

#[test]
fn a_bad_secret_is_an_error_not_a_panic() {
    let mut request = json_request("https://h.example".parse().expect("url"), Vec::new());
    let signing = Signing::StandardWebhooks { secrets: vec![Secret::new("not-whsec")] };
    let attempt = AttemptContext { message_id: "m", now: Utc::now() };
    assert!(sign(&mut request, &signing, &attempt).is_err());
}

#[test]
fn answers_follow_the_standard_webhooks_sender_rules() {
    use super::classify::classify;
    let answer = |status| ChannelAnswer { status, body: "nope".into(), retry_after: None };
    for status in [200, 201, 202, 204] {
        assert_eq!(classify(&answer(status), &[]), Outcome::Delivered, "{status}");
    }
    // Every non-2xx but 410 is a failed attempt that is retried.
    for status in [301, 302, 307, 400, 401, 403, 404, 408, 409, 422, 425, 429, 500, 502, 503, 504] {
        assert!(matches!(classify(&answer(status), &[]), Outcome::Retry { .. }), "{status}");
    }
    assert!(matches!(classify(&answer(410), &[]), Outcome::Failed { disable_destination: true, .. }));
    // A destination's permanent statuses fail at once; 410 still disables.
    let permanent = [400, 404, 410];
    for status in [400, 404] {
        assert!(
            matches!(classify(&answer(status), &permanent), Outcome::Failed { disable_destination: false, .. }),
            "{status}"
        );
    }
    assert!(matches!(classify(&answer(401), &permanent), Outcome::Retry { .. }));
    assert!(matches!(classify(&answer(410), &permanent), Outcome::Failed { disable_destination: true, .. }));
}
