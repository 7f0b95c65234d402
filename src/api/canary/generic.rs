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
    add_by_url, current, list_urls, of_kind, refuse_invalid, remove_by_url, scope, success, test_by_url, webhook_url,
    webhooks_enabled, Params,
};
use crate::api::error::ApiError;
use crate::api::openapi::{optional, required, Endpoint, Param, Route, FLOCK_ID};
use crate::api::AppState;
use crate::notify::generic::config::{GenericAuth, GenericSettings, Signing};
use crate::notify::settings::Invalid;
use crate::notify::{Channel, ChannelKind};
use crate::secret::{mask_url, Secret};

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

fn invalid(name: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter { name, reason: reason.into() }
}

/// The `headers` parameter: a JSON object of string values, each name given
/// once (ignoring case). What makes a header acceptable is
/// [`GenericSettings::validate`]'s. Errors name the header, never its value.
fn headers(params: &Params) -> Result<BTreeMap<String, Secret>, ApiError> {
    let Some(text) = params.optional("headers") else {
        return Ok(BTreeMap::new());
    };
    let document: Value = serde_json::from_str(text)
        .map_err(|_| invalid("headers", "must be a JSON object such as {\"Header-Name\": \"Value\"}"))?;
    let Value::Object(object) = document else {
        return Err(invalid("headers", "must be a JSON object such as {\"Header-Name\": \"Value\"}"));
    };
    let mut headers: BTreeMap<String, Secret> = BTreeMap::new();
    for (name, value) in object {
        let Value::String(value) = value else {
            return Err(invalid("headers", format!("the value of {name:?} must be a string")));
        };
        if headers.keys().any(|existing| existing.eq_ignore_ascii_case(&name)) {
            return Err(invalid("headers", format!("{name:?} is given twice")));
        }
        headers.insert(name, Secret::new(value));
    }
    Ok(headers)
}

/// A secret parameter, checked later by [`GenericSettings::validate`].
fn secret(params: &Params, name: &'static str) -> Result<Secret, ApiError> {
    params.required(name).map(Secret::new)
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
            let username = params.required("username")?.to_owned();
            Ok(Some(GenericAuth::Basic { username, password: secret(params, "password")? }))
        }
        "bearer" => Ok(Some(GenericAuth::Bearer { token: secret(params, "token")? })),
        "client_secret" => Ok(Some(GenericAuth::ClientSecret {
            secret: secret(params, "client_secret")?,
            field: "client_secret".into(),
        })),
        _ => Err(invalid("auth_type", "must be none, basic, bearer or client_secret")),
    }
}

/// The signing extension parameters.
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
            let secrets =
                text.split(|ch: char| ch == ',' || ch.is_whitespace()).filter(|item| !item.is_empty()).map(Secret::new);
            Ok(Some(Signing::StandardWebhooks { secrets: secrets.collect() }))
        }
        "flock_hmac" => Ok(Some(Signing::FlockHmac { secret: secret(params, SECRET)? })),
        _ => Err(invalid("signing", "must be none, standard_webhooks or flock_hmac")),
    }
}

/// The API parameter that holds a field of [`GenericSettings`], with the
/// reason as the API words it (naming the header or the secret's position).
fn parameter(invalid: &Invalid) -> (&'static str, String) {
    let reason = invalid.reason.clone();
    let field = invalid.field.as_str();
    if let Some(name) = field.strip_prefix("headers.") {
        return ("headers", format!("{name} {reason}"));
    }
    if let Some(index) = field.strip_prefix("signing.secrets[").and_then(|rest| rest.strip_suffix(']')) {
        let position = index.parse::<usize>().map_or(0, |index| index + 1);
        return ("signing_secret", format!("secret {position}: {reason}"));
    }
    let name = match field {
        "auth.username" => "username",
        "auth.password" => "password",
        "auth.token" => "token",
        "auth.secret" | "auth.field" => "client_secret",
        "signing.secrets" | "signing.secret" => "signing_secret",
        field if field.starts_with("permanent_statuses") => "permanent_statuses",
        "headers" => "headers",
        _ => "url",
    };
    (name, reason)
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
    let signing = signing(params)?;
    let permanent_statuses = permanent_statuses(params)?;
    let settings = GenericSettings { url, headers, auth, signing, permanent_statuses };
    refuse_invalid(settings.validate(state.allow_http), parameter)?;
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
