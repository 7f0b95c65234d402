//! What came back and what to do about it: the channel's answer
//! ([`ChannelAnswer`]), the decision taken on it ([`Outcome`], a value, never a
//! string parsed later), and the standard HTTP classification the webhook
//! channels share. Each channel's own rules live in its `classify.rs`.

use std::time::Duration;

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
    /// for acknowledgements ([`super::Notifier::acknowledgement`]); delivered at once
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

/// The standard HTTP classification shared by webhook channels: 2xx delivered;
/// 408, 425, 429 and 5xx retry (honouring `Retry-After`); 410 fails and asks for the
/// destination to be disabled; every other status (3xx included) fails.
pub(super) fn classify_http(answer: &ChannelAnswer, describe: impl Fn(&ChannelAnswer) -> String) -> Outcome {
    match answer.status {
        200..=299 => Outcome::Delivered,
        408 | 425 | 429 | 500..=599 => Outcome::retry(answer.retry_after, describe(answer)),
        410 => Outcome::Failed { reason: describe(answer), disable_destination: true },
        _ => Outcome::failed(describe(answer)),
    }
}

/// `HTTP 404: channel_not_found` — status and the start of the body.
pub(super) fn status_and_body(answer: &ChannelAnswer) -> String {
    let body = answer.body.trim();
    if body.is_empty() {
        format!("HTTP {}", answer.status)
    } else {
        let excerpt: String = body.chars().take(300).collect();
        format!("HTTP {}: {excerpt}", answer.status)
    }
}
