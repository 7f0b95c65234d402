//! Fuzz target bodies: each takes arbitrary bytes, must never panic, and checks
//! a property where one exists (a correctly signed request verifies; a wrong
//! credential never does; a mapped alert always belongs to its source's flock).
//!
//! They are library functions so that two runners share them: the cargo-fuzz
//! targets in `fuzz/fuzz_targets/` (coverage-guided, nightly only) and the
//! stable short run in `tests/it/fuzz.rs` (a corpus plus seeded random
//! mutations, part of `cargo test`). Test harness code: it asserts, and it is
//! not used by the relay itself.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::mapping::{Mapper, BUILT_IN};
use super::verify::{basic, bearer, client_secret, flock_hmac, standard_webhooks};
use super::{Scheme, Source, Verified, Verifier};
use crate::secret::Secret;
use crate::signing::standard_webhooks::SigningKey;

/// The fixed clock of every target: results must not depend on when it runs.
pub const NOW: i64 = 1_700_000_000;

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SHARED: &str = "fuzz-shared-secret";

/// A fuzz target body.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/corpus/<name>/` call them.
pub const TARGETS: [(&str, Target); 6] = [
    ("verify_standard_webhooks", verify_standard_webhooks),
    ("verify_flock_hmac", verify_flock_hmac),
    ("verify_basic", verify_basic),
    ("verify_client_secret", verify_client_secret),
    ("verify_bearer", verify_bearer),
    ("map_payload", map_payload),
];

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(NOW, 0).unwrap_or_default()
}

/// Splits `data` into `n` header values (one per line) and the body (the rest).
fn split(data: &[u8], n: usize) -> (Vec<&[u8]>, &[u8]) {
    let mut fields = Vec::with_capacity(n);
    let mut rest = data;
    for _ in 0..n {
        match rest.iter().position(|&byte| byte == b'\n') {
            Some(end) => {
                fields.push(&rest[..end]);
                rest = &rest[end + 1..];
            }
            None => {
                fields.push(rest);
                rest = &[];
            }
        }
    }
    (fields, rest)
}

/// Headers from (name, raw value) pairs; values HTTP cannot carry are left out,
/// as a server would never see them.
fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            map.append(HeaderName::from_static(name), value);
        }
    }
    map
}

/// Standard Webhooks: arbitrary `webhook-id`, `webhook-timestamp`,
/// `webhook-signature` and body. Then the same id and body, signed correctly
/// at a timestamp inside the window, must verify.
pub fn verify_standard_webhooks(data: &[u8]) {
    let verifier = standard_webhooks::StandardWebhooks::new("fuzz", &[Secret::new(WHSEC)]);
    let (fields, body) = split(data, 3);
    let raw = headers(&[("webhook-id", fields[0]), ("webhook-timestamp", fields[1]), ("webhook-signature", fields[2])]);
    let _ = verifier.verify(&raw, body, now());

    let Ok(id) = std::str::from_utf8(fields[0]) else { return };
    let acceptable =
        !id.is_empty() && id.len() <= super::MAX_EVENT_ID_LEN && id.bytes().all(|byte| byte.is_ascii_graphic());
    if !acceptable {
        return;
    }
    let key = SigningKey::from_secret(WHSEC).expect("the fuzz secret is valid");
    let skew = i64::from(fields[1].first().copied().unwrap_or(0)) - 128;
    let timestamp = NOW + skew;
    let signature = key.sign(id, timestamp, body);
    let signed = headers(&[
        ("webhook-id", id.as_bytes()),
        ("webhook-timestamp", timestamp.to_string().as_bytes()),
        ("webhook-signature", signature.as_bytes()),
    ]);
    let verified = verifier.verify(&signed, body, now()).expect("a correctly signed request verifies");
    assert_eq!(verified.event_id.as_deref(), Some(id));
}

/// Flock: arbitrary `X-Flock-Signature` and body; then the body signed with the
/// shared secret must pass the signature check (it may still be refused for its
/// timestamp, never for its signature).
pub fn verify_flock_hmac(data: &[u8]) {
    let verifier = flock_hmac::FlockHmac::new(Secret::new(SHARED));
    let (fields, body) = split(data, 1);
    let _ = verifier.verify(&headers(&[("x-flock-signature", fields[0])]), body, now());

    let signature = crate::signing::flock_hmac::sign(SHARED.as_bytes(), body);
    let result = verifier.verify(&headers(&[("x-flock-signature", signature.as_bytes())]), body, now());
    assert_ne!(result, Err(super::VerifyError::Mismatch), "a correct signature is never a mismatch");
}

/// Basic: an arbitrary `Authorization` header is refused unless it is exactly
/// the expected credentials; the expected ones are accepted.
pub fn verify_basic(data: &[u8]) {
    let verifier = basic::Basic::new("flowingly", &Secret::new(SHARED));
    let (fields, body) = split(data, 1);
    let expected = format!("Basic {}", STANDARD.encode(format!("flowingly:{SHARED}")));
    let result = verifier.verify(&headers(&[("authorization", fields[0])]), body, now());
    if result.is_ok() {
        let presented = std::str::from_utf8(fields[0]).unwrap_or_default();
        let credentials = presented.trim().split_once(' ').map(|(_, rest)| rest.trim()).unwrap_or_default();
        assert_eq!(STANDARD.decode(credentials).ok(), Some(format!("flowingly:{SHARED}").into_bytes()));
    }
    assert!(verifier.verify(&headers(&[("authorization", expected.as_bytes())]), body, now()).is_ok());
}

/// Client secret in a body field or a header: only the secret itself passes.
pub fn verify_client_secret(data: &[u8]) {
    let in_body = client_secret::ClientSecret::new(Secret::new(SHARED), None, None);
    let in_header = client_secret::ClientSecret::new(Secret::new(SHARED), None, Some("x-client-secret"));
    let (fields, body) = split(data, 1);
    let header_map = headers(&[("x-client-secret", fields[0])]);
    if in_header.verify(&header_map, body, now()).is_ok() {
        assert_eq!(fields[0], SHARED.as_bytes());
    }
    if let Ok(verified) = in_body.verify(&header_map, body, now()) {
        let document: Value = serde_json::from_slice(body).expect("accepted bodies are JSON");
        assert_eq!(document.get("client_secret").and_then(Value::as_str), Some(SHARED));
        assert_eq!(verified.credential_field.as_deref(), Some(client_secret::DEFAULT_FIELD));
    }
}

/// Bearer: only the token passes.
pub fn verify_bearer(data: &[u8]) {
    let verifier = bearer::Bearer::new(Secret::new(SHARED));
    let (fields, body) = split(data, 1);
    if verifier.verify(&headers(&[("authorization", fields[0])]), body, now()).is_ok() {
        let presented = std::str::from_utf8(fields[0]).unwrap_or_default();
        assert_eq!(presented.trim().split_once(' ').map(|(_, token)| token.trim()), Some(SHARED));
    }
}

fn mapper() -> &'static Mapper {
    static MAPPER: OnceLock<Mapper> = OnceLock::new();
    MAPPER.get_or_init(|| Mapper::built_in().expect("built-in mapping templates parse"))
}

/// Payload to alert with every built-in template: the body as JSON (or, when it
/// is not JSON, as a string). A mapped alert always belongs to the source's
/// flock and has an id within the limits (ingest adds the source's namespace).
pub fn map_payload(data: &[u8]) {
    let payload: Value =
        serde_json::from_slice(data).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into_owned()));
    let event_id = std::str::from_utf8(data.get(..data.len().min(16)).unwrap_or_default()).ok().map(str::to_owned);
    let verified = Verified { event_id, timestamp: Some(NOW), credential_field: None };
    for (template, _) in BUILT_IN {
        let source = Source {
            id: "fuzz".into(),
            flock: "flock:fuzz".into(),
            enabled: true,
            scheme: Scheme::None,
            template: Some(template.to_owned()),
        };
        if let Ok(alert) = mapper().map(&source, &verified, &payload, now()) {
            assert_eq!(alert.flock_id, "flock:fuzz");
            assert!(!alert.id.trim().is_empty(), "{template}: a mapped alert always has an id");
            assert!(alert.id.chars().count() <= crate::limits::ALERT_ID, "{template}: {}", alert.id);
            assert!(!alert.id.contains('\0') && !alert.kind.contains('\0'), "{template}: NUL passed the limits");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_takes_lines_then_the_rest() {
        let (fields, body) = split(b"a\nb\nrest\nmore", 2);
        assert_eq!((fields, body), (vec![&b"a"[..], &b"b"[..]], &b"rest\nmore"[..]));
        let (fields, body) = split(b"only", 3);
        assert_eq!((fields, body), (vec![&b"only"[..], &b""[..], &b""[..]], &b""[..]));
    }

    #[test]
    fn every_target_accepts_empty_and_simple_input() {
        for (_, target) in TARGETS {
            target(b"");
            target(b"\n\n\n{}");
        }
    }
}
