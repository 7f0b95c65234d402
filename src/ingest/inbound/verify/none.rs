//! No verification: every request is accepted. Only used when a source says
//! `scheme = "none"` explicitly (there is no default scheme); the relay logs a
//! warning for such sources at start.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use crate::ingest::inbound::{Verified, Verifier, VerifyError};

/// Accepts everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoVerification;

impl Verifier for NoVerification {
    fn verify(&self, _headers: &HeaderMap, _body: &[u8], _now: DateTime<Utc>) -> Result<Verified, VerifyError> {
        Ok(Verified::default())
    }
}
