//! Destinations: one configured webhook each — where it belongs (global set or a
//! flock), which channel it speaks, its template, event filter and state. Pure data.

use serde::{Deserialize, Serialize};

use crate::flock::Scope;
use crate::notify::generic::config::GenericSettings;
use crate::notify::settings::Invalid;
use crate::notify::slack::config::SlackSettings;
use crate::notify::splunk_hec::config::SplunkHecSettings;
use crate::notify::teams::config::TeamsSettings;

/// One configured webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    /// Stable identifier (the config key for destinations declared in the file).
    pub id: String,
    /// Human name shown by the CLI and in logs.
    pub name: String,
    /// The global set or the flock whose alerts it receives.
    pub scope: Scope,
    /// The channel and its settings.
    pub channel: Channel,
    /// Template name overriding the channel's default template.
    pub template: Option<String>,
    /// Which alert kinds it receives; empty means all.
    pub events: EventFilter,
    /// A disabled destination keeps its configuration but receives nothing.
    pub enabled: bool,
    /// Maximum messages per second sent to it; `None` means the channel's own
    /// pace (see `delivery::pacing`).
    pub rate_limit: Option<f64>,
    /// Most requests in flight to it at once; `None` means the channel's own,
    /// else `[delivery] concurrency`.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Grouping into digests, duplicate suppression, and whether silences apply
    /// (see [`crate::storm`]).
    #[serde(default)]
    pub storm: crate::storm::StormSettings,
}

impl Destination {
    /// An enabled destination named by its id, with the channel's defaults for
    /// everything else (template, pace, concurrency; all events; no storm rules).
    pub fn new(id: impl Into<String>, scope: Scope, channel: Channel) -> Self {
        let id = id.into();
        Self {
            name: id.clone(),
            id,
            scope,
            channel,
            template: None,
            events: EventFilter::default(),
            enabled: true,
            rate_limit: None,
            concurrency: None,
            storm: Default::default(),
        }
    }
}

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

/// Alert kinds a destination subscribes to: exact names (`canary.incident`) or
/// prefixes ending in `*` (`canarytoken.*`). Empty, or `*`, means every kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventFilter(pub Vec<String>);

impl EventFilter {
    pub fn matches(&self, kind: &str) -> bool {
        self.0.is_empty()
            || self.0.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => kind.starts_with(prefix),
                None => pattern == kind,
            })
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

    #[test]
    fn event_filter_matches_exact_names_and_prefixes() {
        let filter = EventFilter(vec!["canary.incident".into(), "canarytoken.*".into()]);
        assert!(filter.matches("canary.incident"));
        assert!(filter.matches("canarytoken.aws_key"));
        assert!(!filter.matches("canary.incident.extra"));
        assert!(!filter.matches("invitee.accepted"));
        assert!(EventFilter::default().matches("anything"));
        assert!(EventFilter(vec!["*".into()]).matches("anything"));
    }
}
