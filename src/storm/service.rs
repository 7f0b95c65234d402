//! What handlers (API, CLI, console) do with storms, as methods of the
//! [`Outbox`] service: list, create and expire silences; read which alerts a
//! digest carried. Validation is [`super::silence`]'s; storing is the store's.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::silence::{self, Matcher, Silence, SilenceError};
use crate::outbox::Outbox;
use crate::store::StoreError;

/// A silence as an operator asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub reason: String,
    pub author: String,
    /// When it ends (RFC 3339) — or `duration` from now.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// How long it lasts (`2h`, `30m`), when `expires_at` is not given.
    #[serde(default)]
    pub duration: Option<String>,
}

/// Why a silence was not created.
#[derive(Debug, thiserror::Error)]
pub enum SilenceRequestError {
    #[error(transparent)]
    Invalid(#[from] SilenceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NewSilence {
    /// The silence this request makes at `now`, validated; a fresh `sil_…` id.
    pub fn build(self, now: DateTime<Utc>) -> Result<Silence, SilenceError> {
        let expires_at = self.expiry(now)?;
        silence::validate(&self.matchers, &self.reason, &self.author, expires_at, now)?;
        Ok(Silence {
            id: format!("sil_{}", uuid::Uuid::now_v7().simple()),
            matchers: self.matchers,
            reason: self.reason.trim().to_owned(),
            author: self.author.trim().to_owned(),
            created_at: now,
            expires_at,
        })
    }

    /// When the silence ends, from `expires_at` or `duration`.
    pub fn expiry(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, SilenceError> {
        let invalid = |field: &str, reason: &str| SilenceError::Invalid { field: field.into(), reason: reason.into() };
        match (&self.expires_at, &self.duration) {
            (Some(at), None) => DateTime::parse_from_rfc3339(at.trim())
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| invalid("expires_at", "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")),
            (None, Some(duration)) => crate::config::Seconds::parse(duration)
                .map(|duration| super::after(now, duration.0))
                .map_err(|reason| invalid("duration", &reason)),
            (Some(_), Some(_)) => Err(invalid("expires_at", "give expires_at or duration, not both")),
            (None, None) => Err(invalid("expires_at", "give expires_at (RFC 3339) or duration (2h, 30m)")),
        }
    }
}

impl Outbox {
    /// Silences in force at `now`, or every one (expired too) when `all`.
    pub async fn silences(&self, all: bool, now: DateTime<Utc>) -> Result<Vec<Silence>, StoreError> {
        self.store.silences(all, now).await
    }

    /// Validates and stores a silence; it applies to alerts ingested from now on.
    pub async fn add_silence(&self, request: NewSilence, now: DateTime<Utc>) -> Result<Silence, SilenceRequestError> {
        let silence = request.build(now)?;
        self.store.add_silence(&silence).await?;
        tracing::info!(silence = %silence.id, author = %silence.author, until = %silence.expires_at, "Silence created.");
        Ok(silence)
    }

    /// Ends a silence now; it stays listed among the expired.
    pub async fn expire_silence(&self, id: &str, now: DateTime<Utc>) -> Result<Silence, StoreError> {
        let silence = self.store.expire_silence(id, now).await?;
        tracing::info!(silence = %id, "Silence expired.");
        Ok(silence)
    }

    /// The alerts a digest message carried (empty for an ordinary message).
    pub async fn digest_alerts(&self, message_id: &str) -> Result<Vec<String>, StoreError> {
        self.store.digest_alerts(message_id).await
    }
}
