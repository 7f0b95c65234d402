//! Each channel's documented pace by default: Slack allows about one message a
//! second per webhook, Teams throttles connectors above four requests a second
//! (and sixty in thirty seconds). Timing is only ever asserted as a lower bound
//! from a moment taken before the alerts were sent, which a slow machine can
//! only make larger.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay};

const DELIVERY: &str = r#"retry_schedule = ["0s", "100ms"]
jitter = 0.0
timeout = "30s"
lease = "120s"
poll_interval = "50ms"
allowed_cidrs = ["127.0.0.0/8"]
"#;

/// Slack against a clock: timers never fire early, but two clocks may differ
/// by a hair; this much is forgiven.
const CLOCK_SLACK: Duration = Duration::from_millis(50);

fn alerts(count: usize) -> Value {
    Value::Array(
        (0..count).map(|n| json!({"kind": "canary.incident", "title": format!("burst {n}")})).collect::<Vec<_>>(),
    )
}

fn slack(receiver: &Receiver, extra: &str) -> String {
    format!(
        "[destinations.soc_slack]\n{extra}\n[destinations.soc_slack.slack]\nurl = \"{}\"\n",
        receiver.url("/services/T000/B000/XXXXXXXXXXXXXXXX")
    )
}

/// Arrival times of the first `count` requests, after `start`, in order.
async fn arrivals(receiver: &Receiver, count: usize, start: Instant) -> Vec<Duration> {
    eventually(Duration::from_secs(60), &format!("{count} requests arrived"), || async {
        receiver.requests().len() >= count
    })
    .await;
    let mut times: Vec<Duration> = receiver.requests().iter().map(|request| request.at - start).collect();
    times.sort();
    times
}

#[tokio::test]
async fn a_burst_to_slack_arrives_no_faster_than_one_a_second_by_default() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::configured(DELIVERY, &slack(&receiver, "")).await;
    let start = Instant::now();
    relay.ingest(&alerts(3)).await;
    let times = arrivals(&receiver, 3, start).await;
    for (k, at) in times.iter().enumerate() {
        let earliest = Duration::from_secs(u64::try_from(k).expect("small")).saturating_sub(CLOCK_SLACK);
        assert!(*at >= earliest, "request {k} arrived {at:?} after the burst, before {earliest:?}: {times:?}");
    }
    let (_, listed) = relay.get("/api/v1/destinations", &[]).await;
    assert_eq!(listed["destinations"][0]["rate_limit"], 1.0, "{listed}");
    assert_eq!(listed["destinations"][0]["concurrency"], 1, "{listed}");
}

#[tokio::test]
async fn a_slower_rate_limit_on_the_destination_wins_over_the_channel_pace() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::configured(DELIVERY, &slack(&receiver, "rate_limit = 0.5")).await;
    let start = Instant::now();
    relay.ingest(&alerts(2)).await;
    let times = arrivals(&receiver, 2, start).await;
    assert!(times[1] >= Duration::from_secs(2).saturating_sub(CLOCK_SLACK), "{times:?}");
}

/// A receiver that holds every answer until `wanted` requests are open at once
/// (or a minute passed), and reports the most it saw open together.
struct Gate {
    addr: std::net::SocketAddr,
    most: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Gate {
    async fn start(wanted: usize) -> Self {
        let open = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (open_in, most_in) = (Arc::clone(&open), Arc::clone(&most));
        let handler = move || {
            let (open, most) = (Arc::clone(&open_in), Arc::clone(&most_in));
            async move {
                let now_open = open.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now_open, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(60);
                while most.load(Ordering::SeqCst) < wanted && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                open.fetch_sub(1, Ordering::SeqCst);
                "ok"
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().expect("address");
        let app = axum::Router::new().fallback(handler);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serves");
        });
        Self { addr, most, task }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn concurrency_and_rate_limit_per_destination_override_the_channel_defaults() {
    let gate = Gate::start(3).await;
    let config = format!(
        "[destinations.soc_slack]\nrate_limit = 50.0\nconcurrency = 3\n\n[destinations.soc_slack.slack]\n\
         url = \"http://{}/services/T000/B000/XXXXXXXXXXXXXXXX\"\n",
        gate.addr
    );
    let relay = Relay::configured(DELIVERY, &config).await;
    let (_, listed) = relay.get("/api/v1/destinations", &[]).await;
    assert_eq!(
        (&listed["destinations"][0]["rate_limit"], &listed["destinations"][0]["concurrency"]),
        (&json!(50.0), &json!(3))
    );
    relay.ingest(&alerts(3)).await;
    eventually(Duration::from_secs(60), "three requests were in flight at once", || async {
        gate.most.load(Ordering::SeqCst) >= 3
    })
    .await;
}

#[test]
fn concurrency_must_be_at_least_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("flockrelay.toml");
    std::fs::write(&path, "[destinations.x]\nconcurrency = 0\n[destinations.x.slack]\nurl = \"https://h.example/x\"\n")
        .expect("writes");
    let error = flockrelay::config::load(Some(&path)).expect_err("refused").to_string();
    assert!(error.contains("destinations.x.concurrency: must be at least 1"), "{error}");
}
