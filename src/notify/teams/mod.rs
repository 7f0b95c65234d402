//! Microsoft Teams: Workflows webhooks with an Adaptive Card (default) or legacy
//! connector MessageCards. Reference: `adapters/teams/README.md`.

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
use config::TeamsFormat;

/// The Teams notifier.
#[derive(Debug, Clone, Copy)]
pub struct Teams;

impl Notifier for Teams {
    fn kind(&self) -> ChannelKind {
        ChannelKind::MsTeams
    }

    fn default_template(&self, destination: &Destination) -> &'static str {
        match &destination.channel {
            Channel::MsTeams(settings) if settings.format == TeamsFormat::MessageCard => "teams_message_card.json",
            _ => "teams.json",
        }
    }

    fn shape(&self, destination: &Destination, _alert: &Alert, rendered: Rendered) -> Result<String, NotifyError> {
        if rendered.json.len() <= payload::MAX_BODY_BYTES && rendered.is_object() {
            return Ok(rendered.json);
        }
        let template_error = |reason: String| NotifyError::Settings { destination: destination.name.clone(), reason };
        let value = rendered.to_value().map_err(|error| template_error(error.to_string()))?;
        to_body(&payload::fit(value, payload::MAX_BODY_BYTES).map_err(template_error)?)
    }

    fn request(
        &self,
        destination: &Destination,
        batch: &[&Payload],
        _attempt: &AttemptContext<'_>,
    ) -> Result<OutboundRequest, NotifyError> {
        let Channel::MsTeams(settings) = &destination.channel else {
            return Err(NotifyError::WrongKind {
                destination: destination.name.clone(),
                expected: ChannelKind::MsTeams,
                actual: destination.channel.kind(),
            });
        };
        let payload = only_payload(destination, batch)?;
        // The URL is the credential (Workflows: the `sig` parameter; connectors: the
        // path): `notify::destination_secrets` lists its parts for masking.
        Ok(json_request(settings.url.clone(), payload.body.clone().into_bytes()))
    }

    fn classify(&self, answer: &ChannelAnswer) -> Outcome {
        classify::classify(answer)
    }

    /// Teams throttles a connector or incoming webhook above 4 requests in a
    /// second, 60 in 30 seconds (and 100 an hour, which only `Retry-After` and
    /// retries can absorb). One a second stays inside both short windows; one
    /// request at a time keeps the channel's messages in order.
    fn pace(&self) -> Pace {
        Pace { rate: Some(1.0), concurrency: Some(1) }
    }
}
