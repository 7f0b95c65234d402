use chrono::{TimeZone, Utc};
use serde_json::json;

use super::config::SplunkHecSettings;
use super::{classify::classify, event_url, payload::envelope};
use crate::alert::Alert;
use crate::notify::{ChannelAnswer, Outcome};
use crate::secret::Secret;

fn settings(host: &str) -> SplunkHecSettings {
    SplunkHecSettings::new(host, 8088, Secret::new("00000000-0000-0000-0000-000000000000"))
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
        (400, r#"{"text":"No data","code":5}"#, "No data"),
        (400, r#"{"text":"Invalid data format","code":6,"invalid-event-number":0}"#, "Invalid data format"),
        (400, r#"{"text":"Event field is required","code":12}"#, "Event field is required"),
        (400, r#"{"text":"Event field cannot be blank","code":13}"#, "Event field cannot be blank"),
        (400, r#"{"text":"ACK is disabled","code":14}"#, "ACK is disabled"),
        (400, r#"{"text":"Error in handling indexed fields","code":15}"#, "Error in handling indexed fields"),
        (400, r#"{"text":"Query string authorization is not enabled","code":16}"#, "Query string"),
    ] {
        match classify(&answer(status, body)) {
            Outcome::Failed { reason, .. } => assert!(reason.contains(text), "{reason}"),
            other => panic!("{body}: {other:?}"),
        }
    }
    for (status, code, text) in [
        (403, 1, "Token disabled"),
        (401, 2, "Token is required"),
        (401, 3, "Invalid authorization"),
        (403, 4, "Invalid token"),
        (400, 7, "Incorrect index"),
        (400, 10, "Data channel is missing"),
        (400, 11, "Invalid data channel"),
        (400, 21, "Invalid token"),
        (400, 22, "Token disabled"),
    ] {
        let body = json!({"text": text, "code": code}).to_string();
        match classify(&answer(status, &body)) {
            Outcome::Paused { cause, reason } => {
                assert_eq!(cause, format!("hec_code_{code}"));
                assert_eq!(reason, format!("HTTP {status}: HEC code {code}: {text}"));
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    for (status, code) in [(503, 18), (503, 19), (503, 20), (503, 23), (429, 26), (429, 27)] {
        let body = json!({"text": "unhealthy or busy", "code": code}).to_string();
        assert!(matches!(classify(&answer(status, &body)), Outcome::Retry { .. }), "{code}");
    }
    for code in [17, 24, 25] {
        let body = json!({"text": "fine", "code": code}).to_string();
        assert_eq!(classify(&answer(200, &body)), Outcome::Delivered, "{code}");
    }
    assert_eq!(classify(&answer(200, r#"{"text":"Success","code":0,"ackId":7}"#)), Outcome::Accepted { ack_id: 7 });
    assert!(matches!(classify(&answer(413, "Content-Length of 9 too large")), Outcome::TooLarge { .. }));
}

#[test]
fn a_2xx_that_is_not_a_hec_answer_is_retried() {
    let answer = |status, body: &str| ChannelAnswer { status, body: body.into(), retry_after: None };
    for body in ["<html>proxy</html>", "", "ok", r#"{"text":"Success"}"#, "[0]"] {
        match classify(&answer(200, body)) {
            Outcome::Retry { reason, .. } => assert!(reason.contains("not a HEC answer"), "{reason}"),
            other => panic!("{body:?}: {other:?}"),
        }
    }
    assert!(
        matches!(classify(&answer(401, "<html>login</html>")), Outcome::Paused { cause, .. } if cause == "http_401")
    );
}

#[test]
fn ack_answers_are_read_for_each_id() {
    use crate::notify::ack::AckAnswer;
    use crate::notify::splunk_hec::classify::classify_ack;
    let answer = |status, body: &str| ChannelAnswer { status, body: body.into(), retry_after: None };
    assert_eq!(
        classify_ack(&answer(200, r#"{"acks":{"0":true,"1":false,"x":true}}"#)),
        AckAnswer::Statuses([(0, true), (1, false)].into_iter().collect())
    );
    assert!(matches!(classify_ack(&answer(503, r#"{"text":"Server is busy","code":9}"#)), AckAnswer::Unavailable(_)));
    assert!(matches!(
        classify_ack(&answer(403, r#"{"text":"Invalid token","code":4}"#)),
        AckAnswer::Refused(Outcome::Paused { .. })
    ));
    for body in [r#"{"text":"Data channel is missing","code":10}"#, r#"{"text":"ACK is disabled","code":14}"#] {
        assert!(matches!(classify_ack(&answer(400, body)), AckAnswer::Refused(Outcome::Retry { .. })), "{body}");
    }
    assert!(matches!(classify_ack(&answer(200, "<html/>")), AckAnswer::Refused(Outcome::Retry { .. })));
}

#[test]
fn the_data_channel_is_stable_per_destination_and_configurable() {
    use crate::destination::Destination;
    use crate::flock::Scope;
    use crate::notify::Channel;
    let destination =
        |id: &str, settings: SplunkHecSettings| Destination::new(id, Scope::Global, Channel::SplunkHec(settings));
    let one = destination("dc_hec", settings("h"));
    let Channel::SplunkHec(one_settings) = &one.channel else { unreachable!() };
    let channel = super::channel(&one, one_settings);
    assert!(uuid::Uuid::parse_str(&channel).is_ok(), "{channel}");
    assert_eq!(super::channel(&one, one_settings), channel, "stable");
    let other = destination("other_hec", settings("h"));
    assert_ne!(super::channel(&other, one_settings), channel, "one per destination");
    let mut configured = settings("h");
    configured.channel = Some("0f5d6c3a-2b1e-4f09-8a7b-6c5d4e3f2a10".into());
    assert_eq!(super::channel(&one, &configured), "0f5d6c3a-2b1e-4f09-8a7b-6c5d4e3f2a10");
}

#[test]
fn an_answer_without_a_hec_code_gets_the_http_rules() {
    let answer = |status, body: &str| ChannelAnswer { status, body: body.into(), retry_after: None };
    assert!(matches!(classify(&answer(410, "Gone")), Outcome::Failed { disable_destination: true, .. }));
    assert!(matches!(classify(&answer(408, "")), Outcome::Retry { .. }));
    assert!(matches!(classify(&answer(301, "")), Outcome::Failed { disable_destination: false, .. }));
}
