//! A destination's state outlives the config file: a channel that answered 410
//! Gone keeps its destination disabled across restarts (the file still says
//! `enabled = true`) until an operator re-enables it, through the API or the
//! CLI; both show who disabled it, why and when.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{Relay, TOKEN};
use crate::support::root;

fn write_config(dir: &Path, receiver: &Receiver) -> PathBuf {
    let path = dir.join("relay.toml");
    let text = format!(
        "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\nretry_schedule = [\"0s\"]\npoll_interval = \"50ms\"\n\n\
         [store]\nurl = \"sqlite://{store}\"\nsecret_key_file = \"{key}\"\n\n[server]\nauth_tokens = [\"{TOKEN}\"]\ntoken_file = \"{token}\"\n\n\
         [destinations.hook]\nenabled = true\n[destinations.hook.generic]\nurl = \"{url}\"\n",
        store = dir.join("relay.db").display(),
        token = dir.join("token").display(),
        key = dir.join("secret_key").display(),
        url = receiver.url("/hook"),
    );
    std::fs::write(&path, text).expect("writes the config file");
    path
}

/// The `hook` entry of `GET /api/v1/destinations`.
async fn listed(relay: &Relay) -> Value {
    let (status, body) = relay.get("/api/v1/destinations", &[]).await;
    assert_eq!(status, 200, "{body}");
    body["destinations"].as_array().and_then(|all| all.iter().find(|d| d["id"] == "hook").cloned()).expect("listed")
}

/// Waits (minutes at most) until the only message of `alert_id` is `status`.
async fn message_becomes(relay: &Relay, alert_id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let shown = relay.message_of(alert_id).await;
        if shown["message"]["status"] == status {
            return shown;
        }
        assert!(tokio::time::Instant::now() < deadline, "never {status}: {shown}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn cli(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_flockrelay"));
    for (key, _) in std::env::vars() {
        if key.starts_with("FLOCKRELAY_") {
            command.env_remove(key);
        }
    }
    let output = command.current_dir(root()).arg("--config").arg(config).args(args).output().expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_channels_410_holds_across_restarts_until_an_operator_re_enables() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    receiver.script([Reply::new(410, "this webhook is gone")]);
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = write_config(dir.path(), &receiver);

    let relay = Relay::from_file(&config).await;
    let gone = relay.ingest(&json!({"kind": "k", "title": "answered 410"})).await;
    message_becomes(&relay, gone[0]["alert_id"].as_str().expect("id"), "failed").await;
    let hook = listed(&relay).await;
    assert_eq!((&hook["enabled"], &hook["state"]), (&json!(false), &json!("disabled_by_channel")), "{hook}");
    assert!(hook["state_reason"].as_str().is_some_and(|reason| reason.contains("410")), "{hook}");
    assert!(hook["state_changed_at"].is_string(), "{hook}");
    relay.stop().await;

    // The same file, which says enabled = true, at the next start.
    let relay = Relay::from_file(&config).await;
    assert_eq!(listed(&relay).await["state"], "disabled_by_channel");
    // The gauge an alerting rule watches says the same.
    let scraped = relay.client.get(relay.url("/metrics")).send().await.expect("scrape").text().await.expect("text");
    for (state, value) in [("enabled", 0), ("disabled_by_operator", 0), ("disabled_by_channel", 1)] {
        let series = format!("flockrelay_destination_state{{destination=\"hook\",state=\"{state}\"}} {value}\n");
        assert!(scraped.contains(&series), "{series} in:\n{scraped}");
    }
    let while_disabled = relay.ingest(&json!({"kind": "k", "title": "while disabled"})).await;
    assert_eq!(while_disabled[0]["messages"], 0, "a disabled destination gets no new messages");

    let (status, answer) = relay.post_raw("/api/v1/destinations/hook/enable", "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["destination"]["state"], "enabled");
    assert_eq!(answer["destination"]["state_reason"], Value::Null);
    let again = relay.ingest(&json!({"kind": "k", "title": "after re-enabling"})).await;
    message_becomes(&relay, again[0]["alert_id"].as_str().expect("id"), "delivered").await;
    assert_eq!(listed(&relay).await["state"], "enabled");
    let (status, answer) = relay.post_raw("/api/v1/destinations/nope/enable", "").await;
    assert_eq!(status, 404, "{answer}");
    relay.stop().await;
}

#[tokio::test]
async fn the_cli_lists_disables_and_re_enables_a_destination() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = write_config(dir.path(), &receiver);
    // A start applies the file to the store.
    Relay::from_file(&config).await.stop().await;

    let (code, lines, _) = cli(&config, &["destinations", "list"]);
    assert_eq!(code, Some(0));
    let columns: Vec<&str> = lines.split_whitespace().collect();
    assert_eq!(columns, ["hook", "generic", "global", "enabled"], "{lines}");

    let (code, changed, _) = cli(&config, &["destinations", "disable", "hook", "--reason", "maintenance window"]);
    assert_eq!(code, Some(0));
    assert!(changed.contains("disabled_by_operator") && changed.ends_with("(maintenance window)\n"), "{changed}");
    let relay = Relay::from_file(&config).await;
    let hook = listed(&relay).await;
    assert_eq!((&hook["state"], &hook["state_reason"]), (&json!("disabled_by_operator"), &json!("maintenance window")));
    relay.stop().await;

    let (code, changed, _) = cli(&config, &["destinations", "enable", "hook"]);
    assert_eq!((code, changed.split_whitespace().nth(3)), (Some(0), Some("enabled")), "{changed}");
    let relay = Relay::from_file(&config).await;
    let alert = relay.ingest(&json!({"kind": "k", "title": "after the CLI re-enabled it"})).await;
    message_becomes(&relay, alert[0]["alert_id"].as_str().expect("id"), "delivered").await;
    relay.stop().await;

    let (code, _, error) = cli(&config, &["destinations", "enable", "nope"]);
    assert_eq!(code, Some(2), "an unknown destination is a usage error");
    // The last line: the temporary directory may also be reported as too open.
    assert_eq!(
        error.lines().last(),
        Some("error: no destination named `nope` in the store; destinations: hook"),
        "{error}"
    );
}
