//! Settings of a Microsoft Teams destination.

use serde::{Deserialize, Serialize};
use url::Url;

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
