//! Generic JSON webhooks: `generic/add`, `generic` (deprecated URL list),
//! `generic/list` (URL with its user-info masked, id and header names — values
//! are write-only),
//! `generic/remove`, `generic/test`.
//!
//! Beyond the seed, `generic/add` takes the authentication options of the
//! Flowingly-style senders: `auth_type` = `basic` (`username`, `password`, each at
//! most 100 characters), `bearer` (`token`) or `client_secret` (`client_secret`, at
//! most 250 characters, carried in the body). Like header values, they are never
//! shown again.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use serde_json::Value;

use super::{
    add_by_url, current, list_urls, of_kind, remove_by_url, scope, success, test_by_url, webhook_url, webhooks_enabled,
    Params,
};
use crate::config::validate::header_problem;
use crate::config::validate::MAX_SHARED_SECRET_LEN;
use crate::destination::{Channel, ChannelKind};
use crate::notify::generic::config::{
    permanent_status_problem, GenericAuth, GenericSettings, Signing, MAX_BASIC_LEN, MAX_CLIENT_SECRET_LEN,
};
use crate::secret::{mask_url, Secret};
use crate::server::error::ApiError;
use crate::server::openapi::{into_router, optional, required, Endpoint, Param, Route, FLOCK_ID};
use crate::server::AppState;
use crate::signing::standard_webhooks::check_secret;

/// Most custom headers one webhook may have.
pub const MAX_HEADERS: usize = 32;
/// Longest custom header value.
pub const MAX_HEADER_VALUE_LEN: usize = 4096;
/// Longest bearer token.
pub const MAX_BEARER_LEN: usize = 4096;
/// Most Standard Webhooks secrets one webhook signs with (two while rotating).
pub const MAX_SIGNING_SECRETS: usize = 4;

const URL: Param = required("url", "The URL that receives the POSTed JSON.");

/// The generic webhook routes with their descriptions.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/generic/add",
                "Adds a generic JSON webhook to a flock.",
                &[
                    FLOCK_ID,
                    URL,
                    optional(
                        "headers",
                        "A JSON object of headers, {\"Header-Name\": \"Value\"}; values are write-only.",
                    ),
                    optional("auth_type", "Extension: basic, bearer or client_secret."),
                    optional("username", "Extension: Basic auth username (at most 100 characters, no `:`)."),
                    optional("password", "Extension: Basic auth password (at most 100 characters); write-only."),
                    optional("token", "Extension: bearer token; write-only."),
                    optional(
                        "client_secret",
                        "Extension: a secret sent in the body as client_secret (at most 250 characters); write-only.",
                    ),
                    optional("signing", "Extension: standard_webhooks or flock_hmac, to sign every request."),
                    optional(
                        "signing_secret",
                        "Extension: with signing=standard_webhooks, one or more whsec_ secrets (space-separated, at \
                         least 24 bytes decoded); with signing=flock_hmac, the shared secret. Write-only.",
                    ),
                    optional(
                        "permanent_statuses",
                        "Extension: HTTP statuses (300-599, e.g. 400,422) that fail a message at once; every other \
                         non-2xx answer but 410 is retried, as Standard Webhooks senders do.",
                    ),
                ],
                &[],
            ),
            add,
        ),
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flock/settings/webhooks/generic",
                "Deprecated: the URLs of a flock's generic webhooks.",
                &[FLOCK_ID],
                &[("generic_webhooks", "array"), ("webhooks_enabled", "boolean")],
            ),
            list_deprecated,
        ),
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flock/settings/webhooks/generic/list",
                "A flock's generic webhooks: url, webhook_id and header_names (values are never shown).",
                &[FLOCK_ID],
                &[("generic_webhooks", "array"), ("webhooks_enabled", "boolean")],
            ),
            list,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/generic/remove",
                "Removes a generic webhook from a flock (its queued notifications are cancelled).",
                &[FLOCK_ID, URL],
                &[],
            ),
            remove,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/generic/test",
                "Sends a test notification through a flock's generic webhook now.",
                &[FLOCK_ID, URL],
                &[("webhook", "string")],
            ),
            test,
        ),
    ]
}

/// The generic webhook endpoints.
pub fn router() -> axum::Router<AppState> {
    into_router(routes())
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter { name, reason: reason.into() }
}

/// The `headers` parameter: a JSON object of string values, each header valid
/// and not one the relay or the transport owns. Errors name the header, never
/// its value.
fn headers(params: &Params) -> Result<BTreeMap<String, Secret>, ApiError> {
    let Some(text) = params.optional("headers") else {
        return Ok(BTreeMap::new());
    };
    let document: Value = serde_json::from_str(text)
        .map_err(|_| invalid("headers", "must be a JSON object such as {\"Header-Name\": \"Value\"}"))?;
    let Value::Object(object) = document else {
        return Err(invalid("headers", "must be a JSON object such as {\"Header-Name\": \"Value\"}"));
    };
    if object.len() > MAX_HEADERS {
        return Err(invalid("headers", format!("at most {MAX_HEADERS} headers")));
    }
    let mut headers: BTreeMap<String, Secret> = BTreeMap::new();
    for (name, value) in object {
        let Value::String(value) = value else {
            return Err(invalid("headers", format!("the value of {name:?} must be a string")));
        };
        if let Some(reason) = header_problem(&name, &value) {
            return Err(invalid("headers", format!("{name:?} {reason}")));
        }
        if value.len() > MAX_HEADER_VALUE_LEN {
            return Err(invalid(
                "headers",
                format!("the value of {name:?} is longer than {MAX_HEADER_VALUE_LEN} bytes"),
            ));
        }
        if headers.keys().any(|existing| existing.eq_ignore_ascii_case(&name)) {
            return Err(invalid("headers", format!("{name:?} is given twice")));
        }
        headers.insert(name, Secret::new(value));
    }
    Ok(headers)
}

/// A secret parameter of at most `max` characters, without control characters.
fn secret(params: &Params, name: &'static str, max: usize) -> Result<Secret, ApiError> {
    let value = params.required(name)?;
    if value.chars().count() > max {
        return Err(invalid(name, format!("must be at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(name, "must not contain control characters"));
    }
    Ok(Secret::new(value))
}

/// The authentication extension parameters.
fn auth(params: &Params) -> Result<Option<GenericAuth>, ApiError> {
    let Some(kind) = params.optional("auth_type") else {
        if ["username", "password", "token", "client_secret"].iter().any(|name| params.optional(name).is_some()) {
            return Err(invalid("auth_type", "must be basic, bearer or client_secret when credentials are given"));
        }
        return Ok(None);
    };
    match kind {
        "none" => Ok(None),
        "basic" => {
            let username = secret(params, "username", MAX_BASIC_LEN)?;
            if username.expose().contains(':') {
                return Err(invalid("username", "must not contain `:` (Basic auth separates with it)"));
            }
            let password = secret(params, "password", MAX_BASIC_LEN)?;
            Ok(Some(GenericAuth::Basic { username: username.expose().to_owned(), password }))
        }
        "bearer" => Ok(Some(GenericAuth::Bearer { token: secret(params, "token", MAX_BEARER_LEN)? })),
        "client_secret" => Ok(Some(GenericAuth::ClientSecret {
            secret: secret(params, "client_secret", MAX_CLIENT_SECRET_LEN)?,
            field: "client_secret".into(),
        })),
        _ => Err(invalid("auth_type", "must be none, basic, bearer or client_secret")),
    }
}

/// The signing extension parameters. Errors name the parameter and the
/// position of a secret, never a secret.
fn signing(params: &Params) -> Result<Option<Signing>, ApiError> {
    const SECRET: &str = "signing_secret";
    let Some(scheme) = params.optional("signing") else {
        if params.optional(SECRET).is_some() {
            return Err(invalid("signing", "must be standard_webhooks or flock_hmac when signing_secret is given"));
        }
        return Ok(None);
    };
    match scheme {
        "none" => Ok(None),
        "standard_webhooks" => {
            let text = params.required(SECRET)?;
            let secrets: Vec<&str> =
                text.split(|ch: char| ch == ',' || ch.is_whitespace()).filter(|item| !item.is_empty()).collect();
            if secrets.len() > MAX_SIGNING_SECRETS {
                return Err(invalid(SECRET, format!("at most {MAX_SIGNING_SECRETS} secrets")));
            }
            for (index, secret) in secrets.iter().enumerate() {
                check_secret(secret).map_err(|error| invalid(SECRET, format!("secret {}: {error}", index + 1)))?;
            }
            Ok(Some(Signing::StandardWebhooks { secrets: secrets.into_iter().map(Secret::new).collect() }))
        }
        "flock_hmac" => Ok(Some(Signing::FlockHmac { secret: secret(params, SECRET, MAX_SHARED_SECRET_LEN)? })),
        _ => Err(invalid("signing", "must be none, standard_webhooks or flock_hmac")),
    }
}

/// The `permanent_statuses` extension: statuses separated by commas or spaces.
fn permanent_statuses(params: &Params) -> Result<Vec<u16>, ApiError> {
    const NAME: &str = "permanent_statuses";
    let Some(text) = params.optional(NAME) else {
        return Ok(Vec::new());
    };
    let mut statuses = Vec::new();
    for item in text.split(|ch: char| ch == ',' || ch.is_whitespace()).filter(|item| !item.is_empty()) {
        let shown: String = item.chars().take(16).collect();
        let status: u16 = item
            .parse()
            .map_err(|_| invalid(NAME, format!("`{shown}` is not an HTTP status (list them like 400,422)")))?;
        if let Some(reason) = permanent_status_problem(status) {
            return Err(invalid(NAME, reason));
        }
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    Ok(statuses)
}

async fn add(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    add_webhook(&state, &params).await?;
    Ok(success([]))
}

/// Adds a webhook of this channel from the API's parameters (the API's
/// `…/add` and the console's add form).
pub async fn add_webhook(state: &AppState, params: &Params) -> Result<(), ApiError> {
    let catalogue = current(state).await?;
    scope(&catalogue, params.flock_id()?)?;
    let url = webhook_url(state, "url", params.required("url")?)?;
    let headers = headers(params)?;
    let auth = auth(params)?;
    let sets_authorization = matches!(auth, Some(GenericAuth::Basic { .. } | GenericAuth::Bearer { .. }));
    if sets_authorization && headers.keys().any(|name| name.eq_ignore_ascii_case("authorization")) {
        return Err(invalid("headers", "an Authorization header conflicts with auth_type; set one or the other"));
    }
    let signing = signing(params)?;
    let permanent_statuses = permanent_statuses(params)?;
    let settings = GenericSettings { url, headers, auth, signing, permanent_statuses };
    add_by_url(state, params, &catalogue, Channel::Generic(settings)).await
}

async fn list_deprecated(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    list_urls(&state, &params, ChannelKind::Generic, "generic_webhooks").await
}

async fn list(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let webhooks: Vec<Value> = of_kind(&catalogue, &scope, ChannelKind::Generic)
        .into_iter()
        .filter_map(|destination| match &destination.channel {
            Channel::Generic(settings) => Some(serde_json::json!({
                "header_names": settings.headers.keys().collect::<Vec<_>>(),
                "url": mask_url(&settings.url),
                "webhook_id": destination.id,
            })),
            _ => None,
        })
        .collect();
    Ok(success([
        ("generic_webhooks", Value::Array(webhooks)),
        ("webhooks_enabled", Value::from(webhooks_enabled(&catalogue, &scope))),
    ]))
}

async fn remove(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    remove_by_url(&state, &params, ChannelKind::Generic).await
}

async fn test(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    test_by_url(&state, &params, ChannelKind::Generic).await
}
