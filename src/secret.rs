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

/// A URL as it may be shown anywhere (API answers, `render`, logs, errors): its
/// user-info — user name and password, which are credentials — replaced by the
/// mask (`https://********:********@host/`). The one function every shown URL
/// goes through.
pub fn mask_url(url: &url::Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut masked = url.clone();
    // Both fail only for URLs that cannot have user-info, which have none.
    let _ = masked.set_username(MASK);
    if url.password().is_some() {
        let _ = masked.set_password(Some(MASK));
    }
    masked.to_string()
}

/// [`mask_url`] for text that should be a URL (a store URL from the config);
/// text that does not parse is masked whole, since it cannot be shown safely.
pub fn mask_url_text(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => mask_url(&url),
        Err(_) => MASK.to_owned(),
    }
}

/// Secrets shorter than this are masked only where they stand alone (not
/// inside a longer word), so that a short header value such as `1` or `prod`
/// does not shred the rest of an excerpt.
const WHOLE_WORD_BELOW: usize = 8;

/// The shortest tail of a cut text that is masked when it begins a secret.
const MIN_CUT_TAIL: usize = 4;

/// Masks known secret values in free text that came from outside — a
/// receiver's answer, which may echo the request back — before it is stored
/// or shown. Each secret is also looked for as JSON, Python and Go would
/// escape it inside a string, since echoes are usually JSON.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    /// Every form of every secret, longest first.
    needles: Vec<String>,
}

impl Scrubber {
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut needles: Vec<String> = Vec::new();
        for secret in secrets {
            for form in escaped_forms(secret.as_ref()) {
                if !form.is_empty() && !needles.contains(&form) {
                    needles.push(form);
                }
            }
        }
        needles.sort_by_key(|needle| std::cmp::Reverse(needle.len()));
        Self { needles }
    }

    /// `text` with every occurrence of a secret replaced by the mask.
    pub fn scrub(&self, text: &str) -> String {
        let mut scrubbed = text.to_owned();
        for needle in &self.needles {
            scrubbed = if needle.chars().count() < WHOLE_WORD_BELOW {
                replace_words(&scrubbed, needle)
            } else {
                scrubbed.replace(needle.as_str(), MASK)
            };
        }
        scrubbed
    }

    /// [`Scrubber::scrub`] for text that was cut to a length (an excerpt): a
    /// tail that is the beginning of a secret is masked too.
    pub fn scrub_cut(&self, text: &str) -> String {
        let mut scrubbed = self.scrub(text);
        for needle in self.needles.iter().filter(|needle| needle.chars().count() >= WHOLE_WORD_BELOW) {
            let starts: Vec<usize> = needle.char_indices().map(|(at, _)| at).skip(MIN_CUT_TAIL).collect();
            // Longest partial first: the tail is the needle's first `end` bytes.
            if let Some(end) = starts.into_iter().rev().find(|end| scrubbed.ends_with(&needle[..*end])) {
                scrubbed.truncate(scrubbed.len() - end);
                scrubbed.push_str(MASK);
            }
        }
        scrubbed
    }
}

/// `haystack` with the stand-alone occurrences of `needle` (not preceded or
/// followed by a letter or digit) replaced by the mask.
fn replace_words(haystack: &str, needle: &str) -> String {
    let mut out = String::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.find(needle) {
        let before = rest[..at].chars().next_back().or_else(|| out.chars().next_back());
        let after = rest[at + needle.len()..].chars().next();
        let alone = !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric);
        out.push_str(&rest[..at]);
        out.push_str(if alone { MASK } else { needle });
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// A secret as it may appear in an echo: as is, and JSON-escaped as the
/// common encoders write it — serde and JavaScript; Python (non-ASCII as
/// `\uXXXX`); Go (`<`, `>`, `&` as `\u003c`…); PHP (Python's, plus `\/`).
fn escaped_forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_owned();
    let mut python = String::with_capacity(json.len());
    for ch in json.chars() {
        if ch.is_ascii() {
            python.push(ch);
        } else {
            let mut units = [0_u16; 2];
            for unit in ch.encode_utf16(&mut units) {
                python.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    let go = json.replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026");
    let php = python.replace('/', "\\/");
    vec![secret.to_owned(), json, python, go, php]
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
    fn shown_urls_never_carry_user_info() {
        let url = |text: &str| url::Url::parse(text).expect("valid URL");
        assert_eq!(
            mask_url(&url("https://user:pw@hooks.example/x?a=1")),
            "https://********:********@hooks.example/x?a=1"
        );
        assert_eq!(mask_url(&url("https://token@hooks.example/")), "https://********@hooks.example/");
        assert_eq!(mask_url(&url("https://hooks.example/x")), "https://hooks.example/x");
        assert_eq!(
            mask_url_text("postgres://relay:s3cret@db/flockrelay"),
            "postgres://********:********@db/flockrelay"
        );
        assert_eq!(mask_url_text("not a url with pw"), MASK);
    }

    #[test]
    fn scrubbing_masks_every_form_of_a_secret() {
        let scrubber = Scrubber::new(["hunter2-very-secret", "pa\"ss/wörd<&>", "k9", ""]);
        let echoes = [
            r#"{"pw":"pa\"ss/wörd<&>"}"#,
            r#"{"pw":"pa\"ss/w\u00f6rd<&>"}"#,
            r#"{"pw":"pa\"ss/wörd\u003c\u0026\u003e"}"#,
            r#"{"pw":"pa\"ss\/w\u00f6rd<&>"}"#,
            "pw=pa\"ss/wörd<&>",
        ];
        for echo in echoes {
            assert_eq!(
                scrubber.scrub(echo).replace("pw=", "").replace(r#"{"pw":"#, "").trim_matches(['"', '}']),
                MASK,
                "{echo}"
            );
        }
        let scrubbed = scrubber.scrub(r#"{"auth":"Bearer hunter2-very-secret","v":"k9","k9x":1}"#);
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert!(scrubbed.contains(r#""v":"********""#), "a short secret standing alone: {scrubbed}");
        assert!(scrubbed.contains("k9x"), "a short secret inside a word stays: {scrubbed}");
    }

    #[test]
    fn a_cut_excerpt_loses_the_beginning_of_a_secret_too() {
        let scrubber = Scrubber::new(["0123456789abcdef"]);
        assert_eq!(scrubber.scrub_cut("token=0123456789abcdef; token=01234"), "token=********; token=********");
        assert_eq!(scrubber.scrub_cut("ends with 012"), "ends with 012", "three characters tell nothing");
        assert_eq!(scrubber.scrub_cut("plain"), "plain");
    }

    #[test]
    fn last4_shows_only_the_tail_of_long_secrets() {
        assert_eq!(Secret::new("0123456789abcdef").last4(), format!("{MASK}cdef"));
        assert_eq!(Secret::new("short").last4(), MASK);
    }
}
