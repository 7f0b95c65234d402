//! Inbound sources: other systems — a Canary console, a Flock referral campaign,
//! a Standard Webhooks sender such as Flowcode or Svix, a Flowingly workflow —
//! post their webhooks to `POST /hooks/{source_id}`. Each source names its flock,
//! how its requests are verified, and how its payload becomes an [`Alert`].
//!
//! - [`verify`] — the [`Verifier`] seam: one implementation per scheme.
//! - [`mapping`] — payload → Tera template → alert JSON → [`Alert`].
//! - [`receive`] — one inbound request → an [`Incoming`](crate::ingest::Incoming), pure.
//! - `fuzz` — fuzz target bodies, shared by `fuzz/` (cargo-fuzz) and the
//!   stable short run in the test suite; only with `cfg(test)` or the
//!   `fuzzing` feature, never in a release library.
//!
//! Pure: no I/O and no clock (callers pass the time). The store keeps sources;
//! `api::hooks` answers HTTP and `ingest` stores; this module must not know status codes.
//!
//! [`Alert`]: crate::alert::Alert

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod mapping;
pub mod receive;
pub mod verify;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::flock::DEFAULT_FLOCK;
use crate::secret::Secret;

/// How far a sender's timestamp may be from our clock, either way: five minutes,
/// as both the Standard Webhooks and the Flock documents say.
pub const TIMESTAMP_TOLERANCE_SECS: i64 = 5 * 60;

/// Longest event id (`webhook-id`) accepted; it becomes part of an idempotency key.
pub const MAX_EVENT_ID_LEN: usize = 200;

/// Longest source id: it is part of a URL path and of environment variable names.
pub const MAX_SOURCE_ID_LEN: usize = 64;

/// Whether `id` can name a source: `a-z`, `0-9`, `_`, `-`, at most
/// [`MAX_SOURCE_ID_LEN`] characters.
pub fn valid_source_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SOURCE_ID_LEN
        && id.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
}

/// The verification schemes, spelled as in the configuration (`scheme = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchemeName {
    /// `webhook-id` / `webhook-timestamp` / `webhook-signature` with `whsec_` secrets.
    StandardWebhooks,
    /// `X-Flock-Signature`: hex HMAC-SHA256 of the body, plus the payload's `timestamp`.
    FlockHmac,
    /// `Authorization: Basic …` (Flowingly's "Basic").
    Basic,
    /// A shared secret in a body field or a header (Flowingly's "Client Secret").
    ClientSecret,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// No verification at all; only when a source says so explicitly.
    None,
}

impl SchemeName {
    /// Every scheme, in documentation order.
    pub const ALL: [SchemeName; 6] =
        [Self::StandardWebhooks, Self::FlockHmac, Self::Basic, Self::ClientSecret, Self::Bearer, Self::None];

    /// The configuration spelling (`standard_webhooks`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StandardWebhooks => "standard_webhooks",
            Self::FlockHmac => "flock_hmac",
            Self::Basic => "basic",
            Self::ClientSecret => "client_secret",
            Self::Bearer => "bearer",
            Self::None => "none",
        }
    }

    /// The mapping template used when a source names none: the payload form the
    /// senders that use this scheme post. Canary consoles authenticate their
    /// generic webhooks with a custom header (bearer) or not at all.
    pub fn default_template(self) -> &'static str {
        match self {
            Self::StandardWebhooks => mapping::STANDARD_WEBHOOKS_EVENT,
            Self::FlockHmac => mapping::FLOCK_EVENT,
            Self::Basic | Self::ClientSecret => mapping::FLOWINGLY_STEP,
            Self::Bearer | Self::None => mapping::CANARY_INCIDENT,
        }
    }
}

impl std::fmt::Display for SchemeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn default_flock() -> String {
    DEFAULT_FLOCK.to_owned()
}

fn yes() -> bool {
    true
}

/// A source as written in `[sources.<id>]` or posted to `/api/v1/sources`: one
/// flat table, so that validation can name the exact key that is wrong or does
/// not belong to the chosen scheme (`sources.flowcode.secret: not used by …`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The flock every event of this source belongs to, whatever the payload
    /// says: a sender can only ever reach its own flock's destinations.
    #[serde(default = "default_flock")]
    pub flock: String,
    /// A disabled source refuses every request (as if it did not exist).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How requests are verified. Required: `none` must be chosen explicitly.
    pub scheme: SchemeName,
    /// standard_webhooks: every `whsec_` secret accepted; list the old and the new
    /// one while the sender rotates.
    #[serde(default)]
    pub secrets: Vec<Secret>,
    /// flock_hmac: the shared HMAC secret; client_secret: the expected secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// basic: the expected user name.
    #[serde(default)]
    pub username: Option<String>,
    /// basic: the expected password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// bearer: the expected token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// client_secret: the top-level body field carrying it (default `client_secret`).
    #[serde(default)]
    pub field: Option<String>,
    /// client_secret: a header carrying it instead of a body field.
    #[serde(default)]
    pub header: Option<String>,
    /// The mapping template; unset = the scheme's default.
    #[serde(default)]
    pub template: Option<String>,
}

impl SourceConfig {
    /// The source this table describes, or `None` when a key its scheme needs is
    /// missing. Call after `config::validate::source_problems`, which names it.
    pub fn to_source(&self, id: &str) -> Option<Source> {
        let scheme = match self.scheme {
            SchemeName::StandardWebhooks => Scheme::StandardWebhooks { secrets: self.secrets.clone() },
            SchemeName::FlockHmac => Scheme::FlockHmac { secret: self.secret.clone()? },
            SchemeName::Basic => Scheme::Basic { username: self.username.clone()?, password: self.password.clone()? },
            SchemeName::ClientSecret => Scheme::ClientSecret {
                secret: self.secret.clone()?,
                field: self.field.clone(),
                header: self.header.clone(),
            },
            SchemeName::Bearer => Scheme::Bearer { token: self.token.clone()? },
            SchemeName::None => Scheme::None,
        };
        Some(Source {
            id: id.to_owned(),
            flock: self.flock.clone(),
            enabled: self.enabled,
            scheme,
            template: self.template.clone(),
        })
    }
}

/// One inbound source, validated: what the store keeps and the endpoint uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The `{source_id}` of `POST /hooks/{source_id}`.
    pub id: String,
    /// The flock its alerts belong to.
    pub flock: String,
    /// A disabled source refuses every request.
    pub enabled: bool,
    /// How its requests are verified, with the secrets.
    #[serde(flatten)]
    pub scheme: Scheme,
    /// Mapping template; `None` = the scheme's default.
    #[serde(default)]
    pub template: Option<String>,
}

impl Source {
    /// The mapping template in effect.
    pub fn template_name(&self) -> &str {
        self.template.as_deref().unwrap_or_else(|| self.scheme.name().default_template())
    }

    /// The verifier for this source's scheme.
    pub fn verifier(&self) -> Box<dyn Verifier> {
        verify::for_scheme(&self.id, &self.scheme)
    }
}

/// A scheme with its secrets. Serialized with its name under `scheme`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum Scheme {
    /// Every `whsec_` secret is accepted (several while the sender rotates).
    StandardWebhooks { secrets: Vec<Secret> },
    /// `X-Flock-Signature` with this shared secret.
    FlockHmac { secret: Secret },
    /// `Authorization: Basic` with exactly these credentials.
    Basic { username: String, password: Secret },
    /// A shared secret in a body `field` (default `client_secret`) or a `header`.
    ClientSecret {
        secret: Secret,
        #[serde(default)]
        field: Option<String>,
        #[serde(default)]
        header: Option<String>,
    },
    /// `Authorization: Bearer` with this token.
    Bearer { token: Secret },
    /// Nothing is verified.
    None,
}

impl Scheme {
    /// The scheme's configuration name.
    pub fn name(&self) -> SchemeName {
        match self {
            Self::StandardWebhooks { .. } => SchemeName::StandardWebhooks,
            Self::FlockHmac { .. } => SchemeName::FlockHmac,
            Self::Basic { .. } => SchemeName::Basic,
            Self::ClientSecret { .. } => SchemeName::ClientSecret,
            Self::Bearer { .. } => SchemeName::Bearer,
            Self::None => SchemeName::None,
        }
    }
}

impl std::fmt::Debug for Scheme {
    /// The scheme's name only: secrets never reach a log line, user names neither.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Scheme({})", self.name())
    }
}

/// What a successful verification learned about the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verified {
    /// The sender's id of the event (Standard Webhooks `webhook-id`), the same on
    /// every retry: the relay recognises a retry by it, durably.
    pub event_id: Option<String>,
    /// When the sender says it sent the event (epoch seconds), for schemes that
    /// carry a verified timestamp.
    pub timestamp: Option<i64>,
    /// A top-level body field that carried the credential: it is removed from the
    /// payload before mapping, so it is never relayed.
    pub credential_field: Option<String>,
}

/// Why a request was refused. Carries header names at most — never a presented
/// or expected secret — so it can be logged as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("{0} is malformed")]
    Malformed(&'static str),
    #[error("signature or credentials do not match")]
    Mismatch,
    #[error("timestamp is outside the accepted window of ±5 minutes")]
    Stale,
    /// The request is authentic but the payload the scheme needs cannot be read
    /// (a Flock body without a usable `timestamp`).
    #[error("the signed payload cannot be read: {0}")]
    Payload(String),
}

impl VerifyError {
    /// The `reason` label of `flockrelay_requests_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing(_) => "hook_missing_credentials",
            Self::Malformed(_) => "hook_malformed_credentials",
            Self::Mismatch => "hook_bad_credentials",
            Self::Stale => "hook_stale_timestamp",
            Self::Payload(_) => "hook_bad_payload",
        }
    }
}

/// Verifies one inbound request of one source. Object-safe, used as
/// `Box<dyn Verifier>`; implementations compare secrets in constant time and
/// never panic, whatever the headers and body hold.
pub trait Verifier: Send + Sync + std::fmt::Debug {
    /// Accepts or refuses a request; `now` is the relay's clock.
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Result<Verified, VerifyError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_of_a_source_shows_no_secret() {
        let config = SourceConfig {
            flock: DEFAULT_FLOCK.into(),
            enabled: true,
            scheme: SchemeName::Basic,
            secrets: Vec::new(),
            secret: None,
            username: Some("flowingly-user".into()),
            password: Some(Secret::new("hunter2-password")),
            token: None,
            field: None,
            header: None,
            template: None,
        };
        let source = config.to_source("flowingly").expect("complete");
        let shown = format!("{source:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("flowingly-user"), "{shown}");
        assert_eq!(source.template_name(), mapping::FLOWINGLY_STEP);
    }

    #[test]
    fn stored_form_round_trips_with_the_scheme_flattened() {
        let source = Source {
            id: "flowcode".into(),
            flock: DEFAULT_FLOCK.into(),
            enabled: true,
            scheme: Scheme::StandardWebhooks { secrets: vec![Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")] },
            template: None,
        };
        let json = serde_json::to_value(&source).expect("serializes");
        assert_eq!(json["scheme"], "standard_webhooks");
        assert_eq!(serde_json::from_value::<Source>(json).expect("deserializes"), source);
    }
}
