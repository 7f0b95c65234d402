//! HTTP Basic authentication (Flowingly's "Basic" option): `Authorization: Basic
//! base64(username:password)`. User name and password are both compared, in
//! constant time, whatever the first comparison gave.

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};

use super::{authorization, secrets_equal};
use crate::ingest::inbound::{Verified, Verifier, VerifyError};
use crate::secret::Secret;

/// Verifies `Authorization: Basic …` against one user name and password.
pub struct Basic {
    username: Secret,
    password: Secret,
}

impl std::fmt::Debug for Basic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Basic")
    }
}

impl Basic {
    /// Expects exactly this user name and password.
    pub fn new(username: &str, password: &Secret) -> Self {
        Self { username: Secret::new(username), password: password.clone() }
    }
}

impl Verifier for Basic {
    fn verify(&self, headers: &HeaderMap, _body: &[u8], _now: DateTime<Utc>) -> Result<Verified, VerifyError> {
        let encoded = authorization(headers, "Basic")?;
        let decoded = STANDARD.decode(encoded).map_err(|_| VerifyError::Malformed("authorization"))?;
        // RFC 7617: the user name ends at the first colon; the password may hold more.
        let colon = decoded.iter().position(|&byte| byte == b':').ok_or(VerifyError::Malformed("authorization"))?;
        let (username, password) = (&decoded[..colon], &decoded[colon + 1..]);
        let user_matches = secrets_equal(self.username.expose().as_bytes(), username);
        let password_matches = secrets_equal(self.password.expose().as_bytes(), password);
        if user_matches & password_matches {
            Ok(Verified::default())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", value.parse().expect("valid header"));
        headers
    }

    fn basic(username: &str, password: &str) -> HeaderMap {
        with_authorization(&format!("Basic {}", STANDARD.encode(format!("{username}:{password}"))))
    }

    #[test]
    fn only_the_exact_pair_is_accepted() {
        let verifier = Basic::new("flowingly", &Secret::new("pa:ss word"));
        let now = Utc::now();
        assert_eq!(verifier.verify(&basic("flowingly", "pa:ss word"), b"", now), Ok(Verified::default()));
        assert_eq!(verifier.verify(&basic("flowingly", "pa:ss"), b"", now), Err(VerifyError::Mismatch));
        assert_eq!(verifier.verify(&basic("Flowingly", "pa:ss word"), b"", now), Err(VerifyError::Mismatch));
        assert_eq!(verifier.verify(&HeaderMap::new(), b"", now), Err(VerifyError::Missing("authorization")));
        assert_eq!(
            verifier.verify(&with_authorization("Basic !!!"), b"", now),
            Err(VerifyError::Malformed("authorization"))
        );
        let no_colon = format!("Basic {}", STANDARD.encode("flowingly"));
        assert_eq!(
            verifier.verify(&with_authorization(&no_colon), b"", now),
            Err(VerifyError::Malformed("authorization"))
        );
        assert_eq!(
            verifier.verify(&with_authorization("Bearer abc"), b"", now),
            Err(VerifyError::Malformed("authorization"))
        );
    }
}
