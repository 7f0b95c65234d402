//! Flock referral-campaign signatures: `X-Flock-Signature` = hex HMAC-SHA256 of the
//! request body, keyed with the shared secret as UTF-8 bytes.
//!
//! The seed document's prose says the timestamp and the `data` object are signed,
//! but its code signs `JSON.stringify(payload)` — the whole body as sent. We follow
//! the code: sign (and verify) the body bytes exactly as transmitted. Replay
//! protection comes from the `timestamp` field inside the payload.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::SignatureError;

/// Header carrying the hex signature.
pub const SIGNATURE_HEADER: &str = "X-Flock-Signature";

/// Lowercase hex HMAC-SHA256 of `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a hex signature against the body in constant time.
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> Result<(), SignatureError> {
    let given = hex::decode(signature.trim()).map_err(|_| SignatureError::MalformedHeader(SIGNATURE_HEADER))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_body_as_sent() {
        // Expected value from: echo -n '{"name":"invitee.accepted"}' | openssl dgst -sha256 -hmac 'your_shared_secret'
        let body = br#"{"name":"invitee.accepted"}"#;
        let signature = sign(b"your_shared_secret", body);
        assert_eq!(signature, "2bd4147d6edfa3ab6cf51cd592633a6650d756e51f5e89189968f94769b27aee");
        assert_eq!(verify(b"your_shared_secret", body, &signature), Ok(()));
        assert_eq!(verify(b"other", body, &signature), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"your_shared_secret", body, "zz"), Err(SignatureError::MalformedHeader(SIGNATURE_HEADER)));
    }
}
