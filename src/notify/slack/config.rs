//! Settings of a Slack incoming-webhook destination and their one `validate()`
//! (used by the config file and the API).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::notify::settings::{url_problem, Findings, Invalid, MAX_URL_LEN};

/// Longest team or channel name kept.
pub const MAX_LABEL_LEN: usize = 100;

/// A Slack incoming webhook. The URL itself is the credential: it is masked
/// wherever a request is printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    /// Incoming-webhook URL, `https://hooks.slack.com/services/T…/B…/…`.
    pub url: Url,
    /// The channel the webhook posts to, as shown by the Canary API (informational).
    #[serde(default)]
    pub channel: Option<String>,
    /// The Slack workspace (team) name, as shown by the Canary API (informational).
    #[serde(default)]
    pub team: Option<String>,
    /// Where the webhook is managed in Slack, as shown by the Canary API.
    #[serde(default)]
    pub configuration_url: Option<String>,
}

impl SlackSettings {
    /// Everything wrong with these settings, each naming its field below the
    /// `slack` table. The config file and the API both refuse on these.
    pub fn validate(&self, allow_http: bool) -> Vec<Invalid> {
        let mut findings = Findings::default();
        findings.add_if("url", url_problem(&self.url, allow_http));
        for (field, label) in [("team", &self.team), ("channel", &self.channel)] {
            let Some(label) = label else { continue };
            if label.chars().count() > MAX_LABEL_LEN || label.chars().any(char::is_control) {
                findings.add(field, format!("must be at most {MAX_LABEL_LEN} characters, without control characters"));
            }
        }
        if let Some(text) = &self.configuration_url {
            match Url::parse(text) {
                Err(error) => findings.add("configuration_url", format!("is not a URL ({error})")),
                Ok(parsed) if text.len() > MAX_URL_LEN || !matches!(parsed.scheme(), "https" | "http") => findings
                    .add("configuration_url", format!("must be an http(s) URL of at most {MAX_URL_LEN} characters")),
                Ok(_) => {}
            }
        }
        findings.0
    }
}
