//! `Secret`: a string that never shows itself. Tokens, passwords, header values
//! and signing keys are held in it so that `Debug`, `Display` and logs print a
//! mask; only code that must put the value on the wire calls `expose`.

use serde::{Deserialize, Serialize};

/// What every masked value prints as.
pub const MASK: &str = "********";

/// A secret string: deserializes from a plain string, prints as `********`.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The real value, for the wire only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The mask with the last four characters, as the Canary API shows HEC tokens;
    /// short secrets are fully masked so the tail cannot give most of them away.
    pub fn last4(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() < 12 {
            return MASK.to_owned();
        }
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{MASK}{tail}")
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

/// A connection URL with its password (if any) replaced by the mask, for errors
/// and logs.
pub fn redact_url_password(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            // Setting a password fails only for URLs that cannot have one.
            let _ = url.set_password(Some(MASK));
            url.to_string()
        }
        Ok(_) => text.to_owned(),
        Err(_) => MASK.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret} {secret:?}"), format!("{MASK} {MASK}"));
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }

    #[test]
    fn last4_shows_only_the_tail_of_long_secrets() {
        assert_eq!(Secret::new("0123456789abcdef").last4(), format!("{MASK}cdef"));
        assert_eq!(Secret::new("short").last4(), MASK);
    }
}
