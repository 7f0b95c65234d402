//! Destinations: one configured webhook each — where it belongs (global set or a
//! flock), which channel it speaks, its template, event filter and state. Pure data.
//!
//! The channel itself ([`Channel`], [`crate::notify::channel::ChannelKind`]) and its
//! settings live in `notify`'s pure data modules (`notify::channel`, each
//! channel's `config`); this module imports only those, never the notifiers,
//! sending, or the layers above (store, delivery, API).

use serde::{Deserialize, Serialize};

use crate::flock::Scope;
use crate::notify::channel::Channel;

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
