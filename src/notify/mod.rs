//! The `Notifier` seam: one implementation per channel kind.
//!
//! A notifier turns an alert into a stored [`Payload`] (rendering, once, at
//! enqueue time), turns payloads into an [`OutboundRequest`] at send time (auth
//! headers, signatures with a fresh timestamp), and classifies the channel's
//! answer into an [`Outcome`] using that channel's rules. Sending itself is shared
//! ([`http::HttpSender`]), so a request can be previewed without a network.
//! This file owns the seam ([`Notifier`], [`by_kind`]) and what it speaks in;
//! the request and its masked printing are in `request.rs`, the answer and the
//! [`Outcome`] in `outcome.rs`, the list of a destination's secrets in
//! `secrets.rs`.
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
mod outcome;
pub mod policy;
mod request;
mod secrets;
pub mod settings;
pub mod slack;
pub mod splunk_hec;
pub mod teams;

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::alert::Alert;
use crate::destination::Destination;
use crate::render::{AlertContext, DestinationView, RenderError, Rendered, Renderer};

pub use channel::{Channel, ChannelKind};
pub use outcome::{ChannelAnswer, Outcome};
pub use request::{build_request, single_request, with_secrets, OutboundRequest, TlsPolicy};
pub use secrets::{destination_secrets, url_secrets};

use outcome::{classify_http, status_and_body};
use request::json_request;

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

/// Serializes an edited payload.
fn to_body(value: &serde_json::Value) -> Result<String, NotifyError> {
    serde_json::to_string(value).map_err(|error| NotifyError::Body(error.to_string()))
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
