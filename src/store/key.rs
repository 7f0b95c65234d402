//! The secret key: destination and source settings hold tokens, passwords,
//! signing secrets and secret URLs, and are stored encrypted with it
//! (XChaCha20-Poly1305, RustCrypto's `chacha20poly1305`).
//!
//! A sealed value is `enc:v1:<base64(24-byte random nonce ‖ ciphertext+tag)>`;
//! the version prefix lets the format evolve, and plaintext JSON (`{…}`) is
//! recognised as written by a relay of an earlier version. The associated data
//! names the table and the row id, so a sealed value copied into another row
//! does not open.
//!
//! The key is 32 random bytes, kept base64-encoded in `store.secret_key_file`
//! (`data/secret_key`, mode 0600, generated at first start) or given as
//! `store.secret_key`. The database keeps a check value (an HMAC of a constant
//! under the key), so a relay started with another key refuses to start with
//! a clear message instead of reading garbage.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::files;
use crate::secret::Secret;

/// The prefix of every value sealed with the current format.
pub const SEALED_V1: &str = "enc:v1:";

/// Key length in bytes.
pub const KEY_LEN: usize = 32;

const NONCE_LEN: usize = 24;

/// Why the key cannot be used or a sealed value not opened.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("must be {KEY_LEN} random bytes in base64 (e.g. the output of `openssl rand -base64 32`)")]
    Malformed,
    #[error("store.secret_key {0}")]
    Configured(Box<KeyError>),
    #[error("cannot read the secret key file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("the secret key file {path} {reason}")]
    BadFile { path: String, reason: String },
    #[error("the secret key file {path} does not exist: `flockrelay serve` creates it at first start (or set store.secret_key)")]
    Missing { path: String },
    #[error("cannot write the secret key file {path}: {source}")]
    Write { path: String, source: std::io::Error },
    #[error("cannot decrypt: the value was not sealed with this secret key for this row")]
    Open,
    #[error("sealed in an unknown format `{0}` (written by a newer relay?)")]
    Format(String),
}

/// The key that seals secrets in the store. Never printed.
#[derive(Clone)]
pub struct SecretKey {
    key: Key,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id())
    }
}

impl SecretKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self { key: XChaCha20Poly1305::generate_key(&mut OsRng) }
    }

    /// A key from its base64 text (`store.secret_key` or the key file).
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| KeyError::Malformed)?;
        if bytes.len() != KEY_LEN {
            return Err(KeyError::Malformed);
        }
        Ok(Self { key: *Key::from_slice(&bytes) })
    }

    /// The base64 text the key file holds.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.key.as_slice())
    }

    /// What the database keeps to recognise the key: an HMAC of a constant
    /// under the key (it reveals nothing about the key).
    pub fn check_value(&self) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice()) else {
            // HMAC takes keys of any length.
            return String::new();
        };
        mac.update(b"flockrelay secret key check v1");
        hex::encode(mac.finalize().into_bytes())
    }

    /// A short public name of the key (the start of its check value), for
    /// messages that must tell two keys apart.
    pub fn id(&self) -> String {
        self.check_value().chars().take(8).collect()
    }

    /// Seals `plaintext` for the row `row` (e.g. `destinations:soc_hec`).
    pub fn seal(&self, row: &str, plaintext: &str) -> String {
        let cipher = XChaCha20Poly1305::new(&self.key);
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption fails only for messages beyond what memory can hold.
        let ciphertext = cipher.encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: row.as_bytes() });
        let mut sealed = nonce.to_vec();
        sealed.extend(ciphertext.unwrap_or_default());
        format!("{SEALED_V1}{}", STANDARD.encode(sealed))
    }

    /// The plaintext of a stored value of the row `row`: sealed values are
    /// opened, plaintext JSON (an earlier version's) is returned as it is.
    pub fn open(&self, row: &str, stored: &str) -> Result<String, KeyError> {
        if !is_sealed(stored) {
            return Ok(stored.to_owned());
        }
        let Some(encoded) = stored.strip_prefix(SEALED_V1) else {
            let format: Vec<&str> = stored.splitn(3, ':').take(2).collect();
            return Err(KeyError::Format(format.join(":").chars().take(20).collect()));
        };
        let bytes = STANDARD.decode(encoded).map_err(|_| KeyError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(KeyError::Open);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(&self.key);
        let plaintext = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: row.as_bytes() })
            .map_err(|_| KeyError::Open)?;
        String::from_utf8(plaintext).map_err(|_| KeyError::Open)
    }
}

/// Whether a stored value is sealed (in any format) rather than plaintext JSON.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with("enc:")
}

/// The key: `configured` (`store.secret_key`) when set, else the one in `file`,
/// which is generated (mode 0600, its directory 0700) when it does not exist.
/// The configured key, or the one in `file`, never a new one: commands other
/// than `serve` read the store with the relay's key, and a key made up by a
/// command run from another directory would only be a wrong key left behind.
pub fn load_existing(configured: Option<&Secret>, file: &Path) -> Result<SecretKey, KeyError> {
    if configured.is_none() && !file.exists() {
        return Err(KeyError::Missing { path: file.display().to_string() });
    }
    load_or_create(configured, file)
}

/// The configured key, or the one in `file`, generated there (mode 0600) when
/// there is none yet: what `serve` does at first start.
pub fn load_or_create(configured: Option<&Secret>, file: &Path) -> Result<SecretKey, KeyError> {
    if let Some(configured) = configured {
        return SecretKey::from_base64(configured.expose()).map_err(|error| KeyError::Configured(Box::new(error)));
    }
    let path = file.display().to_string();
    if file.exists() {
        files::warn_if_loose(file, "The secret key file");
        let text = std::fs::read_to_string(file).map_err(|source| KeyError::Read { path: path.clone(), source })?;
        return SecretKey::from_base64(&text)
            .map_err(|error| KeyError::BadFile { path, reason: format!("does not hold a usable key: it {error}") });
    }
    let key = SecretKey::generate();
    match files::write_private(file, &key.to_base64()) {
        Ok(()) => {}
        // Another instance starting at the same moment wrote it first: use its key.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            return load_or_create(None, file);
        }
        Err(source) => return Err(KeyError::Write { path, source }),
    }
    tracing::warn!(
        file = %path,
        "Generated the secret key that encrypts secrets in the store; back it up with the database."
    );
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let key = SecretKey::generate();
        let sealed = key.seal("destinations:hec", r#"{"token":"hunter2-hunter2"}"#);
        assert!(sealed.starts_with("enc:v1:"), "{sealed}");
        assert!(!sealed.contains("hunter2"));
        assert_ne!(sealed, key.seal("destinations:hec", r#"{"token":"hunter2-hunter2"}"#), "a fresh nonce each time");
        assert_eq!(key.open("destinations:hec", &sealed).expect("opens"), r#"{"token":"hunter2-hunter2"}"#);
        assert!(matches!(key.open("destinations:other", &sealed), Err(KeyError::Open)), "bound to its row");
        assert!(matches!(SecretKey::generate().open("destinations:hec", &sealed), Err(KeyError::Open)));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(key.open("destinations:hec", &tampered).is_err());
        assert_eq!(key.open("destinations:hec", "{\"plain\":1}").expect("plaintext passes"), "{\"plain\":1}");
        assert!(matches!(key.open("x", "enc:v9:AAAA"), Err(KeyError::Format(format)) if format == "enc:v9"));
    }

    #[test]
    fn keys_round_trip_through_base64_and_bad_ones_are_refused() {
        let key = SecretKey::generate();
        let again = SecretKey::from_base64(&key.to_base64()).expect("valid");
        assert_eq!(again.check_value(), key.check_value());
        assert_ne!(SecretKey::generate().check_value(), key.check_value());
        assert_eq!(key.id().len(), 8);
        assert!(!format!("{key:?}").contains(&key.to_base64()));
        for bad in ["", "not base64!", "c2hvcnQ=", &STANDARD.encode([0_u8; 33])] {
            assert!(matches!(SecretKey::from_base64(bad), Err(KeyError::Malformed)), "{bad}");
        }
    }
}
