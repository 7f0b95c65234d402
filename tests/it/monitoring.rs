//! What operators watch: the `/metrics` gauges keep a series for every
//! destination, and the shipped Grafana dashboard and Prometheus alerting rules
//! (`packaging/grafana/`, `packaging/prometheus/`) only query metrics a real
//! relay exports.

use std::time::Duration;

use serde_json::json;

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay};

/// Retries within a test, loopback receivers allowed.
const FAST: &str = r#"retry_schedule = ["0s", "100ms"]
jitter = 0.0
timeout = "2s"
lease = "5s"
poll_interval = "50ms"
allowed_cidrs = ["127.0.0.0/8"]
"#;

async fn scrape(relay: &Relay) -> String {
    relay.client.get(relay.url("/metrics")).send().await.expect("metrics").text().await.expect("text")
}

/// The value of the series `name{labels}` in a scrape, if it is there.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn queue_and_breaker_gauges_read_zero_instead_of_disappearing() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let extra = format!(
        "[destinations.hook.generic]\nurl = \"{url}\"\n\n\
         [destinations.idle]\nevents = [\"never.*\"]\n[destinations.idle.generic]\nurl = \"{url}\"\n\n\
         [destinations.off]\nenabled = false\n[destinations.off.generic]\nurl = \"{url}\"\n",
        url = receiver.url("/hook")
    );
    let relay = Relay::configured(FAST, &extra).await;
    relay.ingest(&json!({"kind": "canary.incident", "title": "drained"})).await;
    eventually(Duration::from_secs(10), "the message was delivered", || async { receiver.requests().len() == 1 }).await;
    eventually(Duration::from_secs(10), "the queue of hook reads empty", || async {
        let metrics = scrape(&relay).await;
        sample(&metrics, r#"flockrelay_queue_depth{destination="hook"}"#) == Some(0.0)
    })
    .await;
    let metrics = scrape(&relay).await;
    for destination in ["hook", "idle", "off"] {
        for gauge in ["queue_depth", "oldest_pending_age_seconds", "breaker_open"] {
            let series = format!(r#"flockrelay_{gauge}{{destination="{destination}"}}"#);
            assert_eq!(sample(&metrics, &series), Some(0.0), "{series} in:\n{metrics}");
        }
    }
    for (destination, state, value) in
        [("hook", "enabled", 1.0), ("hook", "disabled", 0.0), ("off", "enabled", 0.0), ("off", "disabled", 1.0)]
    {
        let series = format!(r#"flockrelay_destination_state{{destination="{destination}",state="{state}"}}"#);
        assert_eq!(sample(&metrics, &series), Some(value), "{series} in:\n{metrics}");
    }
    relay.stop().await;
}
