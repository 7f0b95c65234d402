//! Flock referral-campaign webhooks: `X-Flock-Signature` is the hex
//! HMAC-SHA256, keyed with the shared secret, of **the JSON body exactly as
//! sent**; the body's `timestamp` (epoch seconds) must be within five minutes.
//!
//! What is signed: the seed document's prose says "the concatenated timestamp
//! and the JSON string of the data object", but its code signs
//! `JSON.stringify(payload)` — the whole body as Flock serialized it. We verify
//! the code's form, over the raw bytes (re-serializing would change them). The
//! example signature in the document (`abcdef1234…`, 48 hex digits) is a
//! placeholder: an HMAC-SHA256 has 64, so it verifies under no secret.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::header;
use crate::ingest::inbound::{Verified, Verifier, VerifyError, TIMESTAMP_TOLERANCE_SECS};
use crate::secret::Secret;
use crate::signing::flock_hmac::verify;

/// The header, as the HTTP layer spells it (lowercase).
pub const SIGNATURE_HEADER: &str = "x-flock-signature";

/// Verifies `X-Flock-Signature` and the payload timestamp.
pub struct FlockHmac {
    secret: Secret,
}

impl std::fmt::Debug for FlockHmac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FlockHmac")
    }
}

impl FlockHmac {
    /// Verifies with this shared secret (used as its UTF-8 bytes, as Flock's code does).
    pub fn new(secret: Secret) -> Self {
        Self { secret }
    }
}

impl Verifier for FlockHmac {
    fn verify(&self, headers: &HeaderMap, body: &[u8], now: DateTime<Utc>) -> Result<Verified, VerifyError> {
        let signature = header(headers, SIGNATURE_HEADER)?;
        // Hex decoding and the HMAC comparison (constant-time) are shared with signing.
        verify(self.secret.expose().as_bytes(), body, signature).map_err(|_| VerifyError::Mismatch)?;
        let timestamp = payload_timestamp(body)?;
        if (now.timestamp() - timestamp).abs() > TIMESTAMP_TOLERANCE_SECS {
            return Err(VerifyError::Stale);
        }
        Ok(Verified { event_id: None, timestamp: Some(timestamp), credential_field: None })
    }
}

/// The body's `timestamp` in epoch seconds: a number or a numeric string;
/// 13-digit values are taken as milliseconds.
fn payload_timestamp(body: &[u8]) -> Result<i64, VerifyError> {
    let document: Value =
        serde_json::from_slice(body).map_err(|_| VerifyError::Payload("the body is not JSON".into()))?;
    let missing = || VerifyError::Payload("`timestamp` must be epoch seconds".into());
    let seconds = match document.get("timestamp") {
        Some(Value::Number(number)) => number.as_f64().ok_or_else(missing)?,
        Some(Value::String(text)) => text.trim().parse::<f64>().map_err(|_| missing())?,
        _ => return Err(missing()),
    };
    if !seconds.is_finite() {
        return Err(missing());
    }
    let seconds = if seconds.abs() > 1e11 { seconds / 1000.0 } else { seconds };
    // Clamped: any value this far out is refused as stale anyway.
    Ok(seconds.clamp(-1e15, 1e15) as i64)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::signing::flock_hmac::sign;

    /// The seed's `invitee.accepted` example as `JSON.stringify` sends it.
    const SEED_BODY: &str = r#"{"name":"invitee.accepted","entity":"invitee","entityId":"customer_67890","data":{"campaignId":"campaign_12345","referrer":{"id":"customer_12345"},"invitee":{"id":"customer_67890"},"inviteeReward":{"id":"c_reward_12345"},"referrerReward":{"id":"c_reward_67890"}},"timestamp":1641234567}"#;
    /// hex HMAC-SHA256 of SEED_BODY with `your_shared_secret`, computed with
    /// Python's hmac module (an independent implementation).
    const SEED_SIGNATURE: &str = "3c6f9b6c6bbd29fe46d25a0e6ad20558325d476cbc4c7d9a5aadf98651ec5cc1";

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(seconds, 0).single().expect("valid time")
    }

    fn signed(signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("X-Flock-Signature", signature.parse().expect("valid header"));
        headers
    }

    #[test]
    fn the_seed_example_verifies_against_its_secret_at_its_time() {
        let verifier = FlockHmac::new(Secret::new("your_shared_secret"));
        let verified =
            verifier.verify(&signed(SEED_SIGNATURE), SEED_BODY.as_bytes(), at(1_641_234_567 + 299)).expect("verifies");
        assert_eq!(verified.timestamp, Some(1_641_234_567));
        assert_eq!(sign(b"your_shared_secret", SEED_BODY.as_bytes()), SEED_SIGNATURE);
    }

    #[test]
    fn the_seed_placeholder_signature_and_tampering_are_refused() {
        let verifier = FlockHmac::new(Secret::new("your_shared_secret"));
        let now = at(1_641_234_567);
        let placeholder = "abcdef1234567890abcdef1234567890abcdef1234567890";
        assert_eq!(verifier.verify(&signed(placeholder), SEED_BODY.as_bytes(), now), Err(VerifyError::Mismatch));
        let tampered = SEED_BODY.replace("customer_67890", "customer_00000");
        assert_eq!(verifier.verify(&signed(SEED_SIGNATURE), tampered.as_bytes(), now), Err(VerifyError::Mismatch));
        let other = FlockHmac::new(Secret::new("another_secret"));
        assert_eq!(other.verify(&signed(SEED_SIGNATURE), SEED_BODY.as_bytes(), now), Err(VerifyError::Mismatch));
        assert_eq!(
            verifier.verify(&HeaderMap::new(), SEED_BODY.as_bytes(), now),
            Err(VerifyError::Missing(SIGNATURE_HEADER))
        );
        assert_eq!(verifier.verify(&signed("not hex"), SEED_BODY.as_bytes(), now), Err(VerifyError::Mismatch));
    }

    #[test]
    fn the_payload_timestamp_must_be_recent_and_present() {
        let verifier = FlockHmac::new(Secret::new("s"));
        let check =
            |body: &str, now: i64| verifier.verify(&signed(&sign(b"s", body.as_bytes())), body.as_bytes(), at(now));
        assert!(check(r#"{"timestamp":1700000000}"#, 1_700_000_300).is_ok());
        assert!(check(r#"{"timestamp":"1700000000"}"#, 1_699_999_700).is_ok());
        assert!(check(r#"{"timestamp":1700000000000}"#, 1_700_000_000).is_ok(), "milliseconds");
        assert_eq!(check(r#"{"timestamp":1700000000}"#, 1_700_000_301), Err(VerifyError::Stale), "expired");
        assert_eq!(check(r#"{"timestamp":1700000000}"#, 1_699_999_699), Err(VerifyError::Stale), "future");
        assert!(matches!(check(r#"{"name":"x"}"#, 1_700_000_000), Err(VerifyError::Payload(_))));
        assert!(matches!(check("not json", 1_700_000_000), Err(VerifyError::Payload(_))));
        assert!(matches!(check(r#"{"timestamp":1e400}"#, 1_700_000_000), Err(VerifyError::Payload(_))));
        assert_eq!(check(r#"{"timestamp":-1e300}"#, 1_700_000_000), Err(VerifyError::Stale));
    }
}
