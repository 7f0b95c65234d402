//! Alert storm (issue 15): 10,000 alerts in 10 s to a Slack destination paced
//! at 1/s with grouping (`group_interval = "5m"`) and a Splunk HEC destination
//! (one event per alert), both loopback sinks in this process; the release
//! `flockrelay` binary as a child process on SQLite.
//!
//! Reports: when the first Slack message arrived (from the first POST), how many
//! Slack messages arrived in the first minute, when HEC had every event, and
//! the relay's peak RSS.
//!
//! Run: `cargo bench --bench storm` (about 75 s), or
//! `cargo bench --bench storm -- --alerts 10000 --seconds 10 --actors 3 --watch 60`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::Router;
use serde_json::{json, Value};

const TOKEN: &str = "bench-token-0123456789abcdef";

/// What the sinks received: (when, path, events carried).
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<(Instant, String, usize)>>>);

impl Arrivals {
    fn of(&self, prefix: &str) -> Vec<(Instant, usize)> {
        let arrivals = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        arrivals.iter().filter(|(_, path, _)| path.starts_with(prefix)).map(|(at, _, n)| (*at, *n)).collect()
    }
}

async fn record(State(arrivals): State<Arrivals>, uri: Uri, body: Bytes) -> (axum::http::StatusCode, String) {
    let path = uri.path().to_owned();
    let events = serde_json::Deserializer::from_slice(&body).into_iter::<Value>().filter(Result::is_ok).count();
    arrivals.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((Instant::now(), path.clone(), events));
    if path.starts_with("/services/collector") {
        (axum::http::StatusCode::OK, r#"{"text":"Success","code":0}"#.to_owned())
    } else {
        (axum::http::StatusCode::OK, "ok".to_owned())
    }
}

struct Options {
    alerts: usize,
    seconds: f64,
    actors: usize,
    watch: u64,
}

fn options() -> Options {
    let mut options = Options { alerts: 10_000, seconds: 10.0, actors: 3, watch: 60 };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().and_then(|value| value.parse::<f64>().ok());
        match arg.as_str() {
            "--alerts" => options.alerts = value().map_or(options.alerts, |v| v as usize),
            "--seconds" => options.seconds = value().unwrap_or(options.seconds),
            "--actors" => options.actors = value().map_or(options.actors, |v| (v as usize).max(1)),
            "--watch" => options.watch = value().map_or(options.watch, |v| v as u64),
            _ => {}
        }
    }
    options
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn config(dir: &std::path::Path, port: u16, sink: u16) -> String {
    format!(
        r#"
[delivery]
allow_http = true
allowed_cidrs = ["127.0.0.0/8"]

[store]
url = "sqlite://{db}"

[server]
listen = "127.0.0.1:{port}"
auth_tokens = ["{TOKEN}"]
token_file = "{token}"
body_limit = 8388608
shutdown_grace = "2s"

[destinations.soc_slack.slack]
url = "http://127.0.0.1:{sink}/services/T0/B0/storm"
[destinations.soc_slack.grouping]
group_interval = "5m"

[destinations.soc_hec.splunk]
host = "127.0.0.1"
port = {sink}
https = false
token = "bench-hec-token"
"#,
        db = dir.join("relay.db").display(),
        token = dir.join("token").display(),
    )
}

/// The recording sinks (Slack and HEC paths on one loopback server); returns its port.
async fn start_sink(arrivals: &Arrivals) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
    let port = listener.local_addr().expect("address").port();
    let app = Router::new().fallback(record).with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("sink serves") });
    port
}

/// `flockrelay serve` on a fresh SQLite store, ready; returns the child and its base URL.
async fn start_relay(dir: &std::path::Path, sink: u16, client: &reqwest::Client) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port();
    let path = dir.join("relay.toml");
    std::fs::write(&path, config(dir, port, sink)).expect("writes the config");
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_flockrelay"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FLOCKRELAY_") {
            command.env_remove(key);
        }
    }
    let log = std::fs::File::create(dir.join("relay.log")).expect("log file");
    command
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .current_dir(dir)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true);
    let relay = command.spawn().expect("relay starts");
    let base = format!("http://127.0.0.1:{port}");
    let ready = Instant::now();
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|answer| answer.status().is_success()) {
        assert!(ready.elapsed() < Duration::from_secs(120), "the relay did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (relay, base)
}

/// Posts the storm: 100 POSTs a second for `seconds`, from `actors` scanners;
/// returns how many POSTs were not answered 202.
async fn post_storm(options: &Options, base: &str, client: &reqwest::Client, start: Instant) -> usize {
    let requests = (options.seconds * 100.0).round().max(1.0) as usize;
    let per_request = options.alerts.div_ceil(requests);
    let mut posts = tokio::task::JoinSet::new();
    let mut sent = 0;
    for index in 0..requests {
        tokio::time::sleep_until((start + Duration::from_secs_f64(index as f64 / 100.0)).into()).await;
        let count = per_request.min(options.alerts - sent);
        if count == 0 {
            break;
        }
        let batch: Vec<Value> = (sent..sent + count)
            .map(|n| {
                json!({"id": format!("storm-{n}"), "kind": "canary.incident", "title": "SMB login attempt",
                       "source": {"ip": format!("192.0.2.{}", n % options.actors + 1)},
                       "target": {"name": "fileserver-canary", "ip": "10.0.0.9", "port": 445}})
            })
            .collect();
        sent += count;
        let request = client
            .post(format!("{base}/api/v1/alerts"))
            .header("X-Canary-Auth-Token", TOKEN)
            .body(Value::Array(batch).to_string());
        posts.spawn(async move { request.send().await.map(|answer| answer.status().as_u16()).unwrap_or(0) });
    }
    let mut refused = 0;
    while let Some(status) = posts.join_next().await {
        if status.unwrap_or(0) != 202 {
            refused += 1;
        }
    }
    refused
}

fn hec_events(arrivals: &Arrivals) -> usize {
    arrivals.of("/services/collector").iter().map(|(_, n)| n).sum()
}

#[tokio::main]
async fn main() {
    let options = options();
    let arrivals = Arrivals::default();
    let sink = start_sink(&arrivals).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let client = reqwest::Client::new();
    let (mut relay, base) = start_relay(dir.path(), sink, &client).await;
    let pid = relay.id().unwrap_or(0);

    let start = Instant::now();
    let refused = post_storm(&options, &base, &client, start).await;
    let acknowledged = start.elapsed();
    let watch = Duration::from_secs(options.watch);
    let mut hec_done = None;
    while start.elapsed() < watch {
        if hec_done.is_none() && hec_events(&arrivals) >= options.alerts {
            hec_done = Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let slack = arrivals.of("/services/T0");
    let first_slack = slack.first().map(|(at, _)| at.duration_since(start));
    let slack_in_window = slack.iter().filter(|(at, _)| at.duration_since(start) <= watch).count();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "storm: {} alerts acknowledged in {:.1} s ({refused} POSTs refused), {} scanners, SQLite",
        options.alerts,
        acknowledged.as_secs_f64(),
        options.actors
    );
    println!(
        "  slack: first message after {first_slack:?}; {slack_in_window} message(s) in the first {} s",
        options.watch
    );
    println!("  hec:   {} events; all {} by {hec_done:?}", hec_events(&arrivals), options.alerts);
    println!("  relay: peak RSS {:.1} MiB", peak_rss_mib(pid));
    println!("  load average: {}", load.trim());
    let _ = relay.start_kill();
    let _ = relay.wait().await;
}
