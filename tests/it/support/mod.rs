//! Helpers shared by the integration tests: a recording loopback receiver, alert
//! fixtures, golden-file comparison and destination builders.

pub mod browser;
pub mod console;
pub mod hec;
pub mod receiver;
pub mod relay;
pub mod schema;
pub mod stores;

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use flockrelay::alert::Alert;
use flockrelay::destination::Destination;
use flockrelay::flock::Scope;
use flockrelay::notify::Channel;
use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One Standard Webhooks reference vector (adapters/generic/standard-webhooks-vectors.json).
#[derive(serde::Deserialize)]
pub struct Vector {
    pub name: String,
    pub secret: String,
    pub msg_id: String,
    pub timestamp: i64,
    pub payload: String,
    pub expected_signature: String,
}

/// The Standard Webhooks reference vectors (never empty).
pub fn standard_webhooks_vectors() -> Vec<Vector> {
    let path = root().join("adapters/generic/standard-webhooks-vectors.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let vectors: Vec<Vector> = serde_json::from_slice(&bytes).expect("vectors file is a JSON list");
    assert!(!vectors.is_empty());
    vectors
}

/// The Canary console incident every golden file is rendered from.
pub fn canary_alert() -> Alert {
    let bytes = std::fs::read(root().join("tests/fixtures/canary-incident.json")).expect("fixture exists");
    let now = Utc.with_ymd_and_hms(2026, 3, 14, 9, 30, 0).single().expect("valid date");
    Alert::from_slice(&bytes, now).expect("fixture is a valid alert")
}

/// An alert built to break naive templates: quotes, backslashes, control
/// characters, Slack and HTML markup, emoji, and more than 10 KB of text.
pub fn hostile_alert() -> Alert {
    let nasty = "He said \"hi\" \\ then\nnew line\r\n\ttab <script>alert(1)</script> <!channel> <@U123> & &amp; 🦜🔥 {{ not a template }} {% raw %} \u{0007}\u{2028}";
    let mut description = String::new();
    while description.len() < 11 * 1024 {
        description.push_str(nasty);
        description.push(' ');
    }
    let doc = serde_json::json!({
        "kind": "ids.\"alert\"", "title": format!("Title {nasty}"), "description": description,
        "severity": "critical", "flock_id": "flock:\"x\"",
        "source": {"ip": "192.0.2.1\"", "name": nasty}, "target": {"name": nasty, "ip": "10.0.0.1", "port": 443},
        "details": {nasty: nasty, "nested": {"a": [1, nasty]}, "number": 1.5, "null": null}
    });
    Alert::from_value(doc, Utc::now()).expect("hostile alert is still a valid alert")
}

/// A destination in the global set.
pub fn destination(name: &str, channel: Channel) -> Destination {
    Destination::new(name, Scope::Global, channel)
}

/// Compares `actual` (a JSON body) with `adapters/<path>`; `UPDATE_GOLDEN=1`
/// rewrites the file instead.
pub fn assert_golden(path: &str, actual: &[u8]) {
    let file = root().join("adapters").join(path);
    let actual: Value = serde_json::from_slice(actual).expect("body is JSON");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let pretty = serde_json::to_string_pretty(&actual).expect("serializes");
        std::fs::create_dir_all(file.parent().expect("has a parent")).expect("creates folder");
        std::fs::write(&file, pretty + "\n").expect("writes golden file");
        return;
    }
    let expected = std::fs::read(&file).unwrap_or_else(|error| panic!("golden file {}: {error}", file.display()));
    let expected: Value = serde_json::from_slice(&expected).expect("golden file is JSON");
    assert_eq!(actual, expected, "body differs from {} (UPDATE_GOLDEN=1 to accept)", file.display());
}

/// Every JSON object of a HEC batch body (concatenated objects).
pub fn json_stream(body: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("body is a stream of JSON values")
}

/// Renders `alert` for `destination` and sends it once, as the relay would.
pub async fn deliver_once(destination: &Destination, alert: &Alert) -> flockrelay::notify::http::Delivery {
    deliver_with_timeout(destination, alert, std::time::Duration::from_secs(30)).await
}

/// As [`deliver_once`] with a request timeout.
pub async fn deliver_with_timeout(
    destination: &Destination,
    alert: &Alert,
    timeout: std::time::Duration,
) -> flockrelay::notify::http::Delivery {
    use flockrelay::notify::{build_request, by_kind, http, AttemptContext};
    let renderer = flockrelay::render::Renderer::built_in().expect("built-in templates parse");
    let notifier = by_kind(destination.channel.kind());
    let payload = notifier.render(destination, alert, &renderer, false).expect("renders");
    let attempt = AttemptContext { message_id: "msg_2Xq9s0uTRYbgIsHxO8nsdIjYV4r", now: Utc::now() };
    let request = build_request(destination, &[&payload], &attempt).expect("builds a request");
    http::deliver(&loopback_sender(timeout), &request, |answer| notifier.classify_for(destination, answer)).await
}

/// A sender whose address policy opens loopback (127.0.0.0/8 and ::1), where
/// the test receivers listen; the default policy reaches public addresses only.
pub fn loopback_sender(timeout: std::time::Duration) -> flockrelay::notify::http::HttpSender {
    let opened = ["127.0.0.0/8".to_owned(), "::1".to_owned()];
    let policy = flockrelay::notify::policy::AddressPolicy::new(&opened, &[]).expect("valid policy");
    flockrelay::notify::http::HttpSender::with_policy(timeout, policy)
}

/// The real `flockrelay` binary, run from the repository root, with none of the
/// caller's `FLOCKRELAY_*` variables: only what a test sets reaches it.
pub fn binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_flockrelay"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FLOCKRELAY_") {
            command.env_remove(key);
        }
    }
    command.env_remove("NO_COLOR").current_dir(root());
    command
}
