//! API tokens: `auth_token` as a query parameter or the `X-Canary-Auth-Token`
//! header (as on a Canary console; the Canary-style endpoints also read it from
//! the body), compared in constant time.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq as _;

use super::error::ApiError;
use crate::secret::Secret;

pub const TOKEN_HEADER: &str = "x-canary-auth-token";

/// The token a request carries, from the header or the query string.
pub fn presented(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(value) = headers.get(TOKEN_HEADER).and_then(|value| value.to_str().ok()) {
        return Some(value.to_owned());
    }
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "auth_token")
        .map(|(_, value)| value.into_owned())
}

/// Accepts the request when it carries one of `tokens`.
pub fn check(tokens: &[Secret], presented: Option<&str>) -> Result<(), ApiError> {
    identify(tokens, presented).map(|_| ())
}

/// Which of `tokens` the request carries (its index), so that changes can be
/// logged by who made them without logging the token.
pub fn identify(tokens: &[Secret], presented: Option<&str>) -> Result<usize, ApiError> {
    let presented = presented.filter(|token| !token.is_empty()).ok_or(ApiError::MissingToken)?;
    // Every token is compared, so timing tells nothing about which one nearly matched.
    let matched = tokens.iter().enumerate().fold(None, |matched, (index, token)| {
        let equal: bool = token.expose().as_bytes().ct_eq(presented.as_bytes()).into();
        if equal && matched.is_none() {
            Some(index)
        } else {
            matched
        }
    });
    matched.ok_or(ApiError::BadToken)
}

/// A new random API token (32 bytes, hex).
pub fn generate() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_header_or_the_query() {
        let tokens = [Secret::new("a-long-token-0123456789")];
        let mut headers = HeaderMap::new();
        assert_eq!(check(&tokens, presented(&headers, Some("auth_token=a-long-token-0123456789")).as_deref()), Ok(()));
        assert_eq!(check(&tokens, presented(&headers, Some("x=1")).as_deref()), Err(ApiError::MissingToken));
        headers.insert(TOKEN_HEADER, "wrong".parse().expect("valid header"));
        assert_eq!(check(&tokens, presented(&headers, None).as_deref()), Err(ApiError::BadToken));
    }
}
