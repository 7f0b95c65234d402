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
timeout = "30s"
lease = "10m"
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
    eventually(Duration::from_secs(120), "the message was delivered", || async { receiver.requests().len() == 1 })
        .await;
    eventually(Duration::from_secs(120), "the queue of hook reads empty", || async {
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
    for (destination, state, value) in [
        ("hook", "enabled", 1.0),
        ("hook", "disabled_by_operator", 0.0),
        ("hook", "disabled_by_channel", 0.0),
        ("off", "enabled", 0.0),
        ("off", "disabled_by_operator", 1.0),
        ("off", "disabled_by_channel", 0.0),
    ] {
        let series = format!(r#"flockrelay_destination_state{{destination="{destination}",state="{state}"}}"#);
        assert_eq!(sample(&metrics, &series), Some(value), "{series} in:\n{metrics}");
    }
    relay.stop().await;
}

/// `promtool`, from Debian's `prometheus` package (`.ci/run` installs it). Where
/// it is missing the caller says loudly that it skipped; under CI it must be there.
fn promtool() -> Option<std::process::Command> {
    let found = std::process::Command::new("promtool").arg("--version").output().is_ok_and(|out| out.status.success());
    if found {
        return Some(std::process::Command::new("promtool"));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "promtool is missing under CI: .ci/run installs it (apt-get install prometheus)"
    );
    None
}

fn skipped(test: &str) {
    eprintln!(
        "SKIPPED {test}: promtool is not installed (apt-get install prometheus); \
         the Prometheus rules and dashboard queries were NOT checked"
    );
}

fn run_promtool(args: &[&str], dir: &std::path::Path) -> Option<String> {
    let mut command = promtool()?;
    let output = command.args(args).current_dir(dir).output().expect("promtool runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    Some(text)
}

fn packaging(path: &str) -> std::path::PathBuf {
    crate::support::root().join("packaging").join(path)
}

#[test]
fn the_alerting_rules_pass_promtool_check_and_their_unit_tests() {
    let dir = packaging("prometheus");
    let Some(checked) = run_promtool(&["check", "rules", "flockrelay.rules.yml"], &dir) else {
        return skipped("monitoring::the_alerting_rules_pass_promtool_check_and_their_unit_tests");
    };
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = run_promtool(&["test", "rules", "flockrelay.rules.test.yml"], &dir).unwrap_or_default();
    assert!(tested.contains("SUCCESS"), "{tested}");
    // Every rule has a unit test.
    let rules = std::fs::read_to_string(dir.join("flockrelay.rules.yml")).expect("reads the rules");
    let tests = std::fs::read_to_string(dir.join("flockrelay.rules.test.yml")).expect("reads the rule tests");
    for alert in rules.lines().filter_map(|line| line.trim().strip_prefix("- alert: ")) {
        assert!(tests.contains(&format!("alertname: {alert}")), "{alert} has no promtool unit test");
    }
}

/// Every PromQL expression of the dashboard, with Grafana's variables filled in.
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(packaging("grafana/flockrelay.json")).expect("reads the dashboard");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("every target has a PromQL expr");
            queries.push(
                expr.replace("$__rate_interval", "5m")
                    .replace("$job", ".*")
                    .replace("$instance", ".*")
                    .replace("$destination", ".*"),
            );
        }
    }
    assert!(queries.len() >= 10, "{queries:?}");
    queries
}

#[test]
fn the_dashboard_queries_are_valid_promql() {
    // promtool checks PromQL in rule files: one recording rule per query.
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (index, query) in dashboard_queries().iter().enumerate() {
        let quoted = serde_json::to_string(query).expect("quotes");
        rules.push_str(&format!("      - record: dashboard:query_{index}\n        expr: {quoted}\n"));
    }
    std::fs::write(dir.path().join("dashboard.rules.yml"), rules).expect("writes the rules");
    let Some(checked) = run_promtool(&["check", "rules", "dashboard.rules.yml"], dir.path()) else {
        return skipped("monitoring::the_dashboard_queries_are_valid_promql");
    };
    assert!(checked.contains("SUCCESS"), "{checked}");
}

/// `flockrelay_…` names a text mentions (queries, rule annotations).
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("flockrelay_") {
        let tail = &rest[start..];
        let end =
            tail.find(|ch: char| !(ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')).unwrap_or(tail.len());
        names.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

#[tokio::test]
async fn the_dashboard_and_the_rules_query_only_metrics_a_running_relay_exports() {
    let ok = Receiver::start(Reply::new(200, "ok")).await;
    let flaky = Receiver::start(Reply::new(200, "ok")).await;
    flaky.script([Reply::new(500, "hiccup")]);
    let broken = Receiver::start(Reply::new(500, "down")).await;
    let extra = format!(
        "[destinations.ok.generic]\nurl = \"{}\"\n\n[destinations.flaky.generic]\nurl = \"{}\"\n\n\
         [destinations.broken.generic]\nurl = \"{}\"\n\n\
         [destinations.off]\nenabled = false\n[destinations.off.generic]\nurl = \"{}\"\n",
        ok.url("/ok"),
        flaky.url("/flaky"),
        broken.url("/broken"),
        ok.url("/off")
    );
    let delivery = r#"retry_schedule = ["0s", "100ms"]
jitter = 0.0
timeout = "30s"
lease = "10m"
poll_interval = "50ms"
allowed_cidrs = ["127.0.0.0/8"]
"#;
    let relay = Relay::configured(delivery, &extra).await;
    relay.ingest(&json!({"kind": "canary.incident", "title": "watched"})).await;
    // A refused inbound webhook, so the refusal counter has a series too.
    let refused = relay.client.post(relay.url("/hooks/nobody")).body("{}").send().await.expect("answers");
    assert_eq!(refused.status().as_u16(), 401);
    let value = |metrics: &str, series: &str| sample(metrics, series).unwrap_or(0.0);
    eventually(Duration::from_secs(120), "delivered, retried and failed", || async {
        let metrics = scrape(&relay).await;
        value(&metrics, r#"flockrelay_messages_delivered_total{destination="ok",kind="generic"}"#) >= 1.0
            && value(&metrics, r#"flockrelay_messages_delivered_total{destination="flaky",kind="generic"}"#) >= 1.0
            && value(&metrics, r#"flockrelay_messages_retried_total{destination="flaky",kind="generic"}"#) >= 1.0
            && value(&metrics, r#"flockrelay_messages_failed_total{destination="broken",kind="generic"}"#) >= 1.0
    })
    .await;
    let metrics = scrape(&relay).await;
    relay.stop().await;
    let exported: std::collections::BTreeSet<String> = metrics
        .lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| line.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect();

    let dashboard = std::fs::read_to_string(packaging("grafana/flockrelay.json")).expect("reads the dashboard");
    let rules = std::fs::read_to_string(packaging("prometheus/flockrelay.rules.yml")).expect("reads the rules");
    for (file, text) in [("grafana/flockrelay.json", &dashboard), ("prometheus/flockrelay.rules.yml", &rules)] {
        let referenced = metric_names(text);
        assert!(referenced.len() >= 4, "{file} references metrics: {referenced:?}");
        let unknown: Vec<&String> = referenced.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} queries metrics the relay does not export: {unknown:?}\nexported: {exported:?}"
        );
    }
    // The dashboard shows the figures an operator looks at first.
    for name in ["flockrelay_queue_depth", "flockrelay_oldest_pending_age_seconds", "flockrelay_messages_failed_total"]
    {
        assert!(dashboard.contains(name), "the dashboard shows {name}");
    }
}
