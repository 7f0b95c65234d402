//! Slack incoming webhooks: Block Kit messages with a plain-text fallback.
//!
//! `payload` enforces Slack's limits by truncating (never by failing), `classify`
//! reads Slack's answers. Reference: `adapters/slack/README.md`.

pub mod classify;
pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use super::{
    json_request, only_payload, to_body, AttemptContext, ChannelAnswer, Notifier, NotifyError, OutboundRequest,
    Outcome, Pace, Payload,
};
use crate::alert::Alert;
use crate::destination::Destination;
use crate::notify::{Channel, ChannelKind};
use crate::render::Rendered;

/// The Slack notifier.
#[derive(Debug, Clone, Copy)]
pub struct Slack;

impl Notifier for Slack {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Slack
    }

    fn default_template(&self, _destination: &Destination) -> &'static str {
        "slack.json"
    }

    fn shape(&self, destination: &Destination, _alert: &Alert, rendered: Rendered) -> Result<String, NotifyError> {
        if payload::within_limits(&rendered) {
            return Ok(rendered.json);
        }
        let template_error = |reason: String| NotifyError::Settings {
            destination: destination.name.clone(),
            reason: format!("template {}: {reason}", destination.template.as_deref().unwrap_or("slack.json")),
        };
        let value = rendered.to_value().map_err(|error| template_error(error.to_string()))?;
        to_body(&payload::enforce_limits(value).map_err(template_error)?)
    }

    fn request(
        &self,
        destination: &Destination,
        batch: &[&Payload],
        _attempt: &AttemptContext<'_>,
    ) -> Result<OutboundRequest, NotifyError> {
        let Channel::Slack(settings) = &destination.channel else {
            return Err(wrong_kind(destination));
        };
        let payload = only_payload(destination, batch)?;
        // The URL is the credential: `notify::destination_secrets` lists its parts for masking.
        Ok(json_request(settings.url.clone(), payload.body.clone().into_bytes()))
    }

    fn classify(&self, answer: &ChannelAnswer) -> Outcome {
        classify::classify(answer)
    }

    /// Slack's rate limits: posting messages (incoming webhooks included) is
    /// "1 per second", short bursts tolerated without guarantee. One request at
    /// a time also keeps the channel's messages in order.
    fn pace(&self) -> Pace {
        Pace { rate: Some(1.0), concurrency: Some(1) }
    }
}

fn wrong_kind(destination: &Destination) -> NotifyError {
    NotifyError::WrongKind {
        destination: destination.name.clone(),
        expected: ChannelKind::Slack,
        actual: destination.channel.kind(),
    }
}
