//! The real `flockrelay` binary, end to end, against loopback receivers.

use std::process::Output;

use serde_json::Value;
use tokio::io::AsyncWriteExt as _;
use tokio::process::Command;

use crate::support::receiver::{Receiver, Reply};
use crate::support::{json_stream, root};

const HEC_TOKEN: &str = "9a8b7c6d-0000-1111-2222-333344445555";

pub(crate) fn flockrelay() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flockrelay"));
    // Only what a test sets reaches the binary's configuration.
    for (key, _) in std::env::vars() {
        if key.starts_with("FLOCKRELAY_") {
            command.env_remove(key);
        }
    }
    command.current_dir(root()).kill_on_drop(true);
    command
}

pub(crate) async fn run(command: &mut Command, stdin: Option<&[u8]>) -> Output {
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("binary starts");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        // A command that fails before reading its input (an invalid
        // configuration) may have closed it already: what it printed and its
        // exit code are what the caller checks.
        if let Err(error) = input.write_all(bytes).await {
            assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "writes stdin: {error}");
        }
    }
    drop(input);
    child.wait_with_output().await.expect("binary finishes")
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Four destinations, one per channel, all on loopback receivers. Slack, Teams and
/// HEC are global; the generic hook belongs to flock:dc.
struct Lab {
    slack: Receiver,
    teams: Receiver,
    hec: Receiver,
    hook: Receiver,
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

impl Lab {
    async fn start() -> Self {
        let slack = Receiver::start(Reply::new(200, "ok")).await;
        let teams = Receiver::start(Reply::new(202, "")).await;
        let hec = Receiver::start(Reply::new(200, r#"{"text":"Success","code":0}"#)).await;
        let hook = Receiver::start(Reply::new(200, "")).await;
        let config = format!(
            r#"
[delivery]
allow_http = true
allowed_cidrs = ["127.0.0.0/8"]
timeout = "30s"

[flocks."flock:dc"]
name = "Datacenter"
use_global = false
enabled = true

[destinations.chat.slack]
url = "{slack}"

[destinations.teams.ms_teams]
url = "{teams}"

[destinations.hec.splunk]
host = "127.0.0.1"
port = {hec_port}
https = false
token = "placeholder-from-file"

[destinations.dc_hook]
flock = "flock:dc"
events = ["canary.*"]
[destinations.dc_hook.generic]
url = "{hook}"
headers = {{ "X-Api-Key" = "hook-key-value" }}
signing = {{ scheme = "standard_webhooks", secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] }}
"#,
            slack = slack.url("/services/T1/B2/slacksecrettoken"),
            teams = teams.url("/workflows/1/invoke?sig=teamssecretsignature"),
            hec_port = hec.addr.port(),
            hook = hook.url("/hook"),
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("flockrelay.toml");
        std::fs::write(&path, config).expect("writes config");
        Self { slack, teams, hec, hook, _dir: dir, config: path }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = flockrelay();
        command.arg("--config").arg(&self.config).args(args);
        command.env("FLOCKRELAY_DESTINATIONS__HEC__SPLUNK__TOKEN", HEC_TOKEN);
        command
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_accepts_the_example_and_names_the_key_of_a_mistake() {
    let output = run(flockrelay().arg("check"), None).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("configuration OK"));

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[destinations.x]\ntemplate = \"nope.json\"\n[destinations.x.generic]\nurl = \"https://h.example/\"\n",
    )
    .expect("writes");
    let output = run(flockrelay().arg("--config").arg(&path).arg("check"), None).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("destinations.x.template: no template named `nope.json`"),
        "{}",
        text(&output.stderr)
    );

    let output = run(flockrelay().arg("check").env("FLOCKRELAY_DELIVERY__TIMEOUT", "forever"), None).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).to_lowercase().contains("delivery.timeout"), "{}", text(&output.stderr));

    std::fs::write(&path, "[sources.lab]\nscheme = \"none\"\ntemplate = \"nope\"\n").expect("writes");
    let output = run(flockrelay().arg("--config").arg(&path).arg("check"), None).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("sources.lab.template: no mapping template named `nope`"),
        "{}",
        text(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_destinations_the_address_policy_always_refuses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("lab.toml");
    let destinations = r#"
[destinations.lab.generic]
url = "http://127.0.0.1:9000/hook"

[destinations.local.generic]
url = "http://localhost:9000/hook"

[destinations.chat.slack]
url = "https://[::ffff:a9fe:a9fe]/services/T0/B0/secretpart"

[destinations.hec.splunk]
host = "10.1.2.3"
token = "9a8b7c6d-0000-1111-2222-333344445555"

[destinations.public.generic]
url = "https://hooks.example.com/x"
"#;
    std::fs::write(&path, format!("[delivery]\nallow_http = true\n{destinations}")).expect("writes");
    let output = run(flockrelay().arg("--config").arg(&path).arg("check"), None).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for expected in [
        "destinations.lab.generic.url: the address policy refuses every delivery to 127.0.0.1: 127.0.0.1 is not a public address (loopback); list it in delivery.allowed_cidrs to reach it",
        "destinations.local.generic.url: the address policy refuses every delivery to localhost: 127.0.0.1 is not a public address (loopback)",
        "destinations.chat.slack.url: the address policy refuses every delivery to [::ffff:a9fe:a9fe]: 169.254.169.254 is a cloud metadata address, which is always refused",
        "destinations.hec.splunk.host: the address policy refuses every delivery to 10.1.2.3: 10.1.2.3 is not a public address (private (RFC 1918))",
    ] {
        assert!(stderr.contains(expected), "{expected}\n in:\n{stderr}");
    }
    assert!(!stderr.contains("destinations.public"), "{stderr}");
    assert!(!stderr.contains("secretpart"), "the URL's secret part is never printed: {stderr}");

    let opened = "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\", \"10.0.0.0/8\"]\n";
    let destinations = destinations.replace("[::ffff:a9fe:a9fe]", "hooks.slack.com");
    std::fs::write(&path, format!("{opened}{destinations}")).expect("writes");
    let output = run(flockrelay().arg("--config").arg(&path).arg("check"), None).await;
    assert!(output.status.success(), "opened networks are fine: {}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn test_reaches_every_destination_and_reports_one_line_each() {
    let lab = Lab::start().await;
    let output = run(&mut lab.command(&["test"]), None).await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", text(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    for (line, (name, kind)) in
        lines.iter().zip([("chat", "slack"), ("dc_hook", "generic"), ("hec", "splunk"), ("teams", "ms_teams")])
    {
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&columns[..3], [name, kind, "delivered"], "{line}");
        assert!(columns[3].ends_with("ms"), "{line}");
    }
    for receiver in [&lab.slack, &lab.teams, &lab.hec, &lab.hook] {
        assert_eq!(receiver.requests().len(), 1);
    }
    // The secret from the environment is the one used, and test alerts say so.
    let hec = lab.hec.single();
    assert_eq!(hec.header("authorization"), Some(format!("Splunk {HEC_TOKEN}").as_str()));
    assert_eq!(json_stream(&hec.body)[0]["event"]["test"], true);
    let slack: Value = serde_json::from_slice(&lab.slack.single().body).expect("JSON");
    assert!(slack["text"].as_str().is_some_and(|text| text.starts_with("[TEST]")));
    // Secrets never reach the terminal.
    assert!(!stdout.contains(HEC_TOKEN) && !stdout.contains("slacksecrettoken"));
}

#[tokio::test(flavor = "multi_thread")]
async fn test_exits_non_zero_and_shows_the_channel_error_when_one_fails() {
    let lab = Lab::start().await;
    lab.slack.script([Reply::new(404, "channel_not_found")]);
    lab.hec.script([Reply::new(403, r#"{"text":"Invalid token","code":4}"#)]);
    let output = run(&mut lab.command(&["test"]), None).await;
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let line = |name: &str| stdout.lines().find(|line| line.starts_with(name)).unwrap_or_default().to_owned();
    assert!(line("chat").contains("failed") && line("chat").contains("channel_not_found"), "{stdout}");
    assert!(line("hec").contains("failed") && line("hec").contains("Invalid token"), "{stdout}");
    assert!(line("teams").contains("delivered"), "{stdout}");
    assert!(text(&output.stderr).contains("2 of 4 destinations did not deliver"));
}

#[tokio::test(flavor = "multi_thread")]
async fn test_follows_the_flock_resolver_and_can_pick_one_destination() {
    let lab = Lab::start().await;
    let output = run(&mut lab.command(&["test", "--flock", "flock:dc"]), None).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).lines().count(), 1);
    assert_eq!(lab.hook.requests().len(), 1);
    assert!(lab.slack.requests().is_empty());

    let output = run(&mut lab.command(&["test", "--destination", "teams"]), None).await;
    assert!(output.status.success());
    assert_eq!(lab.teams.requests().len(), 1);

    let output = run(&mut lab.command(&["test", "--flock", "flock:unknown"]), None).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("unknown flock `flock:unknown`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn send_delivers_an_alert_from_stdin_through_the_resolver() {
    let lab = Lab::start().await;
    let incident = std::fs::read(root().join("tests/fixtures/canary-incident.json")).expect("fixture");
    // The fixture belongs to flock:datacenter, unknown to this config: an error, not a silent drop.
    let output = run(&mut lab.command(&["send", "-"]), Some(&incident)).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("unknown flock `flock:datacenter`"));

    let output = run(&mut lab.command(&["send", "--flock", "flock:dc", "-"]), Some(&incident)).await;
    assert!(output.status.success(), "{}\n{}", text(&output.stdout), text(&output.stderr));
    let request = lab.hook.single();
    let body: Value = serde_json::from_slice(&request.body).expect("JSON");
    // Signed with Standard Webhooks: the spec's envelope around the alert.
    assert_eq!(body["type"], "canary.incident");
    assert_eq!(body["data"]["id"], "cli:3f6c3f2a9b8e4d1c", "the CLI's own id space");
    assert_eq!(body["data"]["test"], false);
    assert!(request.header("webhook-signature").is_some_and(|signature| signature.starts_with("v1,")));

    let output = run(&mut lab.command(&["send", "-"]), Some(b"{\"kind\": \"x\"}")).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("missing required field `title`"), "{}", text(&output.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn send_and_render_refuse_an_alert_past_the_limits_naming_the_field() {
    let lab = Lab::start().await;
    let with_nul = br#"{"kind": "x", "title": "a\u0000b", "flock_id": "flock:dc"}"#;
    let long_id = format!(r#"{{"id": "{}", "kind": "x", "title": "t", "flock_id": "flock:dc"}}"#, "i".repeat(300));
    for (input, needle) in [
        (with_nul.to_vec(), "field `title` is invalid: must not contain NUL characters (U+0000)"),
        (long_id.into_bytes(), "field `id` is invalid: must be at most 256 characters"),
    ] {
        for args in [&["send", "-"][..], &["render", "--destination", "dc_hook", "-"][..]] {
            let output = run(&mut lab.command(args), Some(&input)).await;
            assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output.stderr));
            assert!(text(&output.stderr).contains(needle), "{args:?}: {}", text(&output.stderr));
        }
    }
    assert!(lab.hook.requests().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread")]
async fn render_prints_the_exact_request_with_secrets_masked() {
    let lab = Lab::start().await;
    for (name, secrets) in [
        ("hec", vec![HEC_TOKEN]),
        ("chat", vec!["slacksecrettoken"]),
        ("teams", vec!["teamssecretsignature"]),
        ("dc_hook", vec!["hook-key-value"]),
    ] {
        let output =
            run(&mut lab.command(&["render", "--destination", name, "tests/fixtures/canary-incident.json"]), None)
                .await;
        assert!(output.status.success(), "{name}: {}", text(&output.stderr));
        let stdout = text(&output.stdout);
        assert!(stdout.starts_with("POST http://127.0.0.1:"), "{stdout}");
        for secret in secrets {
            assert!(!stdout.contains(secret), "{name} leaks {secret}:\n{stdout}");
        }
        assert!(stdout.contains("********"), "{stdout}");
        let body = stdout.split("\n\n").nth(1).expect("blank line before the body");
        serde_json::from_str::<Value>(body.trim()).expect("body is the JSON that would be sent");
    }
    let output =
        run(&mut lab.command(&["render", "--destination", "dc_hook", "tests/fixtures/canary-incident.json"]), None)
            .await;
    let stdout = text(&output.stdout);
    assert!(stdout.contains("X-Api-Key: ********") && stdout.contains("webhook-signature: v1,"), "{stdout}");
    // No request was sent by render.
    assert!(lab.hook.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn test_with_health_checks_a_hec_without_writing_an_event() {
    use crate::support::hec::{FakeHec, TokenState};
    let fake = FakeHec::start().await;
    fake.token(HEC_TOKEN, TokenState::Enabled);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("flockrelay.toml");
    let config = format!(
        "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\n\n[destinations.hec.splunk]\nhost = \"127.0.0.1\"\nport = {}\nhttps = false\ntoken = \"{HEC_TOKEN}\"\n",
        fake.addr.port()
    );
    std::fs::write(&path, config).expect("writes config");
    let command = || {
        let mut command = flockrelay();
        command.arg("--config").arg(&path).args(["test", "--destination", "hec", "--health"]);
        command
    };

    let output = run(&mut command(), None).await;
    assert!(output.status.success(), "{}{}", text(&output.stdout), text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("hec") && stdout.contains("healthy"), "{stdout}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/services/collector/health");
    assert_eq!(requests[0].header("authorization"), Some(format!("Splunk {HEC_TOKEN}").as_str()));
    assert!(fake.events().is_empty(), "nothing was written into the index");

    // A token the collector refuses: the health check says so (code 21), exit 1.
    fake.forget_token(HEC_TOKEN);
    let output = run(&mut command(), None).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("Invalid token"), "{}", text(&output.stdout));
    assert!(fake.events().is_empty());
}

/// What Kubernetes injects into every pod for a Service named `flockrelay`.
pub const KUBERNETES_SERVICE_VARIABLES: [(&str, &str); 8] = [
    ("FLOCKRELAY_PORT", "tcp://10.96.0.12:8080"),
    ("FLOCKRELAY_PORT_8080_TCP", "tcp://10.96.0.12:8080"),
    ("FLOCKRELAY_PORT_8080_TCP_PROTO", "tcp"),
    ("FLOCKRELAY_PORT_8080_TCP_PORT", "8080"),
    ("FLOCKRELAY_PORT_8080_TCP_ADDR", "10.96.0.12"),
    ("FLOCKRELAY_SERVICE_HOST", "10.96.0.12"),
    ("FLOCKRELAY_SERVICE_PORT", "8080"),
    ("FLOCKRELAY_SERVICE_PORT_HTTP", "8080"),
];

#[tokio::test(flavor = "multi_thread")]
async fn unrelated_flockrelay_variables_are_ignored() {
    let mut command = flockrelay();
    command.arg("check").envs(KUBERNETES_SERVICE_VARIABLES).env("FLOCKRELAY_BIN", "x");
    let output = run(&mut command, None).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("configuration OK"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_known_key_in_the_environment_is_an_error_naming_it() {
    for command in ["check", "serve"] {
        let mut binary = flockrelay();
        binary.arg(command).envs(KUBERNETES_SERVICE_VARIABLES).env("FLOCKRELAY_DELIVERY__TIMEOUT", "banana");
        let output = run(&mut binary, None).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{command}: {stderr}");
        assert!(
            stderr.contains(
                "  - delivery.timeout: must be a duration such as 500ms, 10s, 5m, 2h or 1d, or a number of seconds \
                 (environment variable FLOCKRELAY_DELIVERY__TIMEOUT)"
            ),
            "{command}: {stderr}"
        );
        assert!(!stderr.contains("banana"), "{command}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_in_a_mistyped_variable_is_never_printed() {
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    for (variable, expected) in [
        ("FLOCKRELAY_SERVER__AUTH_TOKENS", "  - server.auth_tokens: must be a list, not text (environment variable FLOCKRELAY_SERVER__AUTH_TOKENS)"),
        ("FLOCKRELAY_DELIVERY__RETRY_SCHEDULE", "  - delivery.retry_schedule: must be a list, not text (environment variable FLOCKRELAY_DELIVERY__RETRY_SCHEDULE)"),
        ("FLOCKRELAY_SERVER__BODY_LIMIT", "  - server.body_limit: must be a whole number, 0 or more, not text (environment variable FLOCKRELAY_SERVER__BODY_LIMIT)"),
    ] {
        for command in ["check", "serve", "test"] {
            let output = run(flockrelay().arg(command).env(variable, SECRET), None).await;
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{command} {variable}: {stderr}");
            assert!(stderr.contains(expected), "{command}: expected `{expected}` in:\n{stderr}");
            assert!(!stderr.contains("whsec_") && !text(&output.stdout).contains("whsec_"), "{command}: {stderr}");
        }
    }
}

/// README: "Exit codes: 0 success, 1 a destination failed or the configuration
/// is invalid, 2 a usage error": every command exits 1 on an invalid file,
/// with the message `check` prints.
#[tokio::test(flavor = "multi_thread")]
async fn every_command_exits_1_on_an_invalid_configuration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[destinations.dc_hec.splunk]\nhost = \"splunk.example.com\"\nport = 70000\ntoken = \"t\"\n")
        .expect("writes");
    let commands: [&[&str]; 7] = [
        &["check"],
        &["serve"],
        &["test"],
        &["render", "--destination", "dc_hec"],
        &["send", "-"],
        &["messages", "list"],
        &["destinations", "list"],
    ];
    for args in commands {
        let output = run(flockrelay().arg("--config").arg(&path).args(args), Some(b"{}")).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(
            stderr, "invalid configuration:\n  - destinations.dc_hec.splunk.port: must be 1-65535\n",
            "{args:?}"
        );
    }
}

/// README quotes a syntax error as the binary prints it: by position, without
/// the line (which here holds a secret).
#[tokio::test(flavor = "multi_thread")]
async fn readme_syntax_error_quote_is_what_check_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("flockrelay.toml"),
        "[destinations.dc_hec.splunk]\nhost = \"splunk.example.com\"\ntoken = \"SECRETVALUE\n",
    )
    .expect("writes");
    let mut command = flockrelay();
    command.current_dir(dir.path()).args(["--config", "flockrelay.toml", "check"]);
    let output = run(&mut command, None).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stderr), "config file flockrelay.toml, line 3, column 21: invalid basic string\n");
}

/// README: `serve` exits 1 when it cannot start (here: the address is taken).
#[tokio::test(flavor = "multi_thread")]
async fn serve_exits_1_when_it_cannot_start() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = flockrelay();
    command
        .current_dir(dir.path())
        .arg("serve")
        .env("FLOCKRELAY_SERVER__LISTEN", &address)
        .env("FLOCKRELAY_SERVER__AUTH_TOKENS", "[\"0123456789abcdef0123\"]")
        .env("FLOCKRELAY_STORE__URL", format!("sqlite://{}", dir.path().join("relay.db").display()));
    let output = run(&mut command, None).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains(&format!("error: cannot listen on {address}")), "{}", text(&output.stderr));
}

/// README: 2 is a usage error — unknown flock or destination, unreadable or
/// invalid alert, unknown command.
#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let lab = Lab::start().await;
    for (args, expected) in [
        (&["render", "--destination", "nope"][..], "error: no destination named `nope` in the configuration"),
        (&["test", "--destination", "nope"][..], "error: no destination named `nope` in the configuration"),
        (&["send", "/nonexistent/alert.json"][..], "error: cannot read alert file /nonexistent/alert.json"),
        (&["send", "--flock", "flock:nope", "-"][..], "error: unknown flock `flock:nope`"),
        (&["bogus"][..], "unrecognized subcommand 'bogus'"),
    ] {
        let output = run(&mut lab.command(args), Some(b"{\"kind\": \"k\", \"title\": \"t\"}")).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", text(&output.stderr));
        assert!(text(&output.stderr).contains(expected), "{args:?}: {}", text(&output.stderr));
    }
}
