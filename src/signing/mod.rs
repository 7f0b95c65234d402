//! HMAC signatures shared by both directions: the relay signs what it sends
//! (`notify::generic`) and verifies what other systems send it, with the same code.
//!
//! Pure functions over bytes; no I/O, no clock (callers pass the time).

pub mod flock_hmac;
pub mod json_stringify;
pub mod standard_webhooks;

/// Why a signature or a signing secret was refused. Never carries secret material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signing secret must look like `whsec_<base64>`: {0}")]
    BadSecret(&'static str),
    #[error(
        "signing secret is too short: the key after whsec_ decodes to {0} bytes, and Standard Webhooks \
         keys are at least 24 bytes (192 bits); senders such as Svix use 24 or 32"
    )]
    ShortSecret(usize),
    #[error("missing `{0}` header")]
    MissingHeader(&'static str),
    #[error("`{0}` header is malformed")]
    MalformedHeader(&'static str),
    #[error("timestamp is outside the accepted window")]
    StaleTimestamp,
    #[error("no signature matches")]
    Mismatch,
}
