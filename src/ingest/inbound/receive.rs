//! One inbound webhook request → an [`Incoming`] alert: the hop count, the
//! source's verification, the JSON body, the credential field dropped, then
//! the source's mapping template. Pure: the caller has looked the source up,
//! read the body and passes the time; it stores the result (`ingest`) and
//! answers HTTP (`api::hooks`). Nothing here logs or knows status codes.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::mapping::{Mapper, MappingError};
use super::{Source, VerifyError};
use crate::hops::{self, HopsError};
use crate::ingest::Incoming;

/// Why an inbound request is not turned into an alert.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// It passed too many relays, or its hop count is malformed.
    #[error(transparent)]
    Hops(#[from] HopsError),
    /// The source's verification failed.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The body is not JSON.
    #[error("body is not valid JSON: {0}")]
    Body(#[from] serde_json::Error),
    /// The source's mapping template cannot map it (or is missing).
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

impl Refusal {
    /// The `reason` label of `flockrelay_requests_rejected_total` and the log.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Hops(error) => error.reason(),
            Self::Verify(error) => error.reason(),
            Self::Body(_) => "hook_bad_body",
            Self::Mapping(MappingError::Unknown(_)) => "hook_unavailable",
            Self::Mapping(_) => "hook_unmappable",
        }
    }
}

/// Turns one request of `source` into the alert to ingest, with the verified
/// event id as its idempotency key (ingest puts it in the source's namespace).
pub fn receive(
    mapper: &Mapper,
    source: &Source,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Incoming, Refusal> {
    let hops = hops::inbound(headers)?;
    let verified = source.verifier().verify(headers, body, now)?;
    let mut payload: Value = serde_json::from_slice(body)?;
    if let (Some(field), Value::Object(fields)) = (&verified.credential_field, &mut payload) {
        fields.remove(field);
    }
    let alert = mapper.map(source, &verified, &payload, now)?;
    Ok(Incoming { alert, idempotency_key: verified.event_id, hops })
}
