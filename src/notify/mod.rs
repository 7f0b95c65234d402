//! The `Notifier` seam: one implementation per channel kind.
//!
//! A notifier turns an alert into a stored [`Payload`] (rendering, once, at
//! enqueue time), turns payloads into an [`OutboundRequest`] at send time (auth
//! headers, signatures with a fresh timestamp), and classifies the channel's
//! answer into an [`Outcome`] using that channel's rules. Sending itself is shared
//! ([`http::HttpSender`]), so a request can be previewed without a network.

pub mod generic;
pub mod http;
pub mod policy;
pub mod slack;
pub mod splunk_hec;
pub mod teams;

use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::alert::Alert;
use crate::destination::{ChannelKind, Destination};
use crate::render::{AlertContext, DestinationView, RenderError, Rendered, Renderer};
use crate::secret::MASK;

/// A rendered body, exactly as it will be sent (and re-sent on replay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    pub body: String,
}

/// What a notifier needs to know about this attempt when building the request.
#[derive(Debug, Clone, Copy)]
pub struct AttemptContext<'a> {
    /// Message id: the `webhook-id`, the same for every attempt of one message.
    pub message_id: &'a str,
    /// Signing time of this attempt.
    pub now: DateTime<Utc>,
}

/// One HTTP request ready to send.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How to check the server's certificate.
    pub tls: TlsPolicy,
    /// Values that must never be printed anywhere (tokens, passwords, URL secrets).
    pub redactions: Vec<String>,
    /// Headers whose values are write-only (custom headers, `Authorization`):
    /// printed with the name only.
    pub masked_headers: Vec<String>,
}

impl OutboundRequest {
    /// The request as text (method, URL, headers, body) with every secret masked:
    /// what `flockrelay render` prints.
    pub fn to_masked_string(&self) -> String {
        let mut text = format!("POST {}\n", self.url);
        for (name, value) in &self.headers {
            let masked = self.masked_headers.iter().any(|masked| masked.eq_ignore_ascii_case(name));
            let value = if masked { MASK } else { value.as_str() };
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&self.body));
        text.push('\n');
        self.mask(&text)
    }

    /// Carries the hop count of the loop guard: `X-Flockrelay-Hops: hops + 1`
    /// (see [`crate::hops`]). Requests without it are sent as hop 1.
    pub fn set_hops(&mut self, hops: u32) {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(crate::hops::HOPS_HEADER));
        self.headers.push((crate::hops::HOPS_HEADER.to_owned(), crate::hops::outbound(hops)));
    }

    /// Replaces every redaction in `text` with the mask.
    pub fn mask(&self, text: &str) -> String {
        let mut masked = text.to_owned();
        let mut redactions: Vec<&String> = self.redactions.iter().filter(|secret| !secret.is_empty()).collect();
        // Longest first, so a secret containing another is masked whole.
        redactions.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        for secret in redactions {
            masked = masked.replace(secret.as_str(), MASK);
        }
        masked
    }
}

/// Certificate checking for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsPolicy {
    /// Extra trusted CA (PEM file), e.g. a self-signed Splunk HEC.
    pub ca_file: Option<std::path::PathBuf>,
    /// Accept any certificate: an explicit, per-destination opt-out.
    pub accept_invalid_certs: bool,
}

/// The channel's answer, as far as classification needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAnswer {
    pub status: u16,
    /// `Retry-After`, when the channel sent one.
    pub retry_after: Option<Duration>,
    /// The start of the response body.
    pub body: String,
}

/// What to do with a message after an attempt. Decided by the channel's rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The channel accepted it.
    Delivered,
    /// Try again later; `after` is the channel's `Retry-After`, if any.
    Retry { after: Option<Duration>, reason: String },
    /// It will never succeed as it is; `disable_destination` asks for the endpoint
    /// to be disabled (HTTP 410 Gone).
    Failed { reason: String, disable_destination: bool },
}

impl Outcome {
    pub fn retry(after: Option<Duration>, reason: impl Into<String>) -> Self {
        Self::Retry { after, reason: reason.into() }
    }

    pub fn failed(reason: impl Into<String>) -> Self {
        Self::Failed { reason: reason.into(), disable_destination: false }
    }

    /// Short name for logs and CLI output.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry { .. } => "retry",
            Self::Failed { .. } => "failed",
        }
    }

    /// The channel's explanation, if it gave one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Delivered => None,
            Self::Retry { reason, .. } | Self::Failed { reason, .. } => Some(reason),
        }
    }
}

/// Why a request could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("destination {destination} is a {actual} destination, not {expected}")]
    WrongKind { destination: String, expected: ChannelKind, actual: ChannelKind },
    #[error("destination {destination}: {reason}")]
    Settings { destination: String, reason: String },
    #[error("cannot build the request body: {0}")]
    Body(String),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("request failed: {0}")]
    Transport(String),
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    #[error("the address policy refuses the destination: {0}")]
    Refused(String),
}

/// One channel kind's dialect.
pub trait Notifier: Send + Sync {
    /// The kind this notifier speaks.
    fn kind(&self) -> ChannelKind;

    /// The built-in template used when the destination names none.
    fn default_template(&self, destination: &Destination) -> &'static str;

    /// Applies the channel's limits and envelope to a rendered template, giving
    /// the body that is stored and sent.
    fn shape(&self, destination: &Destination, alert: &Alert, rendered: Rendered) -> Result<String, NotifyError>;

    /// Builds the HTTP request for one or more stored payloads (more than one only
    /// up to [`Notifier::max_batch`]).
    fn request(
        &self,
        destination: &Destination,
        batch: &[&Payload],
        attempt: &AttemptContext<'_>,
    ) -> Result<OutboundRequest, NotifyError>;

    /// Classifies the channel's answer.
    fn classify(&self, answer: &ChannelAnswer) -> Outcome;

    /// How many payloads one request may carry.
    fn max_batch(&self) -> usize {
        1
    }

    /// Renders an alert for a destination into the payload that is stored and sent.
    fn render(
        &self,
        destination: &Destination,
        alert: &Alert,
        renderer: &Renderer,
        test: bool,
    ) -> Result<Payload, NotifyError> {
        let mut context = renderer.prepare(alert, test)?;
        self.render_prepared(destination, alert, &mut context, renderer)
    }

    /// As [`Notifier::render`], with the alert already prepared: the per-destination
    /// part of rendering one alert for several destinations.
    fn render_prepared(
        &self,
        destination: &Destination,
        alert: &Alert,
        context: &mut AlertContext,
        renderer: &Renderer,
    ) -> Result<Payload, NotifyError> {
        let template = destination.template.as_deref().unwrap_or_else(|| self.default_template(destination));
        let view = DestinationView {
            name: &destination.name,
            kind: destination.channel.kind().as_str(),
            flock: destination.scope.as_str(),
        };
        let rendered = renderer.render_json(template, context, &view)?;
        Ok(Payload { body: self.shape(destination, alert, rendered)? })
    }
}

/// The notifier for a channel kind.
pub fn by_kind(kind: ChannelKind) -> &'static dyn Notifier {
    match kind {
        ChannelKind::Slack => &slack::Slack,
        ChannelKind::MsTeams => &teams::Teams,
        ChannelKind::Splunk => &splunk_hec::SplunkHec,
        ChannelKind::Generic => &generic::Generic,
    }
}

/// Builds a request for a single payload, the common case.
pub fn single_request(
    destination: &Destination,
    payload: &Payload,
    attempt: &AttemptContext<'_>,
) -> Result<OutboundRequest, NotifyError> {
    by_kind(destination.channel.kind()).request(destination, &[payload], attempt)
}

/// Serializes an edited payload.
fn to_body(value: &serde_json::Value) -> Result<String, NotifyError> {
    serde_json::to_string(value).map_err(|error| NotifyError::Body(error.to_string()))
}

/// Common JSON request: POST `url` with `content-type: application/json`.
fn json_request(url: Url, body: Vec<u8>) -> OutboundRequest {
    OutboundRequest {
        url,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
        tls: TlsPolicy::default(),
        redactions: Vec::new(),
        masked_headers: Vec::new(),
    }
}

/// The one payload of a non-batching channel.
fn only_payload<'a>(destination: &Destination, batch: &[&'a Payload]) -> Result<&'a Payload, NotifyError> {
    match batch {
        [payload] => Ok(payload),
        _ => Err(NotifyError::Settings {
            destination: destination.name.clone(),
            reason: format!("expected exactly one payload per request, got {}", batch.len()),
        }),
    }
}

/// The standard HTTP classification shared by webhook channels: 2xx delivered;
/// 408, 425, 429 and 5xx retry (honouring `Retry-After`); 410 fails and asks for the
/// destination to be disabled; every other status (3xx included) fails.
fn classify_http(answer: &ChannelAnswer, describe: impl Fn(&ChannelAnswer) -> String) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Delivered,
        408 | 425 | 429 | 500..=599 => Outcome::retry(answer.retry_after, describe(answer)),
        410 => Outcome::Failed { reason: describe(answer), disable_destination: true },
        _ => Outcome::failed(describe(answer)),
    }
}

/// `HTTP 404: channel_not_found` — status and the start of the body.
fn status_and_body(answer: &ChannelAnswer) -> String {
    let body = answer.body.trim();
    if body.is_empty() {
        format!("HTTP {}", answer.status)
    } else {
        let excerpt: String = body.chars().take(300).collect();
        format!("HTTP {}: {excerpt}", answer.status)
    }
}
