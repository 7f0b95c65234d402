//! The channel kinds and a channel with its settings: which dialect a
//! destination speaks (`slack`, `ms_teams`, `splunk`, `generic`), spelled as the
//! Canary API names them, and the kind-specific settings each one carries.
//!
//! Pure data: it may use only the channels' `config` modules and
//! [`super::settings`], never sending ([`super::http`], [`super::ack`], the
//! notifiers) nor the layers above (store, delivery, API).

use serde::{Deserialize, Serialize};

use super::generic::config::GenericSettings;
use super::settings::Invalid;
use super::slack::config::SlackSettings;
use super::splunk_hec::config::SplunkHecSettings;
use super::teams::config::TeamsSettings;

/// The channel kinds, spelled as the Canary API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Slack,
    MsTeams,
    /// Splunk HTTP Event Collector; `splunk` on the wire, as the Canary API names it.
    #[serde(rename = "splunk")]
    SplunkHec,
    Generic,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 4] = [Self::Slack, Self::MsTeams, Self::SplunkHec, Self::Generic];

    /// The wire name (`ms_teams`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::MsTeams => "ms_teams",
            Self::SplunkHec => "splunk",
            Self::Generic => "generic",
        }
    }
}

impl std::fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A channel with its kind-specific settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "settings", rename_all = "snake_case")]
pub enum Channel {
    Slack(SlackSettings),
    MsTeams(TeamsSettings),
    /// `splunk` on the wire and in stored catalogues, as the Canary API names it.
    #[serde(rename = "splunk")]
    SplunkHec(SplunkHecSettings),
    Generic(GenericSettings),
}

impl Channel {
    pub fn kind(&self) -> ChannelKind {
        match self {
            Self::Slack(_) => ChannelKind::Slack,
            Self::MsTeams(_) => ChannelKind::MsTeams,
            Self::SplunkHec(_) => ChannelKind::SplunkHec,
            Self::Generic(_) => ChannelKind::Generic,
        }
    }

    /// Everything wrong with the settings, by the channel's own `validate()`.
    pub fn validate(&self, allow_http: bool) -> Vec<Invalid> {
        match self {
            Self::Slack(settings) => settings.validate(allow_http),
            Self::MsTeams(settings) => settings.validate(allow_http),
            Self::SplunkHec(settings) => settings.validate(allow_http),
            Self::Generic(settings) => settings.validate(allow_http),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_kinds_keep_their_wire_names() {
        for kind in ChannelKind::ALL {
            let json = serde_json::to_value(kind).expect("serializes");
            assert_eq!(json, serde_json::Value::from(kind.as_str()));
            assert_eq!(serde_json::from_value::<ChannelKind>(json).expect("parses"), kind);
        }
        let settings = SplunkHecSettings::new("hec.example", 8088, crate::secret::Secret::new("t"));
        let stored = serde_json::to_value(Channel::SplunkHec(settings)).expect("serializes");
        assert_eq!(stored["kind"], "splunk");
    }
}
