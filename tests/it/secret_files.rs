//! Secrets given as files (`token_file`, `password_file`, `secrets_file`,
//! `headers_file`, `auth_tokens_file`, `url_file` …), as systemd credentials and
//! Kubernetes secrets provide them: the real binary sends what the files hold,
//! and every mistake names the key and the path, never the content.

use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;

use crate::support::binary;
use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{write_config, Relay, TOKEN};

const HEC_TOKEN: &str = "5ec2e7f1-hec0-token-from-a-file";
const PASSWORD: &str = "basic-password-from-a-file";
const HEADER_VALUE: &str = "header-value-from-a-file";
const OLD_WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW_WHSEC: &str = "whsec_c2Vjb25kLXNlY3JldC1vZi0yNGJ5dGVz";

/// Writes `name` in `dir` with `content` and returns its path.
fn secret(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("writes the secret file");
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn run(command: std::process::Command) -> Output {
    let mut command = tokio::process::Command::from(command);
    command.kill_on_drop(true).output().await.expect("the binary runs")
}

/// `flockrelay --config PATH ARGS…`.
fn relay_command(config: &Path, args: &[&str]) -> std::process::Command {
    let mut command = binary();
    command.arg("--config").arg(config).args(args);
    command
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("flockrelay.toml");
    std::fs::write(&path, text).expect("writes the config");
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn destinations_send_the_secrets_their_files_hold() {
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let hec = Receiver::start(Reply::new(200, r#"{"text":"Success","code":0}"#)).await;
    let hook = Receiver::start(Reply::new(200, "")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let credentials = dir.path().join("credentials");
    std::fs::create_dir(&credentials).expect("creates the credentials directory");
    // As `echo value > file` writes them: with a trailing newline.
    secret(&credentials, "hec", &format!("{HEC_TOKEN}\n"));
    let slack_url = secret(dir.path(), "slack-url", &format!("{}\r\n", slack.url("/services/T1/B2/from-a-file")));
    let hook_url = secret(dir.path(), "hook-url", &hook.url("/hook-from-file"));
    let password = secret(dir.path(), "password", &format!("{PASSWORD}\n"));
    let header = secret(dir.path(), "api-key", HEADER_VALUE);
    let signing = secret(dir.path(), "whsec", &format!("{OLD_WHSEC}\n\n{NEW_WHSEC}\n"));
    let config = write(
        dir.path(),
        &format!(
            r#"
[delivery]
allow_http = true
allowed_cidrs = ["127.0.0.0/8"]

[destinations.chat.slack]
url_file = "{slack_url}"

[destinations.hec.splunk]
host = "127.0.0.1"
port = {hec_port}
https = false
token_file = "$CREDENTIALS_DIRECTORY/hec"

[destinations.hook.generic]
url_file = "{hook_url}"
headers = {{ "X-Team" = "soc" }}
headers_file = {{ "X-Api-Key" = "{header}" }}
auth = {{ type = "basic", username = "relay", password_file = "{password}" }}
signing = {{ scheme = "standard_webhooks", secrets_file = "{signing}" }}
"#,
            slack_url = slack_url.display(),
            hec_port = hec.addr.port(),
            hook_url = hook_url.display(),
            header = header.display(),
            password = password.display(),
            signing = signing.display(),
        ),
    );
    let mut command = relay_command(&config, &["test"]);
    command.env("CREDENTIALS_DIRECTORY", &credentials);
    let output = run(command).await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", text(&output.stderr));

    assert_eq!(slack.single().uri.path(), "/services/T1/B2/from-a-file");
    assert_eq!(hec.single().header("authorization"), Some(format!("Splunk {HEC_TOKEN}").as_str()));
    let request = hook.single();
    assert_eq!(request.uri.path(), "/hook-from-file");
    assert_eq!(request.header("x-api-key"), Some(HEADER_VALUE));
    assert_eq!(request.header("x-team"), Some("soc"));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("relay:{PASSWORD}"));
    assert_eq!(request.header("authorization"), Some(format!("Basic {basic}").as_str()));
    let signatures = request.header("webhook-signature").unwrap_or_default();
    assert_eq!(signatures.split(' ').count(), 2, "both secrets of the file sign: {signatures}");
    for value in [HEC_TOKEN, PASSWORD, HEADER_VALUE, "from-a-file"] {
        assert!(!stdout.contains(value), "no secret on the terminal: {stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_key_can_come_from_the_environment() {
    let hec = Receiver::start(Reply::new(200, r#"{"text":"Success","code":0}"#)).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let token = secret(dir.path(), "hec", HEC_TOKEN);
    let config = write(
        dir.path(),
        &format!(
            "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\n\n\
             [destinations.hec.splunk]\nhost = \"127.0.0.1\"\nport = {}\nhttps = false\n",
            hec.addr.port()
        ),
    );
    let mut command = relay_command(&config, &["test"]);
    command.env("FLOCKRELAY_DESTINATIONS__HEC__SPLUNK__TOKEN_FILE", &token);
    let output = run(command).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(hec.single().header("authorization"), Some(format!("Splunk {HEC_TOKEN}").as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn mistakes_name_the_key_and_the_path_but_never_the_content() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let empty = secret(dir.path(), "empty", "\n");
    let two_lines = secret(dir.path(), "two-lines", "first-secret-line\nsecond-secret-line\n");
    let not_a_url = secret(dir.path(), "not-a-url", "hooks.example/secret-path-xyz");
    let token = secret(dir.path(), "token", HEC_TOKEN);
    let missing = dir.path().join("missing");
    let cases: Vec<(String, &str, String)> = vec![
        (
            format!("[destinations.hec.splunk]\nhost = \"h.example\"\ntoken_file = \"{}\"\n", missing.display()),
            "destinations.hec.splunk.token_file",
            format!("{}: cannot read it", missing.display()),
        ),
        (
            format!("[destinations.hec.splunk]\nhost = \"h.example\"\ntoken_file = \"{}\"\n", empty.display()),
            "destinations.hec.splunk.token_file",
            format!("{} is empty", empty.display()),
        ),
        (
            format!("[sources.console]\nscheme = \"bearer\"\ntoken_file = \"{}\"\n", two_lines.display()),
            "sources.console.token_file",
            format!("{} holds more than one line", two_lines.display()),
        ),
        (
            format!("[destinations.chat.slack]\nurl_file = \"{}\"\n", not_a_url.display()),
            "destinations.chat.slack.url_file",
            format!("{} does not hold a URL", not_a_url.display()),
        ),
        (
            format!(
                "[destinations.hec.splunk]\nhost = \"h.example\"\ntoken = \"inline\"\ntoken_file = \"{}\"\n",
                token.display()
            ),
            "destinations.hec.splunk.token_file",
            "set either `token` or `token_file`, not both".to_owned(),
        ),
        (
            format!(
                "[destinations.hook.generic]\nurl = \"https://h.example/\"\nheaders = {{ \"X-Api-Key\" = \"inline\" }}\n\
                 headers_file = {{ \"X-Api-Key\" = \"{}\" }}\n",
                token.display()
            ),
            "destinations.hook.generic.headers_file.X-Api-Key",
            "`X-Api-Key` is in both `headers` and `headers_file`".to_owned(),
        ),
        (
            "[server]\nauth_tokens_file = \"$CREDENTIALS_DIRECTORY/api\"\n".to_owned(),
            "server.auth_tokens_file",
            "$CREDENTIALS_DIRECTORY/api names $CREDENTIALS_DIRECTORY, which is not set".to_owned(),
        ),
        (
            format!("[sources.flowcode]\nscheme = \"standard_webhooks\"\nsecrets_file = [\"{}\", 7]\n", token.display()),
            "sources.flowcode.secrets_file[1]",
            "must be a file path".to_owned(),
        ),
    ];
    for (config_text, key, reason) in cases {
        let case = tempfile::tempdir().expect("temporary directory");
        let config = write(case.path(), &config_text);
        let mut command = relay_command(&config, &["check"]);
        command.env_remove("CREDENTIALS_DIRECTORY");
        let output = run(command).await;
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{config_text}\n{stderr}");
        assert!(stderr.contains(&format!("{key}: {reason}")), "expected `{key}: {reason}` in:\n{stderr}");
        for content in [HEC_TOKEN, "first-secret-line", "secret-path-xyz"] {
            assert!(!stderr.contains(content), "the content is never shown:\n{stderr}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_store_url_and_api_tokens_can_come_from_files() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let database = dir.path().join("from-file.db");
    let url = secret(dir.path(), "store-url", &format!("sqlite://{}\n", database.display()));
    let key = dir.path().join("secret_key");
    // The key `serve` would have made at its first start: store commands never make one.
    flockrelay::store::key::load_or_create(None, &key).expect("key");
    let config = write(
        dir.path(),
        &format!("[store]\nurl_file = \"{}\"\nsecret_key_file = \"{}\"\n", url.display(), key.display()),
    );
    let output = run(relay_command(&config, &["messages", "list"])).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(database.exists(), "the store named by the file was created");

    let tokens = secret(dir.path(), "api-tokens", &format!("{TOKEN}\n\nsecond-token-0123456789\n"));
    let bearer = secret(dir.path(), "bearer", "bearer-token-from-a-file\n");
    let config = write_config(
        dir.path(),
        &format!(
            "[sources.console]\nscheme = \"bearer\"\ntoken_file = \"{}\"\n\n\
             [destinations.sink.generic]\nurl = \"https://sink.example/\"\n",
            bearer.display()
        ),
    );
    // write_config sets auth_tokens inline; replace them with the file.
    let text_with_file = std::fs::read_to_string(&config)
        .expect("reads the config")
        .replace(&format!("auth_tokens = [\"{TOKEN}\"]"), &format!("auth_tokens_file = \"{}\"", tokens.display()));
    std::fs::write(&config, text_with_file).expect("rewrites the config");
    let relay = Relay::from_file(&config).await;
    let client = reqwest::Client::new();
    for (token, status) in [(TOKEN, 200), ("second-token-0123456789", 200), ("not-a-token-0123456789", 403)] {
        let response = client
            .get(relay.url("/api/v1/destinations"))
            .header("X-Canary-Auth-Token", token)
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), status, "{token}");
    }
    let alert = std::fs::read(crate::support::root().join("tests/fixtures/canary-incident.json")).expect("fixture");
    for (token, status) in [("bearer-token-from-a-file", 202), ("wrong", 401)] {
        let response = client
            .post(relay.url("/hooks/console"))
            .bearer_auth(token)
            .body(alert.clone())
            .send()
            .await
            .expect("answers");
        assert_eq!(response.status().as_u16(), status, "{token}");
    }
    relay.stop().await;
}
