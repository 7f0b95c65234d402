//! Generic JSON webhooks: custom headers, optional Basic / bearer / client-secret
//! authentication and optional signing (Standard Webhooks or `X-Flock-Signature`),
//! all applied at send time so a rotated secret takes effect for queued messages.
//! A Flock-signed body gets its `timestamp` (the attempt's time) and its bytes
//! (as `JSON.stringify` writes them) at send time too; the stored body does not
//! change, so a replay sends the same bytes but for the timestamp.
//! Reference: `adapters/generic/README.md`.

pub mod classify;
pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use super::{
    json_request, only_payload, AttemptContext, ChannelAnswer, Notifier, NotifyError, OutboundRequest, Outcome, Payload,
};
use crate::alert::Alert;
use crate::destination::Destination;
use crate::notify::{Channel, ChannelKind};
use crate::render::Rendered;
use config::{GenericAuth, GenericSettings, Signing};

/// The generic webhook notifier.
#[derive(Debug, Clone, Copy)]
pub struct Generic;

impl Notifier for Generic {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Generic
    }

    /// The normalized alert; signed with Standard Webhooks, the spec's
    /// `{"type", "timestamp", "data"}` envelope around it; signed the Flock way,
    /// a Flock event (`name`, `entity`, `entityId`, `data`, `timestamp`).
    fn default_template(&self, destination: &Destination) -> &'static str {
        match &destination.channel {
            Channel::Generic(GenericSettings { signing: Some(Signing::StandardWebhooks { .. }), .. }) => {
                "standard_webhooks.json"
            }
            Channel::Generic(GenericSettings { signing: Some(Signing::FlockHmac { .. }), .. }) => "flock.json",
            _ => "generic.json",
        }
    }

    fn shape(&self, destination: &Destination, _alert: &Alert, rendered: Rendered) -> Result<String, NotifyError> {
        let settings = settings(destination)?;
        if matches!(settings.auth, Some(GenericAuth::ClientSecret { .. })) && !rendered.is_object() {
            return Err(NotifyError::Settings {
                destination: destination.name.clone(),
                reason: "client-secret authentication needs the template to render a JSON object".into(),
            });
        }
        if matches!(settings.signing, Some(Signing::FlockHmac { .. })) && !rendered.is_object() {
            return Err(NotifyError::Settings {
                destination: destination.name.clone(),
                reason: "flock_hmac signing needs the template to render a JSON object (it carries `timestamp`)".into(),
            });
        }
        Ok(rendered.json)
    }

    fn request(
        &self,
        destination: &Destination,
        batch: &[&Payload],
        attempt: &AttemptContext<'_>,
    ) -> Result<OutboundRequest, NotifyError> {
        let settings = settings(destination)?;
        let payload = only_payload(destination, batch)?;
        let settings_error = |reason| NotifyError::Settings { destination: destination.name.clone(), reason };
        let mut body = payload::with_client_secret(&payload.body, settings.auth.as_ref()).map_err(settings_error)?;
        if matches!(settings.signing, Some(Signing::FlockHmac { .. })) {
            body = payload::flock_body(&body, attempt.now).map_err(settings_error)?;
        }
        let mut request = json_request(settings.url.clone(), body);
        payload::apply_headers(&mut request, settings);
        payload::apply_auth(&mut request, settings.auth.as_ref());
        if let Some(signing) = &settings.signing {
            payload::sign(&mut request, signing, attempt).map_err(|error| NotifyError::Settings {
                destination: destination.name.clone(),
                reason: error.to_string(),
            })?;
        }
        Ok(request)
    }

    fn classify(&self, answer: &ChannelAnswer) -> Outcome {
        classify::classify(answer, &[])
    }

    fn classify_for(&self, destination: &Destination, answer: &ChannelAnswer) -> Outcome {
        match &destination.channel {
            Channel::Generic(settings) => classify::classify(answer, &settings.permanent_statuses),
            _ => self.classify(answer),
        }
    }
}

fn settings(destination: &Destination) -> Result<&GenericSettings, NotifyError> {
    match &destination.channel {
        Channel::Generic(settings) => Ok(settings),
        other => Err(NotifyError::WrongKind {
            destination: destination.name.clone(),
            expected: ChannelKind::Generic,
            actual: other.kind(),
        }),
    }
}
