//! Splunk HTTP Event Collector: events POSTed to `/services/collector/event` with
//! `Authorization: Splunk <token>`; several due events for one HEC travel in one
//! request. Reference: `adapters/splunk_hec/README.md`.

pub mod classify;
pub mod config;
pub mod payload;
#[cfg(test)]
mod tests;

use url::Url;

use super::{AttemptContext, ChannelAnswer, Notifier, NotifyError, OutboundRequest, Outcome, Payload, TlsPolicy};
use crate::alert::Alert;
use crate::destination::{Channel, ChannelKind, Destination};
use crate::render::Rendered;
use config::SplunkSettings;

/// HEC's event endpoint.
pub const EVENT_PATH: &str = "/services/collector/event";

/// Most events sent in one batched request.
pub const MAX_BATCH: usize = 100;

/// The Splunk HEC notifier.
#[derive(Debug, Clone, Copy)]
pub struct SplunkHec;

impl Notifier for SplunkHec {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Splunk
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
        let url = event_url(settings)
            .map_err(|reason| NotifyError::Settings { destination: destination.name.clone(), reason })?;
        // HEC accepts several event objects concatenated in one body.
        let body = batch.iter().map(|payload| payload.body.as_str()).collect::<Vec<_>>().join("\n");
        let authorization = format!("Splunk {}", settings.token.expose());
        Ok(OutboundRequest {
            url,
            headers: vec![("authorization".into(), authorization), ("content-type".into(), "application/json".into())],
            body: body.into_bytes(),
            tls: TlsPolicy { ca_file: settings.ca_file.clone(), accept_invalid_certs: !settings.verify_tls },
            redactions: vec![settings.token.expose().to_owned()],
            masked_headers: vec!["authorization".into()],
        })
    }

    fn classify(&self, answer: &ChannelAnswer) -> Outcome {
        classify::classify(answer)
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }
}

fn settings(destination: &Destination) -> Result<&SplunkSettings, NotifyError> {
    match &destination.channel {
        Channel::Splunk(settings) => Ok(settings),
        other => Err(NotifyError::WrongKind {
            destination: destination.name.clone(),
            expected: ChannelKind::Splunk,
            actual: other.kind(),
        }),
    }
}

/// `https://host:port/services/collector/event` (IPv6 hosts bracketed).
pub fn event_url(settings: &SplunkSettings) -> Result<Url, String> {
    let scheme = if settings.https { "https" } else { "http" };
    let host = settings.host.trim();
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() };
    let text = format!("{scheme}://{host}:{}{EVENT_PATH}", settings.port);
    let url = Url::parse(&text).map_err(|error| format!("host `{}` does not form a URL: {error}", settings.host))?;
    if url.path() != EVENT_PATH || url.query().is_some() || url.username() != "" {
        return Err(format!("host `{}` must be a bare domain name or IP address", settings.host));
    }
    Ok(url)
}
