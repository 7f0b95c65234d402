//! The hop count of the loop guard: how many relays an alert passed through.
//!
//! Every request the relay sends carries `X-Flockrelay-Hops: n + 1`, where `n`
//! is the hop count of the alert (0 for alerts posted to the API or sent with
//! the CLI; the count of the inbound request for alerts from `/hooks/…`). The
//! hooks endpoint refuses a request whose count is past [`MAX_HOPS`], so two
//! relays (or one, through a proxy) whose destinations point at each other's
//! hooks stop after a few rounds instead of flooding. Pure: parsing and
//! formatting only; the count is stored with the alert and its messages.

use axum::http::HeaderMap;

/// The header carrying the hop count, on outgoing and inbound requests.
pub const HOPS_HEADER: &str = "x-flockrelay-hops";

/// The most relays an alert may have passed through before this one: a
/// request carrying more is refused (a chain of relays longer than this is a
/// loop, not a deployment).
pub const MAX_HOPS: u32 = 3;

/// Why an inbound hop count is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HopsError {
    #[error(
        "loop detected: the request has passed through {hops} relays already (X-Flockrelay-Hops), more than {MAX_HOPS}"
    )]
    TooMany { hops: String },
    #[error("X-Flockrelay-Hops must be a whole number of relays")]
    Malformed,
}

impl HopsError {
    /// The reason label of `flockrelay_requests_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooMany { .. } => "hook_loop",
            Self::Malformed => "hook_bad_hops",
        }
    }
}

/// The hop count of an inbound request: 0 without the header; an error when it
/// is past [`MAX_HOPS`] or not a number.
pub fn inbound(headers: &HeaderMap) -> Result<u32, HopsError> {
    let mut values = headers.get_all(HOPS_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(0);
    };
    if values.next().is_some() {
        return Err(HopsError::Malformed);
    }
    let text = value.to_str().map_err(|_| HopsError::Malformed)?.trim();
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(HopsError::Malformed);
    }
    // Digits only: a number too large for u32 is simply too many hops.
    match text.parse::<u32>() {
        Ok(hops) if hops <= MAX_HOPS => Ok(hops),
        _ => Err(HopsError::TooMany { hops: text.chars().take(20).collect() }),
    }
}

/// The header value an outgoing request of an alert with `hops` carries.
pub fn outbound(hops: u32) -> String {
    hops.saturating_add(1).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(HOPS_HEADER, value.parse().expect("valid header value"));
        }
        headers
    }

    #[test]
    fn inbound_counts_are_bounded_and_parsed_strictly() {
        assert_eq!(inbound(&headers(&[])), Ok(0));
        assert_eq!(inbound(&headers(&["0"])), Ok(0));
        assert_eq!(inbound(&headers(&[" 3 "])), Ok(3));
        for too_many in ["4", "4294967296", "99999999999999999999999"] {
            assert!(matches!(inbound(&headers(&[too_many])), Err(HopsError::TooMany { .. })), "{too_many}");
        }
        for malformed in ["", "-1", "1.5", "two", "+2"] {
            assert_eq!(inbound(&headers(&[malformed])), Err(HopsError::Malformed), "{malformed:?}");
        }
        assert_eq!(inbound(&headers(&["1", "1"])), Err(HopsError::Malformed), "one header only");
        assert_eq!(outbound(0), "1");
        assert_eq!(outbound(u32::MAX), u32::MAX.to_string());
    }
}
