//! Standard Webhooks signatures (the scheme Svix, Flowcode and others use):
//! `webhook-signature: v1,<base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}"))>`,
//! several space-separated while a secret is being rotated.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SignatureError;

/// Header carrying the message id (the same for every attempt of one message).
pub const ID_HEADER: &str = "webhook-id";
/// Header carrying the signing time in epoch seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Header carrying the space-separated `v1,<base64>` signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// `webhook-id` as Svix names it. Svix's libraries send and accept either
/// spelling of the three headers.
pub const SVIX_ID_HEADER: &str = "svix-id";
/// `webhook-timestamp` as Svix names it.
pub const SVIX_TIMESTAMP_HEADER: &str = "svix-timestamp";
/// `webhook-signature` as Svix names it.
pub const SVIX_SIGNATURE_HEADER: &str = "svix-signature";

/// Prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Shortest key the spec allows: "between 24 bytes (192 bits) and 64 bytes".
pub const MIN_KEY_BYTES: usize = 24;

/// Checks a secret someone is configuring: it must decode ([`SigningKey::from_secret`])
/// to a key of at least [`MIN_KEY_BYTES`]. Keys already stored are not
/// re-checked when used, so a relay keeps working with what it has.
pub fn check_secret(secret: &str) -> Result<(), SignatureError> {
    let key = SigningKey::from_secret(secret)?;
    if key.0.len() < MIN_KEY_BYTES {
        return Err(SignatureError::ShortSecret(key.0.len()));
    }
    Ok(())
}

/// A decoded signing key.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Decodes a `whsec_<base64>` secret.
    pub fn from_secret(secret: &str) -> Result<Self, SignatureError> {
        let encoded =
            secret.strip_prefix(SECRET_PREFIX).ok_or(SignatureError::BadSecret("it does not start with whsec_"))?;
        let bytes =
            STANDARD.decode(encoded).map_err(|_| SignatureError::BadSecret("the part after whsec_ is not base64"))?;
        if bytes.is_empty() {
            return Err(SignatureError::BadSecret("the key is empty"));
        }
        Ok(Self(bytes))
    }

    /// `v1,<base64 signature>` for one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.tag(msg_id, timestamp, body);
        format!("v1,{}", STANDARD.encode(tag))
    }

    fn tag(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(********)")
    }
}

/// The `webhook-signature` value: one signature per key, space-separated.
pub fn signature_header(keys: &[SigningKey], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter().map(|key| key.sign(msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

/// Verifies a message: the timestamp must be within `tolerance_secs` of `now`, and
/// at least one `v1` signature in the header must match one of the keys.
/// Comparison is constant-time.
pub fn verify(
    keys: &[SigningKey],
    msg_id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let timestamp: i64 = timestamp.trim().parse().map_err(|_| SignatureError::MalformedHeader(TIMESTAMP_HEADER))?;
    // abs_diff: a hostile timestamp such as i64::MIN must not overflow.
    if now.abs_diff(timestamp) > tolerance_secs.unsigned_abs() {
        return Err(SignatureError::StaleTimestamp);
    }
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .collect();
    if candidates.is_empty() {
        return Err(SignatureError::MalformedHeader(SIGNATURE_HEADER));
    }
    let signed_prefix = format!("{msg_id}.{timestamp}.");
    for key in keys {
        for candidate in &candidates {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC accepts keys of any length");
            mac.update(signed_prefix.as_bytes());
            mac.update(body);
            if mac.verify_slice(candidate).is_ok() {
                return Ok(());
            }
        }
    }
    Err(SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_must_be_whsec_base64() {
        assert!(SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
        assert_eq!(
            SigningKey::from_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").err(),
            Some(SignatureError::BadSecret("it does not start with whsec_"))
        );
        assert!(SigningKey::from_secret("whsec_not*base64").is_err());
        assert!(SigningKey::from_secret("whsec_").is_err());
    }

    #[test]
    fn a_configured_secret_must_decode_to_at_least_24_bytes() {
        assert_eq!(check_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), Ok(()), "24 bytes");
        // base64 of 23 bytes ("twenty-three-bytes-long")
        assert_eq!(check_secret("whsec_dHdlbnR5LXRocmVlLWJ5dGVzLWxvbmc="), Err(SignatureError::ShortSecret(23)));
        assert!(check_secret("whsec_").is_err());
        assert!(check_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
    }

    #[test]
    fn verify_accepts_own_signature_and_refuses_tampering() {
        let key = SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid secret");
        let header = signature_header(std::slice::from_ref(&key), "msg_1", 1_700_000_000, b"{\"a\":1}");
        let keys = [key];
        assert_eq!(verify(&keys, "msg_1", "1700000000", &header, b"{\"a\":1}", 1_700_000_010, 300), Ok(()));
        assert_eq!(
            verify(&keys, "msg_1", "1700000000", &header, b"{\"a\":2}", 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&keys, "msg_2", "1700000000", &header, b"{\"a\":1}", 1_700_000_010, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&keys, "msg_1", "1700000000", &header, b"{\"a\":1}", 1_700_001_000, 300),
            Err(SignatureError::StaleTimestamp)
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_an_overflow() {
        let key = SigningKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("valid secret");
        for timestamp in [i64::MIN.to_string(), i64::MAX.to_string()] {
            assert_eq!(
                verify(std::slice::from_ref(&key), "msg_1", &timestamp, "v1,AAAA", b"", 1_700_000_000, 300),
                Err(SignatureError::StaleTimestamp)
            );
        }
    }
}
