use chrono::{TimeZone, Utc};
use serde_json::json;

use super::config::SplunkSettings;
use super::{classify::classify, event_url, payload::envelope};
use crate::alert::Alert;
use crate::notify::{ChannelAnswer, Outcome};
use crate::secret::Secret;

fn settings(host: &str) -> SplunkSettings {
    SplunkSettings::new(host, 8088, Secret::new("00000000-0000-0000-0000-000000000000"))
}

#[test]
fn event_url_is_built_from_host_and_port() {
    assert_eq!(
        event_url(&settings("splunk.example")).map(String::from),
        Ok("https://splunk.example:8088/services/collector/event".to_owned())
    );
    assert_eq!(
        event_url(&settings("::1")).map(String::from),
        Ok("https://[::1]:8088/services/collector/event".to_owned())
    );
    let mut plain = settings("127.0.0.1");
    plain.https = false;
    plain.port = 18088;
    assert_eq!(event_url(&plain).map(String::from), Ok("http://127.0.0.1:18088/services/collector/event".to_owned()));
    assert!(event_url(&settings("splunk.example/evil?x=1")).is_err());
    assert!(event_url(&settings("user@splunk.example")).is_err());
}

#[test]
fn envelope_carries_time_in_epoch_seconds_and_settings() {
    let now = Utc.with_ymd_and_hms(2022, 1, 3, 18, 29, 27).single().expect("valid date");
    let mut alert = Alert::from_value(json!({"kind": "k", "title": "t"}), now).expect("valid alert");
    let mut settings = settings("h");
    settings.index = Some("security".into());
    settings.event_host = Some("relay-01".into());
    settings.source = Some("quote\"d".into());
    let event: serde_json::Value =
        serde_json::from_str(&envelope(&settings, &alert, r#"{"a":1}"#)).expect("valid JSON");
    assert_eq!(
        event,
        json!({"time": 1641234567, "host": "relay-01", "source": "quote\"d", "sourcetype": "flockrelay:alert", "index": "security", "event": {"a": 1}})
    );
    alert.timestamp = now + chrono::Duration::milliseconds(250);
    assert_eq!(
        envelope(&settings, &alert, "null"),
        r#"{"time":1641234567.250,"host":"relay-01","source":"quote\"d","sourcetype":"flockrelay:alert","index":"security","event":null}"#
    );
}

#[test]
fn hec_codes_decide_the_outcome() {
    let answer = |status, body: &str| ChannelAnswer { status, body: body.into(), retry_after: None };
    assert_eq!(classify(&answer(200, r#"{"text":"Success","code":0}"#)), Outcome::Delivered);
    for (status, body) in [
        (503, r#"{"text":"Server is busy","code":9}"#),
        (500, r#"{"text":"Internal server error","code":8}"#),
        (502, "Bad Gateway"),
        (429, ""),
    ] {
        assert!(matches!(classify(&answer(status, body)), Outcome::Retry { .. }), "{status} {body}");
    }
    for (status, body, text) in [
        (403, r#"{"text":"Token disabled","code":1}"#, "Token disabled"),
        (401, r#"{"text":"Token is required","code":2}"#, "Token is required"),
        (401, r#"{"text":"Invalid authorization","code":3}"#, "Invalid authorization"),
        (403, r#"{"text":"Invalid token","code":4}"#, "Invalid token"),
        (400, r#"{"text":"No data","code":5}"#, "No data"),
        (400, r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#, "Invalid data format"),
        (400, r#"{"text":"Incorrect index","code":7,"invalid-event-number":1}"#, "Incorrect index"),
    ] {
        match classify(&answer(status, body)) {
            Outcome::Failed { reason, .. } => assert!(reason.contains(text), "{reason}"),
            other => panic!("{body}: {other:?}"),
        }
    }
}

#[test]
fn an_answer_without_a_hec_code_gets_the_http_rules() {
    let answer = |status, body: &str| ChannelAnswer { status, body: body.into(), retry_after: None };
    assert!(matches!(classify(&answer(410, "Gone")), Outcome::Failed { disable_destination: true, .. }));
    assert!(matches!(classify(&answer(408, "")), Outcome::Retry { .. }));
    assert!(matches!(classify(&answer(301, "")), Outcome::Failed { disable_destination: false, .. }));
}
