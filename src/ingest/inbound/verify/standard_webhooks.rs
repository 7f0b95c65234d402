//! Standard Webhooks (Flowcode, Svix and every sender of the spec): the headers
//! `webhook-id`, `webhook-timestamp` (epoch seconds) and `webhook-signature`
//! (space-separated `v1,<base64>` values) over `"{id}.{timestamp}.{body}"`, keyed
//! with each `whsec_` secret base64-decoded. Any configured secret may match any
//! listed signature, so the sender can rotate its secret without a gap.
//!
//! Svix sends the same three headers as `svix-id`, `svix-timestamp` and
//! `svix-signature`, and both Svix libraries accept either spelling; so do we,
//! header by header, preferring the `webhook-*` name when both are present.
//!
//! The HMAC and the timestamp window are `crate::signing::standard_webhooks`,
//! the same code the relay signs its own deliveries with.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

use super::header;
use crate::ingest::inbound::{Verified, Verifier, VerifyError, MAX_EVENT_ID_LEN, TIMESTAMP_TOLERANCE_SECS};
use crate::secret::Secret;
use crate::signing::standard_webhooks::{
    verify, SigningKey, ID_HEADER, SIGNATURE_HEADER, SVIX_ID_HEADER, SVIX_SIGNATURE_HEADER, SVIX_TIMESTAMP_HEADER,
    TIMESTAMP_HEADER,
};
use crate::signing::SignatureError;

/// Verifies Standard Webhooks signatures against every active secret.
pub struct StandardWebhooks {
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for StandardWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardWebhooks").field("secrets", &self.keys.len()).finish()
    }
}

impl StandardWebhooks {
    /// Decodes the secrets. One that does not decode (validation prevents it) is
    /// left out with a warning naming its position; with none left, every
    /// request is refused — the verifier fails closed.
    pub fn new(source_id: &str, secrets: &[Secret]) -> Self {
        let keys = secrets
            .iter()
            .enumerate()
            .filter_map(|(index, secret)| match SigningKey::from_secret(secret.expose()) {
                Ok(key) => Some(key),
                Err(error) => {
                    tracing::warn!(source = %source_id, index, %error, "A source secret does not decode; it is ignored.");
                    None
                }
            })
            .collect();
        Self { keys }
    }
}

impl Verifier for StandardWebhooks {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Result<Verified, VerifyError> {
        let id = either(headers, ID_HEADER, SVIX_ID_HEADER)?;
        let timestamp = either(headers, TIMESTAMP_HEADER, SVIX_TIMESTAMP_HEADER)?;
        let signatures = either(headers, SIGNATURE_HEADER, SVIX_SIGNATURE_HEADER)?;
        if id.is_empty() || id.len() > MAX_EVENT_ID_LEN || id.contains(|ch: char| ch.is_whitespace()) {
            return Err(VerifyError::Malformed(ID_HEADER));
        }
        if self.keys.is_empty() {
            return Err(VerifyError::Mismatch);
        }
        verify(&self.keys, id, timestamp, signatures, body, now.timestamp(), TIMESTAMP_TOLERANCE_SECS).map_err(
            |error| match error {
                SignatureError::MissingHeader(name) => VerifyError::Missing(name),
                SignatureError::MalformedHeader(name) => VerifyError::Malformed(name),
                SignatureError::StaleTimestamp => VerifyError::Stale,
                SignatureError::Mismatch | SignatureError::BadSecret(_) | SignatureError::ShortSecret(_) => {
                    VerifyError::Mismatch
                }
            },
        )?;
        Ok(Verified {
            event_id: Some(id.to_owned()),
            // `verify` parsed it already; parsing cannot fail here.
            timestamp: timestamp.trim().parse().ok(),
            credential_field: None,
        })
    }
}

/// The `name` header, or else its Svix spelling `svix_name`; a refusal names
/// the Standard Webhooks header.
fn either<'a>(headers: &'a HeaderMap, name: &'static str, svix_name: &'static str) -> Result<&'a str, VerifyError> {
    match header(headers, name) {
        Err(VerifyError::Missing(_)) => header(headers, svix_name).map_err(|error| match error {
            VerifyError::Missing(_) => VerifyError::Missing(name),
            VerifyError::Malformed(_) => VerifyError::Malformed(name),
            other => other,
        }),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().expect("valid time")
    }

    fn headers(id: &str, timestamp: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [(ID_HEADER, id), (TIMESTAMP_HEADER, timestamp), (SIGNATURE_HEADER, signature)] {
            headers.insert(name, value.parse().expect("valid header"));
        }
        headers
    }

    #[test]
    fn the_reference_vector_verifies_at_its_own_time() {
        // standard-webhooks libraries' shared sign() test vector.
        let verifier = StandardWebhooks::new("t", &[Secret::new(SECRET)]);
        let headers =
            headers("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let verified = verifier.verify(&headers, br#"{"test": 2432232314}"#, at(1_614_265_330)).expect("verifies");
        assert_eq!(verified.event_id.as_deref(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
        assert_eq!(verified.timestamp, Some(1_614_265_330));
        assert_eq!(
            verifier.verify(&headers, br#"{"test": 2432232315}"#, at(1_614_265_330)),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verifier.verify(&headers, br#"{"test": 2432232314}"#, at(1_614_265_331 + 300)),
            Err(VerifyError::Stale)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_named() {
        let verifier = StandardWebhooks::new("t", &[Secret::new(SECRET)]);
        let mut partial = headers("msg_1", "1614265330", "v1,AAAA");
        partial.remove(SIGNATURE_HEADER);
        assert_eq!(verifier.verify(&partial, b"{}", at(1_614_265_330)), Err(VerifyError::Missing(SIGNATURE_HEADER)));
        let spaced = headers("msg 1", "1614265330", "v1,AAAA");
        assert_eq!(verifier.verify(&spaced, b"{}", at(1_614_265_330)), Err(VerifyError::Malformed(ID_HEADER)));
        let stamp = headers("msg_1", "soon", "v1,AAAA");
        assert_eq!(verifier.verify(&stamp, b"{}", at(1_614_265_330)), Err(VerifyError::Malformed(TIMESTAMP_HEADER)));
    }

    #[test]
    fn the_svix_spelling_of_each_header_is_accepted() {
        let verifier = StandardWebhooks::new("t", &[Secret::new(SECRET)]);
        let vector = ["msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="];
        let body = br#"{"test": 2432232314}"#;
        let mut svix = HeaderMap::new();
        for (name, value) in [SVIX_ID_HEADER, SVIX_TIMESTAMP_HEADER, SVIX_SIGNATURE_HEADER].into_iter().zip(vector) {
            svix.insert(name, value.parse().expect("valid header"));
        }
        let verified = verifier.verify(&svix, body, at(1_614_265_330)).expect("verifies");
        assert_eq!(verified.event_id.as_deref(), Some(vector[0]));
        // Mixed spellings work header by header; a missing one is named as webhook-*.
        let mut mixed = headers(vector[0], vector[1], vector[2]);
        mixed.remove(TIMESTAMP_HEADER);
        mixed.insert(SVIX_TIMESTAMP_HEADER, vector[1].parse().expect("valid header"));
        assert!(verifier.verify(&mixed, body, at(1_614_265_330)).is_ok());
        svix.remove(SVIX_SIGNATURE_HEADER);
        assert_eq!(verifier.verify(&svix, body, at(1_614_265_330)), Err(VerifyError::Missing(SIGNATURE_HEADER)));
    }

    #[test]
    fn without_a_usable_secret_everything_is_refused() {
        let verifier = StandardWebhooks::new("t", &[Secret::new("not-a-whsec")]);
        let key = SigningKey::from_secret(SECRET).expect("valid");
        let headers = headers("msg_1", "1700000000", &key.sign("msg_1", 1_700_000_000, b"{}"));
        assert_eq!(verifier.verify(&headers, b"{}", at(1_700_000_000)), Err(VerifyError::Mismatch));
    }
}
