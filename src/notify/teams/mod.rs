//! Microsoft Teams: Workflows webhooks with an Adaptive Card (default) or legacy
//! connector MessageCards. Reference: `adapters/teams/README.md`.

pub mod classify;
pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use serde_json::Value;

use super::{
    json_request, only_payload, AttemptContext, ChannelAnswer, NotifyError, Notifier, OutboundRequest, Outcome,
    Payload,
};
use crate::alert::Alert;
use crate::destination::{Channel, ChannelKind, Destination};
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

    fn shape(&self, destination: &Destination, _alert: &Alert, rendered: Value) -> Result<Value, NotifyError> {
        payload::fit(rendered, payload::MAX_BODY_BYTES).map_err(|reason| NotifyError::Settings {
            destination: destination.name.clone(),
            reason,
        })
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
        let mut request = json_request(settings.url.clone(), payload.body.clone().into_bytes());
        // Workflows URLs carry their credential in the `sig` query parameter.
        for (name, value) in settings.url.query_pairs() {
            if name == "sig" || value.len() >= 24 {
                request.redactions.push(value.into_owned());
            }
        }
        Ok(request)
    }

    fn classify(&self, answer: &ChannelAnswer) -> Outcome {
        classify::classify(answer)
    }
}
