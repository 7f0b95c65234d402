//! Settings of a Microsoft Teams destination and their one `validate()` (used
//! by the config file and the API).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::notify::settings::{url_problem, Findings, Invalid};

/// A Teams webhook: a Workflows (Power Automate) URL by default, or a legacy
/// Office 365 connector URL with `format = "message_card"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamsSettings {
    /// Webhook URL; its `sig` query parameter is a credential and is masked in output.
    pub url: Url,
    /// Payload format the URL expects.
    #[serde(default)]
    pub format: TeamsFormat,
}

/// The two payload formats Teams webhooks accept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamsFormat {
    /// A `message` carrying an Adaptive Card attachment (Workflows webhooks).
    #[default]
    AdaptiveCard,
    /// The legacy connector `MessageCard`.
    MessageCard,
}

impl TeamsSettings {
    /// Everything wrong with these settings, each naming its field below the
    /// `ms_teams` table. The config file and the API both refuse on these.
    pub fn validate(&self, allow_http: bool) -> Vec<Invalid> {
        let mut findings = Findings::default();
        findings.add_if("url", url_problem(&self.url, allow_http));
        findings.0
    }
}
