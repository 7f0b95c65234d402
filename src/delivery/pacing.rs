//! The pace each destination is sent at: its own `rate_limit` and
//! `concurrency` when set, else its channel's documented pace
//! (`Notifier::pace`: Slack and Teams one message a second, one at a time),
//! else unpaced with `[delivery] concurrency` requests in flight (generic
//! receivers and Splunk HEC, which answer overload with 429/503 and
//! `Retry-After`). Pure.

use crate::destination::Destination;
use crate::notify::by_kind;

/// What the worker applies to one destination.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effective {
    /// Messages per second; `None`: unpaced.
    pub rate: Option<f64>,
    /// Requests in flight at once (at least 1).
    pub concurrency: u32,
}

/// The pace of `destination`; `default_concurrency` is `[delivery] concurrency`.
pub fn effective(destination: &Destination, default_concurrency: u32) -> Effective {
    let channel = by_kind(destination.channel.kind()).pace();
    Effective {
        rate: destination.rate_limit.filter(|rate| rate.is_finite() && *rate > 0.0).or(channel.rate),
        concurrency: destination.concurrency.or(channel.concurrency).unwrap_or(default_concurrency).max(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flock::Scope;
    use crate::notify::generic::config::GenericSettings;
    use crate::notify::slack::config::SlackSettings;
    use crate::notify::teams::config::{TeamsFormat, TeamsSettings};
    use crate::notify::Channel;

    fn destination(channel: Channel, rate_limit: Option<f64>, concurrency: Option<u32>) -> Destination {
        Destination { rate_limit, concurrency, ..Destination::new("d", Scope::Global, channel) }
    }

    fn url() -> url::Url {
        "https://hooks.example/x".parse().expect("valid URL")
    }

    #[test]
    fn channels_have_their_pace_and_destinations_override_it() {
        let slack = || Channel::Slack(SlackSettings { url: url(), channel: None, team: None, configuration_url: None });
        let teams = Channel::MsTeams(TeamsSettings { url: url(), format: TeamsFormat::AdaptiveCard });
        let generic = Channel::Generic(GenericSettings {
            url: url(),
            headers: Default::default(),
            auth: None,
            signing: None,
            permanent_statuses: Vec::new(),
        });
        assert_eq!(effective(&destination(slack(), None, None), 16), Effective { rate: Some(1.0), concurrency: 1 });
        assert_eq!(effective(&destination(teams, None, None), 16), Effective { rate: Some(1.0), concurrency: 1 });
        assert_eq!(effective(&destination(generic, None, None), 16), Effective { rate: None, concurrency: 16 });
        assert_eq!(
            effective(&destination(slack(), Some(20.0), Some(4)), 16),
            Effective { rate: Some(20.0), concurrency: 4 }
        );
        // Values validation refuses fall back to the channel's pace (and one in flight).
        assert_eq!(
            effective(&destination(slack(), Some(f64::NAN), Some(0)), 16),
            Effective { rate: Some(1.0), concurrency: 1 }
        );
    }
}
