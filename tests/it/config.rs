//! Loading configuration files: the example works, and every mistake is reported
//! with the key that holds it.

use std::path::Path;

use flockrelay::config::{self, ConfigError};

use crate::support::root;

fn load_text(text: &str) -> Result<config::Config, ConfigError> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("flockrelay.toml");
    std::fs::write(&path, text).expect("writes config");
    config::load(Some(&path))
}

fn problems(text: &str) -> String {
    match load_text(text) {
        Err(error) => error.to_string(),
        Ok(_) => panic!("expected the configuration to be refused:\n{text}"),
    }
}

#[test]
fn the_example_configuration_loads_as_is() {
    let config = config::load(Some(&root().join("config/flockrelay.toml"))).expect("example is valid");
    let destinations = config.destinations();
    assert_eq!(destinations.len(), 4);
    assert!(destinations.iter().all(|destination| !destination.enabled));
    assert!(config.flock_settings("flock:datacenter").is_some_and(|flock| !flock.use_global && flock.enabled));
}

#[test]
fn defaults_alone_are_a_valid_configuration() {
    let config = load_text("").expect("empty file is valid");
    assert!(config.global.enabled);
    assert_eq!(config.delivery.timeout.0, std::time::Duration::from_secs(10));
    assert!(config.flock_settings("flock:default").is_some_and(|flock| flock.use_global));
    assert!(config.flock_settings("flock:unknown").is_none());
}

#[test]
fn a_missing_file_given_explicitly_is_an_error() {
    let error = config::load(Some(Path::new("/nonexistent/flockrelay.toml"))).expect_err("missing");
    assert!(error.to_string().contains("/nonexistent/flockrelay.toml"));
}

#[test]
fn unknown_keys_are_named() {
    let text = problems("[delivery]\ntimeout = \"5s\"\ntimeuot = \"5s\"\n");
    assert!(text.contains("timeuot") && text.contains("delivery"), "{text}");
    let text = problems("[destinations.x]\n[destinations.x.slack]\nurl = \"https://h.example/x\"\nchanel = \"#a\"\n");
    assert!(text.contains("chanel") && text.contains("destinations.x.slack"), "{text}");
}

#[test]
fn wrong_types_are_named() {
    let text = problems("[delivery]\ntimeout = \"soon\"\n");
    assert!(text.contains("delivery.timeout: must be a duration such as 500ms, 10s, 5m, 2h or 1d"), "{text}");
    assert!(!text.contains("soon"), "values are never echoed: {text}");
    let text = problems("[destinations.x]\n[destinations.x.slack]\nurl = \"not a url\"\n");
    assert!(text.contains("destinations.x.slack.url"), "{text}");
}

/// Each mistake is told as `key: what was expected`, and no value is ever
/// printed: a value can be a secret given to the wrong key.
#[test]
fn load_errors_name_the_key_and_what_was_expected_without_the_value() {
    for (text, expected) in [
        (
            "[destinations.dc_hec.splunk]\nhost = \"splunk.example.com\"\ntoken = \"SECRETVALUE-1\"\nport = 70000\n",
            "  - destinations.dc_hec.splunk.port: must be 1-65535",
        ),
        (
            "[destinations.soc.slack]\nurl = \"hooks.slack.com/services/T0/B0/SECRETVALUE\"\n",
            "  - destinations.soc.slack.url: is not a valid URL (relative URL without a base)",
        ),
        ("[server]\nauth_tokens = \"SECRETVALUE-token-0123456789\"\n", "  - server.auth_tokens: must be a list, not text"),
        (
            "[delivery]\ntimeout = \"SECRETVALUE\"\n",
            "  - delivery.timeout: must be a duration such as 500ms, 10s, 5m, 2h or 1d, or a number of seconds",
        ),
        (
            "[sources.lab]\nscheme = \"SECRETVALUE\"\n",
            "  - sources.lab.scheme: must be one of `standard_webhooks`, `flock_hmac`, `basic`, `client_secret`, `bearer`, `none`",
        ),
        ("[sources.lab]\nflock = \"flock:default\"\n", "  - sources.lab.scheme: is required"),
        ("[delivery]\nbreaker_cooldown = \"40000d\"\n", "  - delivery.breaker_cooldown: must be at most 100 years"),
        ("[server]\nheader_read_timeout = 9999999999999\n", "  - server.header_read_timeout: must be at most 100 years"),
        ("[flocks.\"flock:dc\"]\nname = 5\n", "  - flocks.\"flock:dc\".name: must be text, not a whole number"),
        ("[delivery]\ntimeuot = \"5s\"\n", "  - delivery.timeuot: is not a known key (known here: `timeout`,"),
    ] {
        let message = problems(text);
        assert!(message.starts_with("invalid configuration:\n"), "{message}");
        assert!(message.contains(expected), "expected `{expected}` in:\n{message}");
        assert!(!message.contains("SECRETVALUE"), "a value was echoed:\n{message}");
    }
}

/// TOML parsers quote the offending line; the relay tells line and column only.
#[test]
fn a_syntax_error_is_told_by_position_without_quoting_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("flockrelay.toml");
    std::fs::write(&path, "[destinations.hec.splunk]\nhost = \"h.example\"\ntoken = \"SECRETVALUE\n").expect("writes");
    let message = config::load(Some(&path)).expect_err("refused").to_string();
    assert_eq!(message, format!("config file {}, line 3, column 21: invalid basic string", path.display()));
}

#[test]
fn every_invalid_value_is_reported_with_its_key() {
    let text = problems(
        r#"
[flocks."soc"]
name = ""

[destinations.http_slack.slack]
url = "http://hooks.example/services/x"

[destinations.Bad-Name.slack]
url = "https://hooks.example/services/x"

[destinations.two]
rate_limit = 0
[destinations.two.slack]
url = "https://hooks.example/a"
[destinations.two.ms_teams]
url = "https://teams.example/a"

[destinations.none]
flock = "flock:nowhere"

[destinations.hec.splunk]
host = "splunk.example/services"
port = 0
token = ""
ca_file = "/nonexistent/ca.pem"

[destinations.hook.generic]
url = "ftp://files.example/x"
headers = { "X-Evil" = "a\r\nInjected: yes", "Content-Length" = "5", "Bad Name" = "x" }
auth = { type = "basic", username = "user:name", password = "" }
signing = { scheme = "standard_webhooks", secrets = ["not-a-whsec"] }

[destinations.secret.generic]
url = "https://hooks.example/x"
auth = { type = "client_secret", secret = "SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE_SECRETVALUE" }
"#,
    );
    for key in [
        "flocks.\"soc\": flock ids",
        "flocks.\"soc\".name",
        "destinations.http_slack.slack.url: must use https",
        "destinations.Bad-Name:",
        "destinations.two: declare exactly one of slack, ms_teams, splunk, generic (found slack, ms_teams)",
        "destinations.two.rate_limit",
        "destinations.none: declare exactly one",
        "destinations.none.flock: unknown flock `flock:nowhere`",
        "destinations.hec.splunk.host",
        "destinations.hec.splunk.port",
        "destinations.hec.splunk.token",
        "destinations.hec.splunk.ca_file",
        "destinations.hook.generic.url: scheme `ftp`",
        "destinations.hook.generic.headers.\"X-Evil\": value must not contain CR, LF",
        "destinations.hook.generic.headers.\"Content-Length\"",
        "destinations.hook.generic.headers.\"Bad Name\"",
        "destinations.hook.generic.auth.username",
        "destinations.hook.generic.auth.password",
        "destinations.hook.generic.signing.secrets[0]",
        "destinations.secret.generic.auth.secret: must be 1 to 250 characters",
    ] {
        assert!(text.contains(key), "missing `{key}` in:\n{text}");
    }
    // Secrets are never echoed back in errors.
    assert!(!text.contains("SECRETVALUE"), "{text}");
}

#[test]
fn address_policy_entries_are_checked_and_named() {
    let text = problems(
        "[delivery]\nallowed_cidrs = [\"10.0.0.0/8\"]\ndenied_cidrs = [\"192.168.0.0/16\", \"10.0.0.0/33\"]\n",
    );
    assert!(text.contains("delivery.denied_cidrs[1]: `10.0.0.0/33` is not a CIDR"), "{text}");
    let config = load_text("[delivery]\ndenied_cidrs = [\"127.0.0.1\", \"fd00::/8\"]\n").expect("valid");
    assert_eq!(config.delivery.denied_cidrs.len(), 2);
}

#[test]
fn a_malformed_secret_key_is_named_without_its_value() {
    let text = problems("[store]\nsecret_key = \"c2hvcnQta2V5LXZhbHVl\"\n");
    assert!(text.contains("store.secret_key: must be 32 random bytes in base64"), "{text}");
    assert!(!text.contains("c2hvcnQta2V5LXZhbHVl"), "{text}");
    let key = "dGVzdCBrZXkgb2YgdGhlIGZsb2NrcmVsYXkgc3VpdGU=";
    let config = load_text(&format!("[store]\nsecret_key = \"{key}\"\n")).expect("valid");
    assert!(config.store.secret_key.is_some());
    assert_eq!(config.store.secret_key_file, Path::new("data/secret_key"), "the default key file");
}

#[test]
fn the_example_sources_load_disabled() {
    let config = config::load(Some(&root().join("config/flockrelay.toml"))).expect("example is valid");
    let sources = config.sources();
    assert_eq!(sources.iter().map(|source| source.id.as_str()).collect::<Vec<_>>(), ["flowcode", "flowingly"]);
    assert!(sources.iter().all(|source| !source.enabled));
}

#[test]
fn every_source_mistake_is_reported_with_its_key() {
    let text = problems(
        r#"
[sources.flowcode]
scheme = "standard_webhooks"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "not-a-whsec"]
secret = "SECRETVALUE-stray"

[sources.rotating]
scheme = "standard_webhooks"

[sources.referrals]
scheme = "flock_hmac"
flock = "flock:nowhere"

[sources.flowingly]
scheme = "basic"
username = "user:name"

[sources.secret]
scheme = "client_secret"
secret = "SECRETVALUE-client"
field = "client_secret"
header = "Bad Header"

[sources.everywhere]
scheme = "bearer"
flock = "global"
token = "SECRETVALUE has space"

[sources.open]
scheme = "none"
token = "SECRETVALUE-unused"
template = ""

[sources.Bad]
scheme = "none"
"#,
    );
    for key in [
        "sources.flowcode.secrets[1]: signing secret must look like `whsec_<base64>`",
        "sources.flowcode.secret: is not used by scheme standard_webhooks",
        "sources.rotating.secrets: list at least one whsec_ secret",
        "sources.referrals.secret: is required by this scheme",
        "sources.referrals.flock: unknown flock `flock:nowhere`",
        "sources.flowingly.username: must not contain `:`",
        "sources.flowingly.password: is required by this scheme",
        "sources.secret.header: set field or header, not both",
        "sources.secret.header: is not a valid header name",
        "sources.everywhere.flock: a source's events belong to one flock",
        "sources.everywhere.token: must be non-empty, without spaces",
        "sources.open.token: is not used by scheme none",
        "sources.open.template: must not be empty",
        "sources.Bad: source ids use a-z",
    ] {
        assert!(text.contains(key), "missing `{key}` in:\n{text}");
    }
    assert!(!text.contains("SECRETVALUE"), "a secret was echoed:\n{text}");
}

#[test]
fn a_source_must_choose_its_scheme_explicitly() {
    let text = problems("[sources.lab]\nflock = \"flock:default\"\n");
    assert!(text.contains("scheme") && text.contains("sources.lab"), "{text}");
    let text = problems("[sources.lab]\nscheme = \"hmac256\"\n");
    assert!(text.contains("sources.lab.scheme: must be one of `standard_webhooks`"), "{text}");
    assert!(!text.contains("hmac256"), "values are never echoed: {text}");
}

#[test]
fn hec_acknowledgement_and_batch_settings_are_checked_with_their_keys() {
    let hec = |extra: &str| {
        format!(
            "[destinations.dc_hec.splunk]\nhost = \"splunk.example\"\ntoken = \"00000000-0000-0000-0000-000000000000\"\n{extra}\n"
        )
    };
    let config = load_text(&hec("ack = true\nack_timeout = \"30s\"\nack_poll_interval = \"500ms\"\nchannel = \"0f5d6c3a-2b1e-4f09-8a7b-6c5d4e3f2a10\"\nmax_batch_bytes = 65536")).expect("valid");
    let splunk = config.destinations["dc_hec"].splunk.clone().expect("a HEC");
    assert!(splunk.ack);
    assert_eq!(splunk.max_batch_bytes, 65_536);
    let defaults = load_text(&hec("")).expect("valid").destinations["dc_hec"].splunk.clone().expect("a HEC");
    assert!(!defaults.ack);
    assert_eq!(defaults.ack_timeout.0, std::time::Duration::from_secs(60));
    assert_eq!(defaults.ack_poll_interval.0, std::time::Duration::from_secs(2));
    assert_eq!(defaults.max_batch_bytes, 1_000_000);
    assert_eq!(defaults.channel, None);

    for (extra, key) in [
        ("channel = \"not-a-uuid\"", "destinations.dc_hec.splunk.channel"),
        ("max_batch_bytes = 0", "destinations.dc_hec.splunk.max_batch_bytes"),
        ("ack = true\nack_timeout = \"0s\"", "destinations.dc_hec.splunk.ack_timeout"),
        ("ack = true\nack_timeout = \"2h\"", "destinations.dc_hec.splunk.ack_timeout"),
        (
            "ack = true\nack_timeout = \"5s\"\nack_poll_interval = \"10s\"",
            "destinations.dc_hec.splunk.ack_poll_interval",
        ),
        ("ack = true\nack_poll_interval = \"1ms\"", "destinations.dc_hec.splunk.ack_poll_interval"),
    ] {
        let text = problems(&hec(extra));
        assert!(text.contains(key), "{extra}: {text}");
    }
}
