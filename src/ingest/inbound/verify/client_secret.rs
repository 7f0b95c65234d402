//! A shared client secret (Flowingly's "Client Secret" option): Flowingly puts
//! the configured secret into the message it sends. It is looked for in a
//! top-level field of the JSON body (default `client_secret`) or, when the source
//! names one, in a header. Compared in constant time.
//!
//! A body field that carried the secret is reported in
//! [`Verified::credential_field`] so the payload is relayed without it.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::secrets_equal;
use crate::ingest::inbound::{Verified, Verifier, VerifyError};
use crate::secret::Secret;

/// The body field used when a source names neither field nor header.
pub const DEFAULT_FIELD: &str = "client_secret";

/// Where the secret travels.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Carrier {
    Field(String),
    Header(String),
}

/// Verifies a client secret carried in the body or a header.
pub struct ClientSecret {
    secret: Secret,
    carrier: Carrier,
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecret").field("carrier", &self.carrier).finish()
    }
}

impl ClientSecret {
    /// A header, when named, wins over a field (validation allows only one).
    pub fn new(secret: Secret, field: Option<&str>, header: Option<&str>) -> Self {
        let carrier = match header {
            Some(header) => Carrier::Header(header.to_ascii_lowercase()),
            None => Carrier::Field(field.unwrap_or(DEFAULT_FIELD).to_owned()),
        };
        Self { secret, carrier }
    }
}

impl Verifier for ClientSecret {
    fn verify(&self, headers: &HeaderMap, body: &[u8], _now: DateTime<Utc>) -> Result<Verified, VerifyError> {
        let (presented, credential_field) = match &self.carrier {
            Carrier::Header(name) => {
                let value = headers.get(name.as_str()).ok_or(VerifyError::Missing("client secret header"))?;
                (value.as_bytes().to_vec(), None)
            }
            Carrier::Field(field) => {
                // Without a readable body there is no credential: a refusal, not a 400,
                // so an unauthenticated caller learns nothing about the body rules.
                let document: Value =
                    serde_json::from_slice(body).map_err(|_| VerifyError::Missing("client secret field"))?;
                match document.get(field) {
                    Some(Value::String(text)) => (text.as_bytes().to_vec(), Some(field.clone())),
                    Some(_) => return Err(VerifyError::Malformed("client secret field")),
                    None => return Err(VerifyError::Missing("client secret field")),
                }
            }
        };
        if secrets_equal(self.secret.expose().as_bytes(), &presented) {
            Ok(Verified { event_id: None, timestamp: None, credential_field })
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_found_in_the_default_body_field() {
        let verifier = ClientSecret::new(Secret::new("shh-0123456789"), None, None);
        let now = Utc::now();
        let verified = verifier.verify(&HeaderMap::new(), br#"{"client_secret":"shh-0123456789","step":"x"}"#, now);
        assert_eq!(verified.map(|verified| verified.credential_field), Ok(Some("client_secret".into())));
        let wrong = verifier.verify(&HeaderMap::new(), br#"{"client_secret":"shh-012345678"}"#, now);
        assert_eq!(wrong, Err(VerifyError::Mismatch));
        assert_eq!(
            verifier.verify(&HeaderMap::new(), br#"{"step":"x"}"#, now),
            Err(VerifyError::Missing("client secret field"))
        );
        assert_eq!(
            verifier.verify(&HeaderMap::new(), b"garbage", now),
            Err(VerifyError::Missing("client secret field"))
        );
        assert_eq!(
            verifier.verify(&HeaderMap::new(), br#"{"client_secret":5}"#, now),
            Err(VerifyError::Malformed("client secret field"))
        );
    }

    #[test]
    fn a_named_header_carries_it_instead() {
        let verifier = ClientSecret::new(Secret::new("shh-0123456789"), None, Some("X-Client-Secret"));
        let mut headers = HeaderMap::new();
        let body = br#"{"client_secret":"shh-0123456789"}"#;
        assert_eq!(verifier.verify(&headers, body, Utc::now()), Err(VerifyError::Missing("client secret header")));
        headers.insert("x-client-secret", "shh-0123456789".parse().expect("valid header"));
        assert_eq!(verifier.verify(&headers, b"{}", Utc::now()), Ok(Verified::default()));
    }
}
