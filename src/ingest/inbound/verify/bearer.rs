//! A bearer token: `Authorization: Bearer <token>`, compared in constant time.
//! Suits a Canary console's generic webhook with an `Authorization` custom header.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use super::{authorization, secrets_equal};
use crate::ingest::inbound::{Verified, Verifier, VerifyError};
use crate::secret::Secret;

/// Verifies `Authorization: Bearer …` against one token.
pub struct Bearer {
    token: Secret,
}

impl std::fmt::Debug for Bearer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bearer")
    }
}

impl Bearer {
    /// Expects exactly this token.
    pub fn new(token: Secret) -> Self {
        Self { token }
    }
}

impl Verifier for Bearer {
    fn verify(&self, headers: &HeaderMap, _body: &[u8], _now: DateTime<Utc>) -> Result<Verified, VerifyError> {
        let presented = authorization(headers, "Bearer")?;
        if secrets_equal(self.token.expose().as_bytes(), presented.as_bytes()) {
            Ok(Verified::default())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_is_accepted() {
        let verifier = Bearer::new(Secret::new("tok-0123456789"));
        let mut headers = HeaderMap::new();
        let now = Utc::now();
        assert_eq!(verifier.verify(&headers, b"", now), Err(VerifyError::Missing("authorization")));
        headers.insert("authorization", "Bearer tok-0123456789".parse().expect("valid header"));
        assert_eq!(verifier.verify(&headers, b"", now), Ok(Verified::default()));
        headers.insert("authorization", "Bearer tok-012345678".parse().expect("valid header"));
        assert_eq!(verifier.verify(&headers, b"", now), Err(VerifyError::Mismatch));
    }
}
