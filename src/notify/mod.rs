//! The `Notifier` seam: one implementation per channel kind.
//!
//! A notifier turns an alert into a stored [`Payload`] (rendering, once, at
//! enqueue time), turns payloads into an [`OutboundRequest`] at send time (auth
//! headers, signatures with a fresh timestamp), and classifies the channel's
//! answer into an [`Outcome`] using that channel's rules. Sending itself is shared
//! ([`http::HttpSender`]), so a request can be previewed without a network.
//!
//! What a destination holds is pure data and lives apart from all this: the
//! channel kinds and settings ([`channel`], each channel's `config`, the shared
//! rules in [`settings`]). [`crate::destination`] imports only those, and they
//! import nothing from the notifiers, sending ([`http`], [`ack`]) or the layers
//! above.

pub mod ack;
pub mod channel;
pub mod generic;
pub mod http;
pub mod policy;
pub mod settings;
pub mod slack;
pub mod splunk_hec;
pub mod teams;

use std::time::Duration;

use chrono::{DateTime, Utc};
use url::Url;

use crate::alert::Alert;
use crate::destination::Destination;
use crate::notify::generic::config::{GenericAuth, Signing};
use crate::render::{AlertContext, DestinationView, RenderError, Rendered, Renderer};
use crate::secret::{mask_url, Scrubber, MASK};

pub use channel::{Channel, ChannelKind};

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
    /// Every header the sender puts on the request, in order: the request's
    /// own (content type, custom headers, auth, signatures), then the relay's
    /// [`http::TRANSPORT_HEADERS`] (`user-agent`, `accept`) that it did not set.
    /// [`http::HttpSender::send`] sends exactly this list and `flockrelay
    /// render` prints it, so the preview cannot drift from the wire.
    pub fn wire_headers(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        for (name, value) in http::TRANSPORT_HEADERS {
            if !headers.iter().any(|(existing, _)| existing.eq_ignore_ascii_case(name)) {
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        // Every request carries a hop count; one that says none starts a chain.
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case(crate::hops::HOPS_HEADER)) {
            headers.push((crate::hops::HOPS_HEADER.to_owned(), crate::hops::outbound(0)));
        }
        headers
    }

    /// The request as text (method, URL, headers, body) with every secret masked:
    /// what `flockrelay render` prints. Besides [`OutboundRequest::wire_headers`]
    /// it shows the `host` and `content-length` HTTP derives from the URL and body.
    pub fn to_masked_string(&self) -> String {
        self.masked_text(&String::from_utf8_lossy(&self.body))
    }

    /// As [`OutboundRequest::to_masked_string`], with the body indented for
    /// reading (each JSON value of it; a body that is not JSON as it is). Only
    /// the display changes: `content-length` is still that of the body sent.
    pub fn to_masked_string_pretty(&self) -> String {
        self.masked_text(&pretty_body(&self.body))
    }

    fn masked_text(&self, body: &str) -> String {
        let mut text = format!("POST {}\n", mask_url(&self.url));
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => text.push_str(&format!("host: {host}:{port}\n")),
            None => text.push_str(&format!("host: {host}\n")),
        }
        for (name, value) in self.wire_headers() {
            let masked = self.masked_headers.iter().any(|masked| masked.eq_ignore_ascii_case(&name));
            let value = if masked { MASK } else { value.as_str() };
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push_str(&format!("content-length: {}\n", self.body.len()));
        text.push('\n');
        text.push_str(body);
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
        self.scrubber().scrub(text)
    }

    /// What masks this request's redactions (and the values of its masked
    /// headers) in text that came back: answers that echo the request.
    pub fn scrubber(&self) -> Scrubber {
        let masked_values = self
            .headers
            .iter()
            .filter(|(name, _)| self.masked_headers.iter().any(|masked| masked.eq_ignore_ascii_case(name)))
            .map(|(_, value)| value);
        Scrubber::new(self.redactions.iter().chain(masked_values))
    }
}

/// A body for reading: every JSON value in it (one, or a HEC batch of several)
/// indented; anything else as it is.
fn pretty_body(body: &[u8]) -> String {
    let values: Result<Vec<serde_json::Value>, _> = serde_json::Deserializer::from_slice(body).into_iter().collect();
    match values {
        Ok(values) if !values.is_empty() => values
            .iter()
            .map(|value| serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::from_utf8_lossy(body).into_owned(),
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
    /// The channel took the request and will say later whether it really
    /// delivered it, under this acknowledgement id (Splunk HEC indexer
    /// acknowledgement). Delivered once acknowledged when the destination waits
    /// for acknowledgements ([`Notifier::acknowledgement`]); delivered at once
    /// when it does not.
    Accepted { ack_id: u64 },
    /// Try again later; `after` is the channel's `Retry-After`, if any.
    Retry { after: Option<Duration>, reason: String },
    /// It will never succeed as it is; `disable_destination` asks for the endpoint
    /// to be disabled (HTTP 410 Gone).
    Failed { reason: String, disable_destination: bool },
    /// The destination as a whole refused (credentials revoked or invalid, the
    /// webhook removed, the channel gone): every message would get the same
    /// answer. The destination is paused (its breaker opens with this reason)
    /// and the message stays queued, without the attempt counting against its
    /// retry schedule. `cause` is a short, fixed code for metrics
    /// (`hec_code_4`, `http_401`, `slack_no_service`).
    Paused { cause: String, reason: String },
    /// The request was too large for the channel (HTTP 413): a batch is split
    /// and its halves sent again; a single payload fails with this reason.
    TooLarge { reason: String },
}

impl Outcome {
    pub fn retry(after: Option<Duration>, reason: impl Into<String>) -> Self {
        Self::Retry { after, reason: reason.into() }
    }

    pub fn failed(reason: impl Into<String>) -> Self {
        Self::Failed { reason: reason.into(), disable_destination: false }
    }

    pub fn paused(cause: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Paused { cause: cause.into(), reason: reason.into() }
    }

    /// Short name for logs and CLI output (and the attempt log).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Accepted { .. } => "accepted",
            Self::Retry { .. } => "retry",
            Self::Failed { .. } | Self::TooLarge { .. } => "failed",
            Self::Paused { .. } => "paused",
        }
    }

    /// The channel's explanation, if it gave one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Delivered | Self::Accepted { .. } => None,
            Self::Retry { reason, .. }
            | Self::Failed { reason, .. }
            | Self::Paused { reason, .. }
            | Self::TooLarge { reason } => Some(reason),
        }
    }

    /// The outcome of a payload sent on its own: too large is final then.
    pub fn alone(self) -> Self {
        match self {
            Self::TooLarge { reason } => {
                Self::failed(format!("the payload alone is larger than the destination accepts ({reason})"))
            }
            other => other,
        }
    }
}

/// How fast a channel's service accepts messages, where it documents it: the
/// pace a destination of that kind gets unless it sets its own `rate_limit` or
/// `concurrency`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pace {
    /// Messages per second; `None`: unpaced.
    pub rate: Option<f64>,
    /// Requests in flight at once; `None`: `[delivery] concurrency`.
    pub concurrency: Option<u32>,
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

    /// Classifies the channel's answer for one destination: the channel's rules
    /// with the destination's own overrides (a generic destination's
    /// `permanent_statuses`). What the sender calls; defaults to
    /// [`Notifier::classify`].
    fn classify_for(&self, destination: &Destination, answer: &ChannelAnswer) -> Outcome {
        let _ = destination;
        self.classify(answer)
    }

    /// How many payloads one request may carry.
    fn max_batch(&self) -> usize {
        1
    }

    /// The most bytes of payloads one batched request may carry (a single
    /// payload is always sent, whatever its size). `None`: no byte cap.
    fn max_batch_bytes(&self, _destination: &Destination) -> Option<usize> {
        None
    }

    /// How the destination confirms delivery after accepting a request, when
    /// it does ([`Outcome::Accepted`]); `None`: an accepted request is delivered.
    fn acknowledgement(&self, _destination: &Destination) -> Option<ack::AckPolicy> {
        None
    }

    /// The request asking whether these acknowledgement ids are confirmed.
    fn ack_request(&self, destination: &Destination, _ids: &[u64]) -> Result<OutboundRequest, NotifyError> {
        Err(NotifyError::Settings {
            destination: destination.name.clone(),
            reason: "this channel has no delivery acknowledgement".into(),
        })
    }

    /// Reads the answer to an acknowledgement query.
    fn classify_ack(&self, answer: &ChannelAnswer) -> ack::AckAnswer {
        ack::AckAnswer::Refused(Outcome::retry(None, status_and_body(answer)))
    }

    /// A request that checks the destination without delivering anything
    /// (Splunk HEC's health endpoint, `flockrelay test --health`); `None`
    /// when the channel has no such check.
    fn health_request(&self, _destination: &Destination) -> Option<Result<OutboundRequest, NotifyError>> {
        None
    }

    /// Classifies the answer to [`Notifier::health_request`]: delivered means healthy.
    fn classify_health(&self, answer: &ChannelAnswer) -> Outcome {
        classify_http(answer, status_and_body)
    }

    /// The channel's documented pace; unpaced by default.
    fn pace(&self) -> Pace {
        Pace::default()
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
        ChannelKind::SplunkHec => &splunk_hec::SplunkHec,
        ChannelKind::Generic => &generic::Generic,
    }
}

/// The request for `batch`, made by the destination's notifier, with every
/// secret the destination holds among its redactions ([`destination_secrets`]):
/// what the worker, `flockrelay send`/`test`/`render` and the API's tests send.
pub fn build_request(
    destination: &Destination,
    batch: &[&Payload],
    attempt: &AttemptContext<'_>,
) -> Result<OutboundRequest, NotifyError> {
    by_kind(destination.channel.kind())
        .request(destination, batch, attempt)
        .map(|request| with_secrets(destination, request))
}

/// `request` with every secret the destination holds among its redactions: for
/// every request made for a destination (deliveries, acknowledgement queries,
/// health checks), so that no answer echoing it is kept unmasked.
pub fn with_secrets(destination: &Destination, mut request: OutboundRequest) -> OutboundRequest {
    request.redactions.extend(destination_secrets(destination));
    request
}

/// Builds a request for a single payload, the common case.
pub fn single_request(
    destination: &Destination,
    payload: &Payload,
    attempt: &AttemptContext<'_>,
) -> Result<OutboundRequest, NotifyError> {
    build_request(destination, &[payload], attempt)
}

/// Every secret a destination holds, in every form it is sent in: custom
/// header values, Basic credentials (and their base64), bearer token, client
/// secret, signing secrets, the HEC token, URL user-info (and the base64 the
/// HTTP client sends it as), and the credential parts of Slack and Teams
/// webhook URLs (for those, the URL is the credential). The one list of what
/// is masked in answers before they are stored or shown.
pub fn destination_secrets(destination: &Destination) -> Vec<String> {
    match &destination.channel {
        Channel::Slack(settings) => url_secrets(&settings.url, true),
        Channel::MsTeams(settings) => url_secrets(&settings.url, true),
        Channel::SplunkHec(settings) => vec![settings.token.expose().to_owned()],
        Channel::Generic(settings) => {
            let mut secrets = url_secrets(&settings.url, false);
            secrets.extend(settings.headers.values().map(|value| value.expose().to_owned()));
            match &settings.auth {
                Some(GenericAuth::Basic { username, password }) => {
                    secrets.push(password.expose().to_owned());
                    secrets.push(basic_credentials(username, Some(password.expose())));
                }
                Some(GenericAuth::Bearer { token }) => secrets.push(token.expose().to_owned()),
                Some(GenericAuth::ClientSecret { secret, .. }) => secrets.push(secret.expose().to_owned()),
                None => {}
            }
            match &settings.signing {
                Some(Signing::StandardWebhooks { secrets: keys }) => {
                    for key in keys {
                        secrets.push(key.expose().to_owned());
                        secrets.extend(key.expose().strip_prefix("whsec_").map(str::to_owned));
                    }
                }
                Some(Signing::FlockHmac { secret }) => secrets.push(secret.expose().to_owned()),
                None => {}
            }
            secrets
        }
    }
}

/// The secrets of a URL: its user-info (as written, decoded, and as the
/// `Authorization: Basic` value the HTTP client makes of it) and, when the URL
/// is itself the credential (`credential`), every path segment and query
/// value that looks like a token: 16 characters or more, or 8 or more with
/// anything but letters (well-known words such as `services` stay readable).
pub fn url_secrets(url: &url::Url, credential: bool) -> Vec<String> {
    let decoded = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    let mut secrets = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        let username = decoded(url.username());
        let password = url.password().map(decoded);
        secrets.push(basic_credentials(&username, password.as_deref()));
        secrets.extend([url.username().to_owned(), username]);
        secrets.extend(url.password().map(str::to_owned).into_iter().chain(password));
    }
    if credential {
        let looks_secret = |part: &str| {
            let length = part.chars().count();
            length >= 16 || (length >= 8 && part.chars().any(|ch| !ch.is_alphabetic()))
        };
        let segments = url.path_segments().into_iter().flatten().map(str::to_owned);
        let values = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(_, value)| value.to_owned());
        for part in segments.chain(values) {
            let plain = decoded(&part);
            if looks_secret(&part) || looks_secret(&plain) {
                secrets.extend([part, plain]);
            }
        }
    }
    secrets.retain(|secret| !secret.is_empty());
    secrets
}

/// `username:password` base64-encoded, as `Authorization: Basic` carries it.
fn basic_credentials(username: &str, password: Option<&str>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.unwrap_or_default()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).expect("valid URL")
    }

    #[test]
    fn the_credential_parts_of_webhook_urls_are_secrets_and_the_words_are_not() {
        let slack =
            url_secrets(&url("https://hooks.slack.com/services/T0A1B2C3D/B0E1F2G3H/XXXXXXXXXXXXXXXXXXXXXXXX"), true);
        assert!(slack.contains(&"XXXXXXXXXXXXXXXXXXXXXXXX".to_owned()) && slack.contains(&"T0A1B2C3D".to_owned()));
        assert!(!slack.contains(&"services".to_owned()), "{slack:?}");
        let connector = url_secrets(
            &url("https://example.webhook.office.com/webhookb2/4f1c2a9e-0000-4a5b-9c8d-7e6f5a4b3c2d@0a1b/IncomingWebhook/9a8b7c6d5e4f/1c2d"),
            true,
        );
        assert!(connector.iter().any(|part| part.starts_with("4f1c2a9e-0000")), "{connector:?}");
        assert!(connector.contains(&"9a8b7c6d5e4f".to_owned()) && !connector.contains(&"IncomingWebhook".to_owned()));
        let workflow = url_secrets(&url("https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=a%2Bb0123456789"), true);
        assert!(
            workflow.contains(&"a%2Bb0123456789".to_owned()) && workflow.contains(&"a+b0123456789".to_owned()),
            "{workflow:?}"
        );
        assert!(url_secrets(&url("https://automation.example.com/hooks/0123456789abcdef0123"), false).is_empty());
    }

    #[test]
    fn user_info_is_a_secret_as_written_decoded_and_as_basic_credentials() {
        let secrets = url_secrets(&url("https://us%40er:p%3Ass@h.example/"), false);
        for expected in ["us%40er", "us@er", "p%3Ass", "p:ss", "dXNAZXI6cDpzcw=="] {
            assert!(secrets.contains(&expected.to_owned()), "{expected} in {secrets:?}");
        }
    }
}
