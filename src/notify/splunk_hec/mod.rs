//! Splunk HTTP Event Collector: events POSTed to `/services/collector/event` with
//! `Authorization: Splunk <token>` and the destination's data channel
//! (`X-Splunk-Request-Channel`); several due events for one HEC travel in one
//! request, up to a byte cap. With `ack = true`, delivery waits for indexer
//! acknowledgement (`/services/collector/ack`); `/services/collector/health`
//! checks a HEC without writing to it. Reference: `adapters/splunk_hec/README.md`.

pub mod classify;
pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use super::ack::{AckAnswer, AckPolicy};
use super::{AttemptContext, ChannelAnswer, Notifier, NotifyError, OutboundRequest, Outcome, Payload, TlsPolicy};
use crate::alert::Alert;
use crate::destination::Destination;
use crate::notify::{Channel, ChannelKind};
use crate::render::Rendered;
use config::SplunkHecSettings;
pub use config::{event_url, EVENT_PATH};

/// HEC's indexer-acknowledgement query endpoint.
pub const ACK_PATH: &str = "/services/collector/ack";

/// HEC's health endpoint.
pub const HEALTH_PATH: &str = "/services/collector/health";

/// The header naming the data channel.
pub const CHANNEL_HEADER: &str = "x-splunk-request-channel";

/// Most events sent in one batched request.
pub const MAX_BATCH: usize = 100;

/// The Splunk HEC notifier.
#[derive(Debug, Clone, Copy)]
pub struct SplunkHec;

impl Notifier for SplunkHec {
    fn kind(&self) -> ChannelKind {
        ChannelKind::SplunkHec
    }

    fn default_template(&self, _destination: &Destination) -> &'static str {
        "splunk_hec.json"
    }

    fn shape(&self, destination: &Destination, alert: &Alert, rendered: Rendered) -> Result<String, NotifyError> {
        Ok(payload::envelope(settings(destination)?, alert, &rendered.json))
    }

    fn request(
        &self,
        destination: &Destination,
        batch: &[&Payload],
        _attempt: &AttemptContext<'_>,
    ) -> Result<OutboundRequest, NotifyError> {
        let settings = settings(destination)?;
        if batch.is_empty() || batch.len() > MAX_BATCH {
            return Err(NotifyError::Settings {
                destination: destination.name.clone(),
                reason: format!("a HEC request carries 1 to {MAX_BATCH} events, got {}", batch.len()),
            });
        }
        // HEC accepts several event objects concatenated in one body.
        let body = batch.iter().map(|payload| payload.body.as_str()).collect::<Vec<_>>().join("\n");
        hec_request(destination, settings, EVENT_PATH, body.into_bytes())
    }

    fn classify(&self, answer: &ChannelAnswer) -> Outcome {
        classify::classify(answer)
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    fn max_batch_bytes(&self, destination: &Destination) -> Option<usize> {
        settings(destination).ok().map(|settings| settings.max_batch_bytes.max(1))
    }

    fn acknowledgement(&self, destination: &Destination) -> Option<AckPolicy> {
        let settings = settings(destination).ok().filter(|settings| settings.ack)?;
        Some(AckPolicy { timeout: settings.ack_timeout.0, poll_interval: settings.ack_poll_interval.0 })
    }

    fn ack_request(&self, destination: &Destination, ids: &[u64]) -> Result<OutboundRequest, NotifyError> {
        let settings = settings(destination)?;
        let body = serde_json::json!({ "acks": ids }).to_string();
        hec_request(destination, settings, ACK_PATH, body.into_bytes())
    }

    fn classify_ack(&self, answer: &ChannelAnswer) -> AckAnswer {
        classify::classify_ack(answer)
    }

    fn health_request(&self, destination: &Destination) -> Option<Result<OutboundRequest, NotifyError>> {
        Some(settings(destination).and_then(|settings| hec_request(destination, settings, HEALTH_PATH, Vec::new())))
    }

    fn classify_health(&self, answer: &ChannelAnswer) -> Outcome {
        classify::classify(answer)
    }
}

/// A request to one of HEC's endpoints with the token and the data channel.
fn hec_request(
    destination: &Destination,
    settings: &SplunkHecSettings,
    path: &str,
    body: Vec<u8>,
) -> Result<OutboundRequest, NotifyError> {
    let mut url = event_url(settings)
        .map_err(|reason| NotifyError::Settings { destination: destination.name.clone(), reason })?;
    url.set_path(path);
    let authorization = format!("Splunk {}", settings.token.expose());
    let mut headers =
        vec![("authorization".into(), authorization), (CHANNEL_HEADER.into(), channel(destination, settings))];
    if !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
    }
    Ok(OutboundRequest {
        url,
        headers,
        body,
        tls: TlsPolicy { ca_file: settings.ca_file.clone(), accept_invalid_certs: !settings.verify_tls },
        redactions: vec![settings.token.expose().to_owned()],
        masked_headers: vec!["authorization".into()],
    })
}

/// The destination's data channel: the configured one, or a UUID derived from
/// the destination id (stable across restarts and relays).
pub fn channel(destination: &Destination, settings: &SplunkHecSettings) -> String {
    if let Some(channel) = settings.channel.as_deref().map(str::trim).filter(|channel| !channel.is_empty()) {
        return channel.to_owned();
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("flockrelay splunk_hec channel\0{}", destination.id).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Laid out as a version 4 UUID, the form every HEC accepts as a channel.
    uuid::Builder::from_random_bytes(bytes).into_uuid().hyphenated().to_string()
}

fn settings(destination: &Destination) -> Result<&SplunkHecSettings, NotifyError> {
    match &destination.channel {
        Channel::SplunkHec(settings) => Ok(settings),
        other => Err(NotifyError::WrongKind {
            destination: destination.name.clone(),
            expected: ChannelKind::SplunkHec,
            actual: other.kind(),
        }),
    }
}
