//! The real `flockrelay serve` binary as separate processes: killed mid-delivery
//! and restarted (nothing acknowledged is lost), stopped with SIGTERM (exit 0),
//! and two instances sharing one PostgreSQL database (no message claimed twice).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, TOKEN};
use crate::support::stores::postgres_url;

/// A `flockrelay serve` child process.
struct Relay {
    child: Child,
    url: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port()
}

/// A lease of minutes: a relay never loses a claim to a slow machine.
const LONG_LEASE: &str = "120s";

fn write_config(dir: &Path, store_url: &str, sink: &str) -> std::path::PathBuf {
    write_config_with_lease(dir, store_url, sink, (LONG_LEASE, "30s"))
}

/// As [`write_config`] with a `(lease, timeout)`: a short lease only where a
/// test needs a killed relay's claims to run out (and tolerates a second
/// delivery); the timeout must be shorter than the lease.
fn write_config_with_lease(dir: &Path, store_url: &str, sink: &str, lease: (&str, &str)) -> std::path::PathBuf {
    let (lease, timeout) = lease;
    let path = dir.join("flockrelay.toml");
    let text = format!(
        r#"
[delivery]
allow_http = true
allowed_cidrs = ["127.0.0.0/8"]
timeout = "{timeout}"
lease = "{lease}"
poll_interval = "50ms"
retry_schedule = ["0s", "100ms", "200ms", "400ms", "800ms"]

[store]
url = "{store_url}"
secret_key_file = "{key_file}"

[server]
auth_tokens = ["{TOKEN}"]
shutdown_grace = "5s"

[destinations.sink.generic]
url = "{sink}"
signing = {{ scheme = "standard_webhooks", secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] }}
"#,
        key_file = dir.join("secret_key").display(),
    );
    std::fs::write(&path, text).expect("writes config");
    path
}

impl Relay {
    async fn start(config: &Path, dir: &Path) -> Self {
        Self::start_with_env(config, dir, &[]).await
    }

    /// As [`Relay::start`], with extra environment variables.
    async fn start_with_env(config: &Path, dir: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_flockrelay"));
        for (key, _) in std::env::vars() {
            if key.starts_with("FLOCKRELAY_") {
                command.env_remove(key);
            }
        }
        let log = std::fs::File::create(dir.join(format!("relay-{port}.log"))).expect("log file");
        command
            .arg("serve")
            .arg("--config")
            .arg(config)
            .env("FLOCKRELAY_SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        let child = command.spawn().expect("relay starts");
        let relay = Self { child, url: format!("http://127.0.0.1:{port}") };
        let client = reqwest::Client::new();
        eventually(Duration::from_secs(120), "the relay answers /readyz", || {
            let request = client.get(format!("{}/readyz", relay.url)).send();
            async move { request.await.is_ok_and(|response| response.status().is_success()) }
        })
        .await;
        relay
    }

    /// Posts a batch of alerts; returns their ids once the relay acknowledged them.
    async fn post(&self, client: &reqwest::Client, alerts: &Value) -> Vec<String> {
        let response = client
            .post(format!("{}/api/v1/alerts", self.url))
            .header("X-Canary-Auth-Token", TOKEN)
            .body(alerts.to_string())
            .send()
            .await
            .expect("relay answers");
        assert_eq!(response.status(), 202);
        let answer: Value = serde_json::from_str(&response.text().await.expect("body")).expect("JSON");
        answer["alerts"]
            .as_array()
            .expect("alerts")
            .iter()
            .map(|a| a["alert_id"].as_str().expect("id").to_owned())
            .collect()
    }

    async fn get(&self, client: &reqwest::Client, path: &str) -> Value {
        let response = client
            .get(format!("{}{path}", self.url))
            .header("X-Canary-Auth-Token", TOKEN)
            .send()
            .await
            .expect("answers");
        serde_json::from_str(&response.text().await.expect("body")).expect("JSON")
    }

    fn pid(&self) -> String {
        self.child.id().expect("running").to_string()
    }
}

fn batch(first: usize, count: usize) -> Value {
    Value::Array(
        (first..first + count).map(|n| json!({"kind": "canary.incident", "title": format!("alert {n}")})).collect(),
    )
}

/// Alert id → how many times the sink received it.
fn received(sink: &Receiver) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in sink.requests() {
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        // Signed with Standard Webhooks: the alert is the envelope's `data`.
        *counts.entry(body["data"]["id"].as_str().expect("alert id").to_owned()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn a_killed_relay_delivers_everything_it_acknowledged_after_restart() {
    const ALERTS: usize = 300;
    // Slow enough answers that the kill comes mid-delivery even on a loaded machine.
    let sink = Receiver::start(Reply::new(200, "ok").delayed(Duration::from_millis(200))).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = format!("sqlite://{}", dir.path().join("relay.db").display());
    // The killed relay's claims must run out for the restarted one to send them.
    let config = write_config_with_lease(dir.path(), &store, &sink.url("/hook"), ("10s", "5s"));
    let client = reqwest::Client::new();

    let mut relay = Relay::start(&config, dir.path()).await;
    let mut acknowledged = Vec::new();
    for first in (0..ALERTS).step_by(20) {
        acknowledged.extend(relay.post(&client, &batch(first, 20)).await);
    }
    eventually(Duration::from_secs(120), "deliveries are under way", || async { sink.requests().len() >= 30 }).await;
    relay.child.start_kill().expect("SIGKILL");
    relay.child.wait().await.expect("killed");
    let before_restart = sink.requests().len();
    assert!(before_restart < ALERTS, "the kill came mid-delivery ({before_restart} delivered)");

    let restarted = Relay::start(&config, dir.path()).await;
    eventually(Duration::from_secs(180), "every acknowledged alert reached the sink", || async {
        let counts = received(&sink);
        acknowledged.iter().all(|id| counts.contains_key(id))
    })
    .await;
    // Messages the killed process had leased are sent again when the lease ends.
    eventually(Duration::from_secs(180), "the queue is empty", || async {
        let mut empty = true;
        for status in ["pending", "delivering"] {
            let listed = restarted.get(&client, &format!("/api/v1/messages?status={status}")).await;
            empty &= listed["messages"].as_array().is_some_and(Vec::is_empty);
        }
        empty
    })
    .await;
    let counts = received(&sink);
    let duplicates: usize = counts.values().map(|count| count - 1).sum();
    eprintln!("crash test: {ALERTS} alerts, {before_restart} delivered before SIGKILL, {duplicates} delivered twice (at-least-once)");
    assert_eq!(counts.len(), ALERTS);
}

#[tokio::test]
async fn sigterm_stops_the_relay_cleanly() {
    let sink = Receiver::start(Reply::new(200, "ok").delayed(Duration::from_millis(300))).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = format!("sqlite://{}", dir.path().join("relay.db").display());
    let config = write_config(dir.path(), &store, &sink.url("/hook"));
    let client = reqwest::Client::new();
    let mut relay = Relay::start(&config, dir.path()).await;
    relay.post(&client, &batch(0, 1)).await;
    eventually(Duration::from_secs(120), "the send is in flight", || async { !sink.requests().is_empty() }).await;
    let status = Command::new("kill").arg("-TERM").arg(relay.pid()).status().await.expect("kill runs");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(120), relay.child.wait())
        .await
        .expect("exits in time")
        .expect("waits");
    assert_eq!(exit.code(), Some(0));
    let log = std::fs::read_dir(dir.path())
        .expect("lists")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("relay-"))
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default())
        .collect::<String>();
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(!log.contains(TOKEN) && !log.contains("whsec_"), "no secret in the log");
}

/// SIGTERM, then the exit status (waiting minutes at most: only a hang fails).
async fn terminate(relay: &mut Relay) -> std::process::ExitStatus {
    let status = Command::new("kill").arg("-TERM").arg(relay.pid()).status().await.expect("kill runs");
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(120), relay.child.wait()).await.expect("exits").expect("waits")
}

#[tokio::test]
async fn serve_ignores_the_variables_kubernetes_injects() {
    let sink = Receiver::start(Reply::new(200, "ok")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = format!("sqlite://{}", dir.path().join("relay.db").display());
    let config = write_config(dir.path(), &store, &sink.url("/hook"));
    let mut relay = Relay::start_with_env(&config, dir.path(), &crate::cli::KUBERNETES_SERVICE_VARIABLES).await;
    let client = reqwest::Client::new();
    relay.post(&client, &batch(0, 1)).await;
    eventually(Duration::from_secs(60), "the alert is delivered", || async { !sink.requests().is_empty() }).await;
    assert_eq!(terminate(&mut relay).await.code(), Some(0));
}

/// A config whose client timeouts are `timeouts` (header, body) and whose
/// shutdown grace is 2 s; no destination.
fn write_slow_client_config(dir: &Path, timeouts: (&str, &str)) -> std::path::PathBuf {
    let path = dir.join("flockrelay.toml");
    let (header, body) = timeouts;
    let text = format!(
        "[store]\nurl = \"sqlite://{store}\"\n\n[server]\nauth_tokens = [\"{TOKEN}\"]\nshutdown_grace = \"2s\"\n\
         header_read_timeout = \"{header}\"\nbody_read_timeout = \"{body}\"\n",
        store = dir.join("relay.db").display(),
    );
    std::fs::write(&path, text).expect("writes config");
    path
}

/// A connection that sent part of a request head, or a whole head and part of
/// the body, and then nothing more.
async fn stalled_connection(relay: &Relay, head_only: bool) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt as _;
    let address = relay.url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.expect("connects");
    let bytes: &[u8] = if head_only {
        b"POST /api/v1/alerts HTTP/1.1\r\nHost: relay\r\nX-Canary-Auth"
    } else {
        b"POST /api/v1/alerts HTTP/1.1\r\nHost: relay\r\nX-Canary-Auth-Token: test-token-0123456789abcdef\r\n\
          Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"kind\": \"slow"
    };
    stream.write_all(bytes).await.expect("writes");
    stream
}

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => received.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn sigterm_exits_within_the_grace_period_whatever_clients_do() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // Client timeouts far longer than the test: only the grace period can end them.
    let config = write_slow_client_config(dir.path(), ("10m", "10m"));
    let mut relay = Relay::start(&config, dir.path()).await;
    let mut stalled = Vec::new();
    for index in 0..40 {
        stalled.push(stalled_connection(&relay, index % 2 == 0).await);
    }
    // Connections are accepted in order: once this request is answered, every
    // stalled connection is open on the server side.
    relay.post(&reqwest::Client::new(), &batch(0, 1)).await;
    // Grace is 2 s; two minutes of margin, so only a hang fails.
    assert_eq!(terminate(&mut relay).await.code(), Some(0));
    let log = relay_log(dir.path());
    assert!(log.contains("Grace period over; closing the connections still open."), "{log}");
    drop(stalled);
}

#[tokio::test]
async fn a_stalled_head_or_body_is_closed_after_its_timeout() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = write_slow_client_config(dir.path(), ("1s", "1s"));
    let mut relay = Relay::start(&config, dir.path()).await;
    let mut head = stalled_connection(&relay, true).await;
    let mut body = stalled_connection(&relay, false).await;
    // One second each; a minute of margin, so only a connection left open fails.
    let closed = tokio::time::timeout(Duration::from_secs(60), async {
        (read_until_closed(&mut head).await, read_until_closed(&mut body).await)
    })
    .await
    .expect("the server closes both connections");
    assert!(!closed.0.contains("202"), "a partial head is never served: {closed:?}");
    assert!(closed.1.starts_with("HTTP/1.1 408"), "{closed:?}");
    assert!(closed.1.contains("server.body_read_timeout"), "{closed:?}");
    // The relay itself is unharmed.
    let client = reqwest::Client::new();
    relay.post(&client, &batch(0, 1)).await;
    assert_eq!(terminate(&mut relay).await.code(), Some(0));
}

/// Sends SIGHUP to the relay.
async fn hang_up(relay: &Relay) {
    let status = Command::new("kill").arg("-HUP").arg(relay.pid()).status().await.expect("kill runs");
    assert!(status.success());
}

#[tokio::test]
async fn sighup_reloads_the_file_and_an_invalid_one_keeps_the_running_configuration() {
    const SECOND_TOKEN: &str = "second-token-0123456789abcdef";
    let first = Receiver::start(Reply::new(200, "ok")).await;
    let second = Receiver::start(Reply::new(200, "ok")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = format!("sqlite://{}", dir.path().join("relay.db").display());
    let config = write_config(dir.path(), &store, &first.url("/hook"));
    let mut relay = Relay::start(&config, dir.path()).await;
    let client = reqwest::Client::new();
    relay.post(&client, &batch(0, 1)).await;
    eventually(Duration::from_secs(60), "the first receiver got the alert", || async { first.requests().len() == 1 })
        .await;

    // The destination moves to another receiver under another name; a token is
    // added; the grace period (read only at start) changes too.
    let original = std::fs::read_to_string(&config).expect("reads");
    let moved = original
        .replace("[destinations.sink.generic]", "[destinations.moved.generic]")
        .replace(&first.url("/hook"), &second.url("/hook"))
        .replace(&format!("auth_tokens = [\"{TOKEN}\"]"), &format!("auth_tokens = [\"{TOKEN}\", \"{SECOND_TOKEN}\"]"))
        .replace("shutdown_grace = \"5s\"", "shutdown_grace = \"6s\"");
    assert_ne!(moved, original);
    std::fs::write(&config, &moved).expect("rewrites the config");
    hang_up(&relay).await;
    eventually(Duration::from_secs(60), "the reloaded destination is listed", || async {
        let listed = relay.get(&client, "/api/v1/destinations").await;
        listed["destinations"].as_array().is_some_and(|all| all.len() == 1 && all[0]["name"] == "moved")
    })
    .await;
    relay.post(&client, &batch(1, 1)).await;
    eventually(Duration::from_secs(60), "the moved destination delivered", || async { second.requests().len() == 1 })
        .await;
    assert_eq!(first.requests().len(), 1, "nothing more went to the old receiver");
    let answer = client
        .get(format!("{}/api/v1/destinations", relay.url))
        .header("X-Canary-Auth-Token", SECOND_TOKEN)
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), 200, "the added token is accepted");
    let log = relay_log(dir.path());
    assert!(log.contains("Configuration reloaded."), "{log}");
    assert!(log.contains("server.shutdown_grace"), "a restart-only change is named: {log}");

    // Invalid files: a mistyped value, then a template that does not exist.
    for (broken, key) in [
        (moved.replace("timeout = \"30s\"", "timeout = \"banana\""), "delivery.timeout"),
        (
            moved.replace(
                "[destinations.moved.generic]",
                "[destinations.moved]\ntemplate = \"nope\"\n[destinations.moved.generic]",
            ),
            "destinations.moved.template",
        ),
    ] {
        let refusals = relay_log(dir.path()).matches("The new configuration is invalid").count();
        std::fs::write(&config, broken).expect("breaks the config");
        hang_up(&relay).await;
        eventually(Duration::from_secs(60), "the reload is refused", || async {
            relay_log(dir.path()).matches("The new configuration is invalid").count() > refusals
        })
        .await;
        let log = relay_log(dir.path());
        let refusal = log.lines().rfind(|line| line.contains("ERROR")).unwrap_or_default().to_owned();
        assert!(log.contains(key), "the refusal names {key}: {log}");
        assert!(!refusal.contains("banana"), "{refusal}");
    }
    assert!(relay.child.try_wait().expect("waits").is_none(), "the relay keeps running");
    relay.post(&client, &batch(2, 1)).await;
    eventually(Duration::from_secs(60), "the running configuration still delivers", || async {
        second.requests().len() == 2
    })
    .await;
    assert_eq!(terminate(&mut relay).await.code(), Some(0));
}

/// Everything the relays in `dir` logged.
fn relay_log(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .expect("lists")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("relay-"))
        .map(|entry| std::fs::read_to_string(entry.path()).unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn two_relays_on_one_postgres_database_deliver_everything_once() {
    const ALERTS: usize = 200;
    let Some(store) = postgres_url("process::two_relays_on_one_postgres_database_deliver_everything_once").await else {
        return;
    };
    let sink = Receiver::start(Reply::new(200, "ok").delayed(Duration::from_millis(2))).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = write_config(dir.path(), &store, &sink.url("/hook"));
    let client = reqwest::Client::new();
    let first = Relay::start(&config, dir.path()).await;
    let second = Relay::start(&config, dir.path()).await;
    let mut acknowledged = HashSet::new();
    for (index, start) in (0..ALERTS).step_by(10).enumerate() {
        let relay = if index % 2 == 0 { &first } else { &second };
        acknowledged.extend(relay.post(&client, &batch(start, 10)).await);
    }
    assert_eq!(acknowledged.len(), ALERTS);
    eventually(Duration::from_secs(180), "every alert reached the sink", || async { received(&sink).len() >= ALERTS })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counts = received(&sink);
    let twice: Vec<_> = counts.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "claimed twice: {twice:?}");
    assert!(counts.keys().all(|id| acknowledged.contains(id)));
}

#[tokio::test]
async fn the_messages_commands_work_on_the_store_directly() {
    use flockrelay::notify::ChannelKind;
    use flockrelay::store::{NewAlert, NewMessage};

    let dir = tempfile::tempdir().expect("temporary directory");
    let store_url = format!("sqlite://{}", dir.path().join("relay.db").display());
    let config = write_config(dir.path(), &store_url, "http://127.0.0.1:9/hook");
    // The key the commands will find in the configured key file.
    let key = flockrelay::store::key::load_or_create(None, &dir.path().join("secret_key")).expect("key");
    let store = flockrelay::store::open(&store_url, &key).await.expect("store opens");
    let message = |id: &str, error: Option<&str>| NewMessage {
        id: id.to_owned(),
        destination_id: "sink".to_owned(),
        kind: ChannelKind::Generic,
        body: "{}".to_owned(),
        error: error.map(str::to_owned),
        storm: None,
    };
    let alert = NewAlert {
        id: "alert-1".to_owned(),
        idempotency_key: None,
        flock_id: "flock:default".to_owned(),
        kind: "canary.incident".to_owned(),
        received_at: chrono::Utc::now(),
        hops: 0,
        messages: vec![
            message("msg_failed_1", Some("template broke")),
            message("msg_failed_2", Some("template broke")),
        ],
    };
    store.enqueue(&[alert]).await.expect("enqueues");

    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_flockrelay"));
        for (key, _) in std::env::vars() {
            if key.starts_with("FLOCKRELAY_") {
                command.env_remove(key);
            }
        }
        let output = command.arg("--config").arg(&config).arg("messages").args(args).output().expect("runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, listed, _) = run(&["list", "--status", "failed"]);
    assert_eq!(code, Some(0));
    assert!(listed.contains("msg_failed_1") && listed.contains("template broke"), "{listed}");
    let (code, shown, _) = run(&["show", "msg_failed_1"]);
    assert_eq!(code, Some(0));
    let shown: Value = serde_json::from_str(&shown).expect("show prints JSON");
    assert_eq!(shown["message"]["status"], "failed");
    let (code, replayed, _) = run(&["replay", "msg_failed_1"]);
    assert_eq!((code, replayed.trim()), (Some(0), "msg_failed_1 queued again for sink"));
    let (code, recovered, _) = run(&["recover", "--destination", "sink", "--since", "0"]);
    assert_eq!((code, recovered.trim()), (Some(0), "1 failed message(s) of sink queued again"));
    let (code, _, error) = run(&["show", "msg_nope"]);
    assert_eq!(code, Some(1));
    assert!(error.contains("msg_nope not found"), "{error}");
    let (code, _, error) = run(&["list", "--status", "lost"]);
    assert_ne!(code, Some(0));
    assert!(error.contains("lost"), "{error}");
}
