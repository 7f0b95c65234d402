//! `flockrelay render` prints the exact request a destination would receive:
//! the same headers the sender puts on the wire (one list for both), and with
//! `--pretty` a readable body without changing what is sent.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cli::{flockrelay, run, text};
use crate::support::receiver::{Receiver, Reply};

/// An alert with a fixed id and time, so render and send make the same body.
const ALERT: &str = r#"{"id": "a-1", "kind": "canary.incident", "title": "Port scan", "timestamp": "2026-03-14T09:30:00Z",
  "details": {"ports": [22, 445]}}"#;

struct Lab {
    hook: Receiver,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
    alert: std::path::PathBuf,
}

impl Lab {
    async fn start() -> Self {
        let hook = Receiver::start(Reply::new(200, "")).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("flockrelay.toml");
        std::fs::write(
            &config,
            format!(
                "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\n\n\
                 [destinations.plain.generic]\nurl = \"{}\"\n",
                hook.url("/hook?team=soc")
            ),
        )
        .expect("writes config");
        let alert = dir.path().join("alert.json");
        std::fs::write(&alert, ALERT).expect("writes alert");
        Self { hook, _dir: dir, config, alert }
    }

    async fn flockrelay(&self, args: &[&str]) -> std::process::Output {
        run(flockrelay().arg("--config").arg(&self.config).args(args).arg(&self.alert), None).await
    }
}

/// The header lines of a printed request, as (lowercase name, value).
fn printed_headers(printed: &str) -> BTreeSet<(String, String)> {
    printed
        .lines()
        .skip(1)
        .take_while(|line| !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once(": ").unwrap_or_else(|| panic!("not a header line: {line:?}"));
            (name.to_ascii_lowercase(), value.to_owned())
        })
        .collect()
}

/// The body of a printed request: everything after the blank line.
fn printed_body(printed: &str) -> &str {
    printed.split_once("\n\n").map(|(_, body)| body.trim_end_matches('\n')).expect("a blank line before the body")
}

#[tokio::test(flavor = "multi_thread")]
async fn render_prints_every_header_the_receiver_gets() {
    let lab = Lab::start().await;
    let rendered = lab.flockrelay(&["render", "--destination", "plain"]).await;
    assert!(rendered.status.success(), "{}", text(&rendered.stderr));
    let printed = text(&rendered.stdout);
    let sent = lab.flockrelay(&["send"]).await;
    assert!(sent.status.success(), "{}{}", text(&sent.stdout), text(&sent.stderr));
    let request = lab.hook.single();

    assert!(printed.starts_with(&format!("POST {}\n", lab.hook.url("/hook?team=soc"))), "{printed}");
    let received: BTreeSet<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.to_str().expect("ASCII").to_owned()))
        .collect();
    assert_eq!(printed_headers(&printed), received, "render and the wire disagree:\n{printed}");
    assert!(received.iter().any(|(name, value)| name == "user-agent" && value.starts_with("flockrelay/")));
    assert_eq!(printed_body(&printed).as_bytes(), &request.body[..]);
}

#[tokio::test(flavor = "multi_thread")]
async fn render_pretty_prints_the_body_readably_and_changes_nothing_else() {
    let lab = Lab::start().await;
    let compact = text(&lab.flockrelay(&["render", "--destination", "plain"]).await.stdout);
    let output = lab.flockrelay(&["render", "--pretty", "--destination", "plain"]).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    let pretty = text(&output.stdout);
    assert_eq!(printed_headers(&pretty), printed_headers(&compact), "content-length is what is sent");
    let body = printed_body(&pretty);
    assert!(body.lines().count() > 5 && body.contains("\n  \"kind\": \"canary.incident\""), "{pretty}");
    let same: Value = serde_json::from_str(body).expect("pretty body is JSON");
    assert_eq!(same, serde_json::from_str::<Value>(printed_body(&compact)).expect("JSON"));
    assert!(lab.hook.requests().is_empty(), "render sends nothing");
}
