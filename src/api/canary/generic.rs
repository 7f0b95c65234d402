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
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::params::required;
use super::{
    add_by_url, current, flock_id, list_urls, of_kind, refuse_invalid, remove_by_url, scope, test_by_url, webhook_url,
    webhooks_enabled, Canary, FlockParams, Params, Tested,
};
use crate::api::answer::{Done, Success};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::notify::generic::config::{GenericAuth, GenericSettings, Signing};
use crate::notify::settings::Invalid;
use crate::notify::{Channel, ChannelKind};
use crate::secret::{mask_url, Secret};

/// The generic webhook routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add))
        .routes(routes!(list_deprecated))
        .routes(routes!(list))
        .routes(routes!(remove))
        .routes(routes!(test))
}

/// The parameters of `generic/add`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct GenericAdd {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// The URL that receives the POSTed JSON.
    pub url: String,
    /// A JSON object of headers, {"Header-Name": "Value"}; values are write-only.
    pub headers: Option<String>,
    /// Extension: basic, bearer or client_secret.
    pub auth_type: Option<String>,
    /// Extension: Basic auth username (at most 100 characters, no `:`).
    pub username: Option<String>,
    /// Extension: Basic auth password (at most 100 characters); write-only.
    pub password: Option<String>,
    /// Extension: bearer token; write-only.
    pub token: Option<String>,
    /// Extension: a secret sent in the body as client_secret (at most 250 characters); write-only.
    pub client_secret: Option<String>,
    /// Extension: standard_webhooks or flock_hmac, to sign every request.
    pub signing: Option<String>,
    /// Extension: with signing=standard_webhooks, one or more whsec_ secrets (space-separated, at
    /// least 24 bytes decoded); with signing=flock_hmac, the shared secret. Write-only.
    pub signing_secret: Option<String>,
    /// Extension: HTTP statuses (300-599, e.g. 400,422) that fail a message at once; every other
    /// non-2xx answer but 410 is retried, as Standard Webhooks senders do.
    pub permanent_statuses: Option<String>,
}

/// The parameters of `generic/remove` and `generic/test`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct GenericUrl {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// The URL that receives the POSTed JSON.
    pub url: String,
}

/// The answer of the deprecated `generic` list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenericUrls {
    /// The webhooks' URLs, user-info masked.
    pub generic_webhooks: Vec<String>,
    pub result: Success,
    pub webhooks_enabled: bool,
}

/// One generic webhook as `generic/list` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenericWebhook {
    /// The header names (their values are never shown).
    pub header_names: Vec<String>,
    /// The URL, user-info masked.
    pub url: String,
    pub webhook_id: String,
}

/// The answer of `generic/list`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GenericList {
    pub generic_webhooks: Vec<GenericWebhook>,
    pub result: Success,
    pub webhooks_enabled: bool,
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter { name, reason: reason.into() }
}

/// The `headers` parameter: a JSON object of string values, each name given
/// once (ignoring case). What makes a header acceptable is
/// [`GenericSettings::validate`]'s. Errors name the header, never its value.
fn headers(params: &GenericAdd) -> Result<BTreeMap<String, Secret>, ApiError> {
    let Some(text) = params.headers.as_deref() else {
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
fn secret(name: &'static str, value: &Option<String>) -> Result<Secret, ApiError> {
    required(name, value.as_deref()).map(Secret::new)
}

/// The authentication extension parameters.
fn auth(params: &GenericAdd) -> Result<Option<GenericAuth>, ApiError> {
    let Some(kind) = params.auth_type.as_deref() else {
        if [&params.username, &params.password, &params.token, &params.client_secret]
            .iter()
            .any(|value| value.is_some())
        {
            return Err(invalid("auth_type", "must be basic, bearer or client_secret when credentials are given"));
        }
        return Ok(None);
    };
    match kind {
        "none" => Ok(None),
        "basic" => {
            let username = required("username", params.username.as_deref())?.to_owned();
            Ok(Some(GenericAuth::Basic { username, password: secret("password", &params.password)? }))
        }
        "bearer" => Ok(Some(GenericAuth::Bearer { token: secret("token", &params.token)? })),
        "client_secret" => Ok(Some(GenericAuth::ClientSecret {
            secret: secret("client_secret", &params.client_secret)?,
            field: "client_secret".into(),
        })),
        _ => Err(invalid("auth_type", "must be none, basic, bearer or client_secret")),
    }
}

/// The signing extension parameters.
fn signing(params: &GenericAdd) -> Result<Option<Signing>, ApiError> {
    const SECRET: &str = "signing_secret";
    let Some(scheme) = params.signing.as_deref() else {
        if params.signing_secret.is_some() {
            return Err(invalid("signing", "must be standard_webhooks or flock_hmac when signing_secret is given"));
        }
        return Ok(None);
    };
    match scheme {
        "none" => Ok(None),
        "standard_webhooks" => {
            let text = required(SECRET, params.signing_secret.as_deref())?;
            let secrets =
                text.split(|ch: char| ch == ',' || ch.is_whitespace()).filter(|item| !item.is_empty()).map(Secret::new);
            Ok(Some(Signing::StandardWebhooks { secrets: secrets.collect() }))
        }
        "flock_hmac" => Ok(Some(Signing::FlockHmac { secret: secret(SECRET, &params.signing_secret)? })),
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
fn permanent_statuses(params: &GenericAdd) -> Result<Vec<u16>, ApiError> {
    const NAME: &str = "permanent_statuses";
    let Some(text) = params.permanent_statuses.as_deref() else {
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

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/generic/add", tag = "canary",
    summary = "Adds a generic JSON webhook to a flock.",
    request_body = GenericAdd, responses((status = 200, description = "Success.", body = Done)))]
async fn add(State(state): State<AppState>, request: Canary<GenericAdd>) -> Result<Json<Done>, ApiError> {
    added(&state, &request).await?;
    Ok(Json(Done::default()))
}

/// Adds a webhook of this channel from the API's parameters (the console's add form).
pub async fn add_webhook(state: &AppState, params: &Params) -> Result<(), ApiError> {
    added(state, &Canary::from_params(params)?).await
}

async fn added(state: &AppState, request: &Canary<GenericAdd>) -> Result<(), ApiError> {
    let params = &request.params;
    let catalogue = current(state).await?;
    scope(&catalogue, flock_id(&params.flock_id)?)?;
    let url = webhook_url(state, "url", &params.url)?;
    let headers = headers(params)?;
    let auth = auth(params)?;
    let signing = signing(params)?;
    let permanent_statuses = permanent_statuses(params)?;
    let settings = GenericSettings { url, headers, auth, signing, permanent_statuses };
    refuse_invalid(settings.validate(state.allow_http), parameter)?;
    add_by_url(state, request.caller, &params.flock_id, &catalogue, Channel::Generic(settings)).await
}

#[utoipa::path(get, path = "/api/v1/flock/settings/webhooks/generic", tag = "canary",
    summary = "Deprecated: the URLs of a flock's generic webhooks.",
    params(FlockParams), responses((status = 200, description = "Success.", body = GenericUrls)))]
async fn list_deprecated(
    State(state): State<AppState>,
    request: Canary<FlockParams>,
) -> Result<Json<GenericUrls>, ApiError> {
    let (generic_webhooks, webhooks_enabled) =
        list_urls(&state, &request.params.flock_id, ChannelKind::Generic).await?;
    Ok(Json(GenericUrls { generic_webhooks, result: Success::Success, webhooks_enabled }))
}

#[utoipa::path(get, path = "/api/v1/flock/settings/webhooks/generic/list", tag = "canary",
    summary = "A flock's generic webhooks: url, webhook_id and header_names (values are never shown).",
    params(FlockParams), responses((status = 200, description = "Success.", body = GenericList)))]
async fn list(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<GenericList>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, flock_id(&request.params.flock_id)?)?;
    let generic_webhooks = of_kind(&catalogue, &scope, ChannelKind::Generic)
        .into_iter()
        .filter_map(|destination| match &destination.channel {
            Channel::Generic(settings) => Some(GenericWebhook {
                header_names: settings.headers.keys().cloned().collect(),
                url: mask_url(&settings.url),
                webhook_id: destination.id.clone(),
            }),
            _ => None,
        })
        .collect();
    let webhooks_enabled = webhooks_enabled(&catalogue, &scope);
    Ok(Json(GenericList { generic_webhooks, result: Success::Success, webhooks_enabled }))
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/generic/remove", tag = "canary",
    summary = "Removes a generic webhook from a flock (its queued notifications are cancelled).",
    request_body = GenericUrl, responses((status = 200, description = "Success.", body = Done)))]
async fn remove(State(state): State<AppState>, request: Canary<GenericUrl>) -> Result<Json<Done>, ApiError> {
    let GenericUrl { flock_id, url } = &request.params;
    remove_by_url(&state, request.caller, (flock_id, url), ChannelKind::Generic).await
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/generic/test", tag = "canary",
    summary = "Sends a test notification through a flock's generic webhook now.",
    request_body = GenericUrl, responses((status = 200, description = "Success.", body = Tested)))]
async fn test(State(state): State<AppState>, request: Canary<GenericUrl>) -> Result<Json<Tested>, ApiError> {
    let GenericUrl { flock_id, url } = &request.params;
    test_by_url(&state, request.caller, (flock_id, url), ChannelKind::Generic).await
}
