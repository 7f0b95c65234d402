//! The [`Verifier`] implementations, one module per scheme, and the two helpers
//! they share: reading a header strictly, and comparing secrets in constant time.
//!
//! Every refusal is a [`VerifyError`] that names at most a header, never a secret.

pub mod basic;
pub mod bearer;
pub mod client_secret;
pub mod flock_hmac;
pub mod none;
pub mod standard_webhooks;

use axum::http::HeaderMap;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{Scheme, Verifier, VerifyError};

/// The verifier of a scheme. `source_id` only labels log lines.
pub fn for_scheme(source_id: &str, scheme: &Scheme) -> Box<dyn Verifier> {
    match scheme {
        Scheme::StandardWebhooks { secrets } => Box::new(standard_webhooks::StandardWebhooks::new(source_id, secrets)),
        Scheme::FlockHmac { secret } => Box::new(flock_hmac::FlockHmac::new(secret.clone())),
        Scheme::Basic { username, password } => Box::new(basic::Basic::new(username, password)),
        Scheme::ClientSecret { secret, field, header } => {
            Box::new(client_secret::ClientSecret::new(secret.clone(), field.as_deref(), header.as_deref()))
        }
        Scheme::Bearer { token } => Box::new(bearer::Bearer::new(token.clone())),
        Scheme::None => Box::new(none::NoVerification),
    }
}

/// A header's value as text: `Missing` when absent, `Malformed` when it is not
/// visible ASCII (the value is never echoed).
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, VerifyError> {
    let value = headers.get(name).ok_or(VerifyError::Missing(name))?;
    value.to_str().map_err(|_| VerifyError::Malformed(name))
}

/// Whether two secrets are equal, in time that depends on neither their contents
/// nor their lengths: both are hashed to 32 bytes first, then compared with
/// `subtle`.
pub(crate) fn secrets_equal(expected: &[u8], presented: &[u8]) -> bool {
    let expected = Sha256::digest(expected);
    let presented = Sha256::digest(presented);
    expected.ct_eq(&presented).into()
}

/// Splits `Authorization: <scheme> <credentials>`; the scheme name is
/// case-insensitive (RFC 9110).
pub(crate) fn authorization<'a>(headers: &'a HeaderMap, scheme: &str) -> Result<&'a str, VerifyError> {
    let value = header(headers, "authorization")?;
    let (name, credentials) = value.trim().split_once(' ').ok_or(VerifyError::Malformed("authorization"))?;
    if !name.eq_ignore_ascii_case(scheme) {
        return Err(VerifyError::Malformed("authorization"));
    }
    Ok(credentials.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content_whatever_their_lengths() {
        assert!(secrets_equal(b"s3cret", b"s3cret"));
        assert!(!secrets_equal(b"s3cret", b"s3cre"));
        assert!(!secrets_equal(b"s3cret", b"s3cret "));
        assert!(!secrets_equal(b"", b"x"));
        assert!(secrets_equal(b"", b""));
    }

    #[test]
    fn authorization_scheme_is_case_insensitive_and_required() {
        let mut headers = HeaderMap::new();
        assert_eq!(authorization(&headers, "Bearer"), Err(VerifyError::Missing("authorization")));
        headers.insert("authorization", "bearer  abc ".parse().expect("valid header"));
        assert_eq!(authorization(&headers, "Bearer"), Ok("abc"));
        assert_eq!(authorization(&headers, "Basic"), Err(VerifyError::Malformed("authorization")));
        headers.insert("authorization", "Bearer".parse().expect("valid header"));
        assert_eq!(authorization(&headers, "Bearer"), Err(VerifyError::Malformed("authorization")));
    }
}
