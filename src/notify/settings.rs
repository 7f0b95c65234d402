//! What every channel's settings check shares: the [`Invalid`] finding (a field
//! and a reason, never a value), the destination URL rule and the credential-text
//! rule. Each channel's `config.rs` owns its own
//! `validate()` built from these; the config file (`config::validate`) and the
//! Canary API both call that one `validate()`, so neither can accept what the
//! other refuses. Pure: no I/O, no knowledge of keys above the settings table.

use url::Url;

use crate::secret::Secret;

/// Longest destination URL accepted (API parameter or config file).
pub const MAX_URL_LEN: usize = 2048;

/// One thing wrong with a channel's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Dotted path below the channel's settings table (`auth.username`,
    /// `headers."X-Api-Key"`, `signing.secrets[1]`).
    pub field: String,
    /// What is wrong and what would be right; never the value itself.
    pub reason: String,
}

/// Collects [`Invalid`] findings in the order the checks run.
#[derive(Debug, Default)]
pub struct Findings(pub Vec<Invalid>);

impl Findings {
    /// Records that `field` is wrong because of `reason`.
    pub fn add(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(Invalid { field: field.into(), reason: reason.into() });
    }

    /// Records `reason` for `field` when there is one.
    pub fn add_if(&mut self, field: impl Into<String>, reason: Option<String>) {
        if let Some(reason) = reason {
            self.add(field, reason);
        }
    }
}

/// A destination URL must be http(s) with a host, at most [`MAX_URL_LEN`]
/// characters, no fragment; plain http only when allowed.
pub fn url_problem(url: &Url, allow_http: bool) -> Option<String> {
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Some("must use https (set delivery.allow_http = true for labs and tests)".into()),
        other => return Some(format!("scheme `{other}` is not supported: use https")),
    }
    if url.as_str().len() > MAX_URL_LEN {
        return Some(format!("must be at most {MAX_URL_LEN} characters"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("must name a host".into());
    }
    if url.fragment().is_some() {
        return Some("must not have a #fragment".into());
    }
    None
}

/// RFC 9110 `tchar`: what a header name is made of.
pub fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A credential of 1 to `max` characters without control characters.
pub fn text_problem(value: &str, max: usize) -> Option<String> {
    if value.is_empty() || value.chars().count() > max {
        return Some(format!("must be 1 to {max} characters"));
    }
    if value.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    None
}

/// [`text_problem`] of a secret.
pub fn secret_problem(value: &Secret, max: usize) -> Option<String> {
    text_problem(value.expose(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_https_short_and_without_fragments() {
        let url = |text: &str| Url::parse(text).expect("test URL parses");
        assert_eq!(url_problem(&url("https://hooks.example/x"), false), None);
        assert!(url_problem(&url("http://hooks.example/x"), false).is_some_and(|reason| reason.contains("https")));
        assert_eq!(url_problem(&url("http://hooks.example/x"), true), None);
        assert!(url_problem(&url("https://hooks.example/x#f"), false).is_some());
        let long = url(&format!("https://hooks.example/{}", "a".repeat(MAX_URL_LEN)));
        assert!(url_problem(&long, false).is_some_and(|reason| reason.contains("at most 2048")));
    }

    #[test]
    fn credentials_are_bounded_and_free_of_control_characters() {
        assert_eq!(text_problem("pw", 100), None);
        assert!(text_problem("", 100).is_some());
        assert!(text_problem(&"p".repeat(101), 100).is_some());
        assert!(text_problem("a\u{7}b", 100).is_some());
    }
}
