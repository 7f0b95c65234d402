//! [`Params`]: the parameters of an authenticated Canary API request, from the
//! query string ∪ a form body ∪ a JSON body (the Canary API accepts all three),
//! and the `auth_token` from any of them or the `X-Canary-Auth-Token` header,
//! checked in constant time before anything else is looked at. No name or value
//! may hold a NUL, and a name given twice must carry the same value.
//!
//! [`Canary`] is the handlers' extractor: [`Params`] deserialized into the
//! endpoint's typed parameter struct (by [`fields`]).

pub mod fields;

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::error::ApiError;
use crate::api::{auth, AppState};
use crate::limits;

/// Who made a request, for the change log: which configured token (by its
/// position, never its value) and from where.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// 1-based position of the token in `server.auth_tokens`.
    pub token: usize,
    pub peer: Option<SocketAddr>,
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.peer {
            Some(peer) => write!(f, "token #{} from {peer}", self.token),
            None => write!(f, "token #{}", self.token),
        }
    }
}

/// The parameters of an authenticated request.
#[derive(Debug, Clone)]
pub struct Params {
    values: BTreeMap<String, String>,
    pub caller: Caller,
}

impl FromRequest<AppState> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = request.headers().clone();
        let query = request.uri().query().map(str::to_owned);
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
        let body = Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(state.body_limit),
            _ => ApiError::BadRequest(rejection.body_text()),
        })?;
        let mut values = Vec::new();
        if let Some(query) = &query {
            values.extend(form_pairs(query.as_bytes()));
        }
        // A body that cannot be read may hold the token: the token is checked
        // first, so a caller without one learns nothing from the body error.
        let body_error = match body_pairs(&headers, &body) {
            Ok(pairs) => {
                values.extend(pairs);
                None
            }
            Err(error) => Some(error),
        };
        let token = auth::presented(&headers, None)
            .or_else(|| values.iter().find(|(name, _)| name == "auth_token").map(|(_, value)| value.clone()));
        let token = match auth::identify(&state.tokens, token.as_deref()) {
            Ok(index) => index + 1,
            Err(error) => {
                state.delivery.metrics().reject(match error {
                    ApiError::MissingToken => "missing_token",
                    _ => "bad_token",
                });
                return Err(error);
            }
        };
        if let Some(error) = body_error {
            return Err(error);
        }
        let mut merged = BTreeMap::new();
        for (name, value) in values {
            if name == "auth_token" {
                continue;
            }
            // No parameter holding a NUL goes further (PostgreSQL refuses it in text).
            if let Err(refusal) = limits::text(&name, usize::MAX).and_then(|()| limits::text(&value, usize::MAX)) {
                return Err(ApiError::BadRequest(format!("invalid {}: {refusal}", name.escape_debug())));
            }
            match merged.get(&name) {
                Some(existing) if existing != &value => {
                    return Err(ApiError::BadRequest(format!("parameter {name} is given twice with different values")));
                }
                Some(_) => {}
                None => {
                    merged.insert(name, value);
                }
            }
        }
        Ok(Self { values: merged, caller: Caller { token, peer } })
    }
}

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
}

/// The body's parameters: form-encoded, or a JSON object whose non-string values
/// are kept as JSON text (so `headers` may be an object or a string).
fn body_pairs(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => json_pairs(body),
        essence if essence.starts_with("application/") && essence.ends_with("+json") => json_pairs(body),
        "application/x-www-form-urlencoded" | "" => Ok(form_pairs(body)),
        _ => Err(ApiError::UnsupportedMediaType(content_type.chars().take(100).collect())),
    }
}

fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let document: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("body is not valid JSON: {error}")))?;
    let Value::Object(object) = document else {
        return Err(ApiError::BadRequest("a JSON body must be an object of parameters".into()));
    };
    Ok(object
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((name, text)),
            other => Some((name, other.to_string())),
        })
        .collect())
}

impl Params {
    /// Parameters that did not come from an API request (the console's forms),
    /// checked by the same rules as the API's. Blank values count as absent,
    /// as in a request.
    pub fn new(values: BTreeMap<String, String>, caller: Caller) -> Self {
        Self { values, caller }
    }

    /// A parameter that may be absent; blank counts as absent.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|value| !value.trim().is_empty())
    }

    /// An optional `true`/`false` parameter.
    pub fn flag(&self, name: &'static str) -> Result<Option<bool>, ApiError> {
        self.optional(name)
            .map(|text| match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ApiError::InvalidParameter { name, reason: "must be true or false".into() }),
            })
            .transpose()
    }

    /// The parameters as the endpoint's struct: blank values count as absent,
    /// `bool` fields take `true`/`1`/`yes` and `false`/`0`/`no`, numbers are read
    /// from their text, anything else is the text itself.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let given = self.values.iter().filter(|(_, value)| !value.trim().is_empty());
        T::deserialize(fields::Fields::new(given)).map_err(|error| error.0)
    }
}

/// A parameter a typed struct holds as optional, because it is required only
/// with another (`username` with `auth_type=basic`): present and not blank.
pub fn required<'a>(name: &'static str, value: Option<&'a str>) -> Result<&'a str, ApiError> {
    value.filter(|value| !value.trim().is_empty()).ok_or(ApiError::MissingParameter(name))
}

/// A `flock_id` parameter: at most [`limits::FLOCK_ID`] characters.
pub fn flock_id(flock_id: &str) -> Result<&str, ApiError> {
    limits::text(flock_id, limits::FLOCK_ID)
        .map_err(|refusal| ApiError::InvalidParameter { name: "flock_id", reason: refusal.to_string() })?;
    Ok(flock_id)
}

/// An authenticated Canary API request: its parameters (query ∪ form ∪ JSON,
/// by [`Params`]'s rules) deserialized into the endpoint's own struct `T`, and
/// who sent it. A missing required field answers `missing parameter <name>`, a
/// value that does not parse `invalid <name>: <reason>`, as [`Params`] words them.
#[derive(Debug, Clone)]
pub struct Canary<T> {
    pub params: T,
    pub caller: Caller,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Canary<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let params = Params::from_request(request, state).await?;
        Ok(Self { params: params.parse()?, caller: params.caller })
    }
}

impl<T: DeserializeOwned> Canary<T> {
    /// A typed request from parameters that did not come from an API request
    /// (the console's forms), by the same rules.
    pub fn from_params(params: &Params) -> Result<Self, ApiError> {
        Ok(Self { params: params.parse()?, caller: params.caller })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_keep_non_string_values_as_json_text() {
        let pairs =
            json_pairs(br#"{"flock_id":"flock:a","port":8088,"headers":{"X-A":"1"},"gone":null}"#).expect("valid");
        assert_eq!(
            pairs,
            [
                ("flock_id".to_owned(), "flock:a".to_owned()),
                ("port".to_owned(), "8088".to_owned()),
                ("headers".to_owned(), r#"{"X-A":"1"}"#.to_owned()),
            ]
        );
        assert!(json_pairs(b"[1]").is_err());
    }
}
