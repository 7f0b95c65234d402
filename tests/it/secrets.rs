//! Secrets are write-only, also when a receiver echoes the whole request back
//! or a URL carries them: no stored attempt, API answer, `render` or `check`
//! output or log line shows a destination's credentials — custom header
//! values, Basic password, bearer token, client secret, signing secrets, HEC
//! token, URL user-info, or the secret parts of Slack and Teams webhook URLs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;

use crate::support::relay::{eventually, Relay, Setup};
use crate::support::stores::postgres_url;

const URL_USER: &str = "url-user-4f1c2a9e";
const URL_PASSWORD: &str = "url-pass-7d9e3b5a";
const HEADER_VALUE: &str = "header-value-5a8c1e0b";
const BASIC_USER: &str = "basic-user-3e7d";
const BASIC_PASSWORD: &str = "basic-pass-8b2f6d1c";
const BEARER: &str = "bearer-token-1c9a7e4f";
const CLIENT_SECRET: &str = "client-secret-6f3b2a8d";
const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const FLOCK_SECRET: &str = "flock-hmac-secret-9a1b2c";
const HEC_TOKEN: &str = "2b8e4f61-0000-4a5b-9c8d-7e6f5a4b3c2d";
const SLACK_TOKEN: &str = "slacksecrettoken0123abcd";
const TEAMS_SIG: &str = "teamssig0123456789abcdefXYZ";

/// Every secret, and the forms they travel in (Basic credentials base64-encoded).
fn secrets() -> Vec<String> {
    let mut all: Vec<String> = [
        URL_USER,
        URL_PASSWORD,
        HEADER_VALUE,
        BASIC_PASSWORD,
        BEARER,
        CLIENT_SECRET,
        SIGNING_SECRET,
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        FLOCK_SECRET,
        HEC_TOKEN,
        SLACK_TOKEN,
        TEAMS_SIG,
    ]
    .map(str::to_owned)
    .to_vec();
    all.push(STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASSWORD}")));
    all.push(STANDARD.encode(format!("{URL_USER}:{URL_PASSWORD}")));
    all
}

/// The secrets found in `text`.
fn leaked(text: &str) -> Vec<String> {
    secrets().into_iter().filter(|secret| text.contains(secret.as_str())).collect()
}

/// A loopback server that answers every request with `status` and the whole
/// request echoed as JSON: method, path and query, every header, the body.
struct Echo {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Echo {
    async fn start(status: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
        let addr = listener.local_addr().expect("has an address");
        let app = axum::Router::new().fallback(echo).with_state(status);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("echo serves");
        });
        Self { addr, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn echo(
    State(status): State<u16>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let echoed = json!({
        "method": method.as_str(),
        "uri": uri.to_string(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    });
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), echoed.to_string())
}

/// One destination of every channel and auth kind, all on the echo server.
fn destinations(echo: &Echo) -> String {
    let port = echo.addr.port();
    let with_user_info = format!("http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:{port}/generic");
    format!(
        r#"
[destinations.headers_signed.generic]
url = "{with_user_info}"
headers = {{ "X-Api-Key" = "{HEADER_VALUE}" }}
signing = {{ scheme = "standard_webhooks", secrets = ["{SIGNING_SECRET}"] }}

[destinations.basic.generic]
url = "{basic}"
auth = {{ type = "basic", username = "{BASIC_USER}", password = "{BASIC_PASSWORD}" }}

[destinations.bearer.generic]
url = "{bearer}"
auth = {{ type = "bearer", token = "{BEARER}" }}

[destinations.client_secret.generic]
url = "{client}"
auth = {{ type = "client_secret", secret = "{CLIENT_SECRET}" }}
signing = {{ scheme = "flock_hmac", secret = "{FLOCK_SECRET}" }}

[destinations.chat.slack]
url = "{slack}"

[destinations.teams.ms_teams]
url = "{teams}"

[destinations.hec.splunk]
host = "127.0.0.1"
port = {port}
https = false
token = "{HEC_TOKEN}"
"#,
        basic = echo.url("/basic"),
        bearer = echo.url("/bearer"),
        client = echo.url("/client"),
        slack = echo.url(&format!("/services/T0A1B2C3D/B0E1F2G3H/{SLACK_TOKEN}")),
        teams = echo.url(&format!(
            "/workflows/0123456789abcdef0123/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SIG}"
        )),
    )
}

const DESTINATIONS: usize = 7;

/// Every text the operator API shows of the alert's messages and attempts.
async fn shown(relay: &Relay, alert_id: &str) -> Vec<String> {
    let (status, list) = relay.get("/api/v1/messages", &[("alert", alert_id)]).await;
    assert_eq!(status, 200, "{list}");
    let mut texts = Vec::new();
    for message in list["messages"].as_array().expect("messages") {
        let id = message["id"].as_str().expect("message id");
        let (status, shown) = relay.get(&format!("/api/v1/messages/{id}"), &[]).await;
        assert_eq!(status, 200, "{shown}");
        texts.push(shown.to_string());
    }
    texts
}

/// The stored attempt details and message errors, read from the database itself.
async fn stored_texts(store_url: &str) -> String {
    use sqlx::{Connection as _, Row as _};
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(store_url).await.expect("connects");
    let mut texts = Vec::new();
    for sql in ["SELECT detail FROM attempts", "SELECT COALESCE(last_error, '') FROM messages"] {
        for row in sqlx::query(sql).fetch_all(&mut connection).await.expect("reads") {
            texts.push(row.get::<String, _>(0));
        }
    }
    connection.close().await.expect("closes");
    texts.join("\n")
}

/// A receiver echoes every request, with `status`: the attempts recorded (the
/// answer's start for a 2xx, the channel's reason for a 4xx) carry the echo,
/// with every secret masked, in the API and in the database.
async fn echoed_requests_are_stored_without_secrets(status: u16, store_url: Option<String>) {
    let echo = Echo::start(status).await;
    let relay = Relay::with(Setup {
        delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(),
        extra: destinations(&echo),
        store_url,
        ..Setup::default()
    })
    .await;
    let alert = relay.ingest(&json!({"kind": "ids.alert", "title": "Port scan"})).await;
    let alert_id = alert[0]["alert_id"].as_str().expect("alert id").to_owned();
    assert_eq!(alert[0]["messages"], DESTINATIONS);
    eventually(Duration::from_secs(120), "every destination's attempt is recorded", || async {
        shown(&relay, &alert_id).await.iter().filter(|text| text.contains("\"attempts\":[{")).count() == DESTINATIONS
    })
    .await;
    let texts = shown(&relay, &alert_id).await;
    for text in &texts {
        assert!(leaked(text).is_empty(), "the API shows {:?} in:\n{text}", leaked(text));
    }
    let all = texts.join("\n");
    // A 2xx answer is kept whole (its first KiB); a refusal's reason holds its first 300 characters.
    let evidence: &[&str] = if status == 200 {
        &["x-api-key", "authorization", "webhook-signature", "x-flock-signature", "client_secret", "/services/"]
    } else {
        &["authorization", "/services/", "/workflows/"]
    };
    for evidence in evidence {
        assert!(all.contains(evidence), "the echo of {evidence} was recorded:\n{all}");
    }
    if status == 200 {
        for text in &texts {
            assert!(text.contains("********"), "the echo was recorded, masked:\n{text}");
        }
    }
    let stored = stored_texts(&relay.store_url).await;
    assert!(leaked(&stored).is_empty(), "the database holds {:?} in:\n{stored}", leaked(&stored));
}

#[tokio::test]
async fn sqlite_echoed_requests_are_stored_without_secrets() {
    echoed_requests_are_stored_without_secrets(200, None).await;
    echoed_requests_are_stored_without_secrets(400, None).await;
}

#[tokio::test]
async fn postgres_echoed_requests_are_stored_without_secrets() {
    for status in [200, 400] {
        let Some(url) = postgres_url("secrets::postgres_echoed_requests_are_stored_without_secrets").await else {
            return;
        };
        echoed_requests_are_stored_without_secrets(status, Some(url)).await;
    }
}

/// The management API's test endpoint answers with the channel's answer: an
/// echo of the request, masked.
#[tokio::test]
async fn a_test_notification_answers_with_the_echo_masked() {
    let echo = Echo::start(400).await;
    let relay = Relay::with(Setup { delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(), ..Setup::default() }).await;
    let url = format!("http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:{}/api-added", echo.addr.port());
    let headers = json!({"X-Api-Key": HEADER_VALUE}).to_string();
    let params = [
        ("flock_id", "global"),
        ("url", url.as_str()),
        ("headers", &headers),
        ("auth_type", "bearer"),
        ("token", BEARER),
    ];
    let (status, added) = relay.post("/api/v1/flock/settings/webhooks/generic/add", &params).await;
    assert_eq!(status, 200, "{added}");
    let (status, answer) =
        relay.post("/api/v1/flock/settings/webhooks/generic/test", &[("flock_id", "global"), ("url", &url)]).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["message"].as_str().expect("message");
    assert!(message.contains("x-api-key") && message.contains("********"), "{message}");
    assert!(leaked(&answer.to_string()).is_empty(), "{answer}");
}

/// A generic webhook added with user-info in its URL: every answer that shows
/// the URL masks the user name and password.
#[tokio::test]
async fn urls_are_shown_without_user_info() {
    let echo = Echo::start(200).await;
    let relay = Relay::with(Setup { delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(), ..Setup::default() }).await;
    let settings = "/api/v1/flock/settings/webhooks";
    let loopback = format!("http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:{}/with-user-info", echo.addr.port());
    let masked = format!("http://********:********@127.0.0.1:{}/with-user-info", echo.addr.port());
    let teams = format!("https://{URL_USER}:{URL_PASSWORD}@teams.example.com/workflows/x");
    let slack = format!("https://{URL_USER}:{URL_PASSWORD}@hooks.slack.com/services/T0/B0/x");
    let configuration = format!("https://{URL_USER}:{URL_PASSWORD}@slack.example.com/apps");
    for (path, params) in [
        ("generic/add", vec![("url", loopback.as_str())]),
        ("ms_teams/add", vec![("url", teams.as_str())]),
        ("slack/add", vec![("url", slack.as_str()), ("configuration_url", configuration.as_str())]),
    ] {
        let mut all = vec![("flock_id", "global")];
        all.extend(params);
        let (status, body) = relay.post(&format!("{settings}/{path}"), &all).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let mut answers = Vec::new();
    for list in ["generic", "generic/list", "ms_teams", "slack"] {
        let (status, body) = relay.get(&format!("{settings}/{list}"), &[("flock_id", "global")]).await;
        assert_eq!(status, 200, "{list}: {body}");
        answers.push(body);
    }
    assert_eq!(answers[0]["generic_webhooks"], json!([masked]));
    assert_eq!(answers[1]["generic_webhooks"][0]["url"], masked);
    assert_eq!(answers[2]["ms_teams_webhooks"], json!(["https://********:********@teams.example.com/workflows/x"]));
    assert_eq!(answers[3]["slack_webhooks"][0]["url"], "https://********:********@hooks.slack.com/services/T0/B0/x");
    assert_eq!(
        answers[3]["slack_webhooks"][0]["configuration_url"],
        "https://********:********@slack.example.com/apps"
    );
    let (status, tested) =
        relay.post(&format!("{settings}/generic/test"), &[("flock_id", "global"), ("url", &loopback)]).await;
    assert_eq!((status, tested["webhook"].clone()), (200, json!(masked)), "{tested}");
    answers.push(tested);
    let (status, destinations) = relay.get("/api/v1/destinations", &[]).await;
    assert_eq!(status, 200, "{destinations}");
    answers.push(destinations);
    for answer in answers {
        assert!(leaked(&answer.to_string()).is_empty(), "{answer}");
    }
}

/// `flockrelay` with `config` and `args`, no `FLOCKRELAY_*` variable of the
/// test environment; stdout and stderr.
async fn run_binary(config: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_flockrelay"));
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("FLOCKRELAY_")) {
        command.env_remove(key);
    }
    let output = command.arg("--config").arg(config).args(args).kill_on_drop(true).output().await.expect("runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code(), text)
}

/// A config file in `dir` with every destination on `echo`.
fn config_file(dir: &std::path::Path, echo: &Echo) -> std::path::PathBuf {
    let path = dir.join("relay.toml");
    let text = format!(
        "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\n\n[store]\nurl = \"sqlite://{store}\"\nsecret_key_file = \"{key}\"\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\nauth_tokens = [\"{token}\"]\ntoken_file = \"{token_file}\"\n{destinations}",
        store = dir.join("relay.db").display(),
        key = dir.join("secret_key").display(),
        token = crate::support::relay::TOKEN,
        token_file = dir.join("token").display(),
        destinations = destinations(echo),
    );
    std::fs::write(&path, text).expect("writes the config file");
    path
}

/// `render`, `test` and `check` of every channel and auth kind, against a
/// receiver that echoes the request: nothing they print holds a secret.
#[tokio::test(flavor = "multi_thread")]
async fn render_test_and_check_print_no_secret() {
    let echo = Echo::start(400).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = config_file(dir.path(), &echo);
    for destination in ["headers_signed", "basic", "bearer", "client_secret", "chat", "teams", "hec"] {
        let (code, printed) = run_binary(&config, &["render", "--destination", destination]).await;
        assert_eq!(code, Some(0), "{printed}");
        assert!(leaked(&printed).is_empty(), "render {destination} prints {:?}:\n{printed}", leaked(&printed));
    }
    let (code, printed) = run_binary(&config, &["render", "--destination", "headers_signed"]).await;
    assert_eq!(code, Some(0));
    assert!(printed.starts_with("POST http://********:********@127.0.0.1:"), "{printed}");
    let (code, printed) = run_binary(&config, &["test"]).await;
    assert_eq!(code, Some(1), "the echo answers 400: {printed}");
    assert!(printed.contains("HTTP 400") && printed.contains("********"), "{printed}");
    assert!(leaked(&printed).is_empty(), "test prints {:?}:\n{printed}", leaked(&printed));
    let (code, printed) = run_binary(&config, &["check"]).await;
    assert_eq!(code, Some(0), "{printed}");
    assert!(leaked(&printed).is_empty(), "check prints {:?}:\n{printed}", leaked(&printed));
}

/// `flockrelay serve` with debug logs: an alert to every destination, whose
/// receiver answers 410 Gone with an echo of the request (so that the relay
/// logs the channel's answer as it disables each one), and a webhook with
/// user-info added through the API. No log line holds a secret.
#[tokio::test(flavor = "multi_thread")]
async fn logs_hold_no_secret() {
    use tokio::io::AsyncBufReadExt as _;

    let echo = Echo::start(410).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = config_file(dir.path(), &echo);
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_flockrelay"));
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("FLOCKRELAY_")) {
        command.env_remove(key);
    }
    command
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env("FLOCKRELAY_LOG", "debug")
        .env("FLOCKRELAY_LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("binary starts");
    let stderr = child.stderr.take().expect("stderr is piped");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let collector = {
        let lines = std::sync::Arc::clone(&lines);
        tokio::spawn(async move {
            let mut reader = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().expect("lock").push(line);
            }
        })
    };
    let logged = |needle: &str| lines.lock().expect("lock").iter().filter(|line| line.contains(needle)).count();
    let address = || {
        lines.lock().expect("lock").iter().find_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            (value["fields"]["message"] == "flockrelay is serving.")
                .then(|| value["fields"]["address"].as_str().map(str::to_owned))?
        })
    };
    eventually(Duration::from_secs(120), "the relay serves", || async { address().is_some() }).await;
    let base = format!("http://{}", address().expect("address"));
    let http = reqwest::Client::new();
    let token = crate::support::relay::TOKEN;
    let alert = json!({"kind": "ids.alert", "title": "Port scan"}).to_string();
    let posted = http
        .post(format!("{base}/api/v1/alerts"))
        .header("x-canary-auth-token", token)
        .body(alert)
        .send()
        .await
        .expect("answers");
    assert_eq!(posted.status().as_u16(), 202);
    let url = format!("http://{URL_USER}:{URL_PASSWORD}@127.0.0.1:{}/api-added", echo.addr.port());
    let added = http
        .post(format!("{base}/api/v1/flock/settings/webhooks/generic/add"))
        .form(&[("auth_token", token), ("flock_id", "global"), ("url", &url)])
        .send()
        .await
        .expect("answers");
    assert_eq!(added.status().as_u16(), 200);
    eventually(Duration::from_secs(120), "every destination is disabled", || async {
        logged("disabling the destination") >= DESTINATIONS
    })
    .await;
    child.kill().await.expect("stops the relay");
    collector.await.expect("collector ends");
    let all = lines.lock().expect("lock").join("\n");
    assert!(all.contains("Webhook added through the API."), "{all}");
    assert!(leaked(&all).is_empty(), "the logs hold {:?}:\n{all}", leaked(&all));
}
