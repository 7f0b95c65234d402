//! One rule per channel setting: the config file and the Canary API refuse the
//! same values, each naming the field (the file by its dotted key, the API by
//! its parameter), because both call the channel's own `validate()`.

use serde_json::json;

use flockrelay::config;

use crate::support::relay::Relay;

const SETTINGS: &str = "/api/v1/flock/settings/webhooks";

/// A value the file and the API must both refuse.
struct Case {
    /// The destination's channel table in the config file.
    file: String,
    /// The dotted key the file's error names.
    key: &'static str,
    /// The API endpoint (below the webhooks settings) and its parameters.
    endpoint: &'static str,
    params: Vec<(&'static str, String)>,
    /// The parameter the API's error names.
    parameter: &'static str,
}

fn cases() -> Vec<Case> {
    let url = "https://hooks.example.com/x".to_owned();
    let long = |count: usize| "a".repeat(count);
    let many_headers: serde_json::Map<String, serde_json::Value> =
        (0..33).map(|index| (format!("X-H{index}"), json!("v"))).collect();
    let file_headers: Vec<String> = (0..33).map(|index| format!("\"X-H{index}\" = \"v\"")).collect();
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    vec![
        Case {
            file: format!("[destinations.x.generic]\nurl = \"{url}\"\nheaders = {{ \"X-A\" = \"{}\" }}\n", long(5000)),
            key: "destinations.x.generic.headers.\"X-A\"",
            endpoint: "generic/add",
            params: vec![("url", url.clone()), ("headers", json!({"X-A": long(5000)}).to_string())],
            parameter: "headers",
        },
        Case {
            file: format!("[destinations.x.generic]\nurl = \"{url}\"\nheaders = {{ {} }}\n", file_headers.join(", ")),
            key: "destinations.x.generic.headers",
            endpoint: "generic/add",
            params: vec![("url", url.clone()), ("headers", serde_json::Value::Object(many_headers).to_string())],
            parameter: "headers",
        },
        Case {
            file: format!(
                "[destinations.x.generic]\nurl = \"{url}\"\nauth = {{ type = \"bearer\", token = \"{}\" }}\n",
                long(5000)
            ),
            key: "destinations.x.generic.auth.token",
            endpoint: "generic/add",
            params: vec![("url", url.clone()), ("auth_type", "bearer".into()), ("token", long(5000))],
            parameter: "token",
        },
        Case {
            file: format!(
                "[destinations.x.generic]\nurl = \"{url}\"\nsigning = {{ scheme = \"flock_hmac\", secret = \"{}\" }}\n",
                long(2000)
            ),
            key: "destinations.x.generic.signing.secret",
            endpoint: "generic/add",
            params: vec![("url", url.clone()), ("signing", "flock_hmac".into()), ("signing_secret", long(2000))],
            parameter: "signing_secret",
        },
        Case {
            file: format!(
                "[destinations.x.generic]\nurl = \"{url}\"\nsigning = {{ scheme = \"standard_webhooks\", secrets = [{}] }}\n",
                vec![format!("\"{whsec}\""); 5].join(", ")
            ),
            key: "destinations.x.generic.signing.secrets",
            endpoint: "generic/add",
            params: vec![
                ("url", url.clone()),
                ("signing", "standard_webhooks".into()),
                ("signing_secret", [whsec; 5].join(" ")),
            ],
            parameter: "signing_secret",
        },
        Case {
            file: format!("[destinations.x.slack]\nurl = \"{url}\"\nteam = \"{}\"\n", long(101)),
            key: "destinations.x.slack.team",
            endpoint: "slack/add",
            params: vec![("url", url.clone()), ("team", long(101))],
            parameter: "team",
        },
        Case {
            file: "[destinations.x.splunk]\nhost = \"splunk example\"\nport = 8088\ntoken = \"t0k3n\"\n".into(),
            key: "destinations.x.splunk.host",
            endpoint: "splunk/add",
            params: vec![("host", "splunk example".into()), ("port", "8088".into()), ("token", "t0k3n".into())],
            parameter: "host",
        },
        Case {
            file: format!("[destinations.x.splunk]\nhost = \"splunk.example.com\"\nport = 8088\ntoken = \"{}\"\n", long(300)),
            key: "destinations.x.splunk.token",
            endpoint: "splunk/add",
            params: vec![("host", "splunk.example.com".into()), ("port", "8088".into()), ("token", long(300))],
            parameter: "token",
        },
        Case {
            file: "[destinations.x.splunk]\nhost = \"splunk.example.com\"\nport = 8088\ntoken = \"t0k3n\"\nindex = \"main index\"\n"
                .into(),
            key: "destinations.x.splunk.index",
            endpoint: "splunk/add",
            params: vec![
                ("host", "splunk.example.com".into()),
                ("port", "8088".into()),
                ("token", "t0k3n".into()),
                ("index", "main index".into()),
            ],
            parameter: "index",
        },
    ]
}

#[tokio::test]
async fn the_config_file_and_the_api_refuse_the_same_channel_settings_naming_the_field() {
    let relay = Relay::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    for case in cases() {
        let path = dir.path().join("flockrelay.toml");
        std::fs::write(&path, &case.file).expect("writes config");
        let refused = config::load(Some(&path)).map(|_| ()).expect_err(case.key).to_string();
        assert!(refused.contains(&format!("{}: ", case.key)), "the file should name {}:\n{refused}", case.key);

        let mut params: Vec<(&str, &str)> = vec![("flock_id", "global")];
        params.extend(case.params.iter().map(|(name, value)| (*name, value.as_str())));
        let (status, body) = relay.post(&format!("{SETTINGS}/{}", case.endpoint), &params).await;
        let message = body["message"].as_str().unwrap_or_default();
        assert_eq!(status, 400, "{}: {body}", case.key);
        assert!(
            message.starts_with(&format!("invalid {}: ", case.parameter)),
            "the API should name {} for {}: {message}",
            case.parameter,
            case.key
        );
    }
}
