//! Settings of a Slack incoming-webhook destination.

use serde::{Deserialize, Serialize};
use url::Url;

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
