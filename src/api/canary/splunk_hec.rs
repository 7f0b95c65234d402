//! Splunk HTTP Event Collector: `splunk/add` (one HEC per flock; adding again
//! replaces it, and notifications still queued go to the new settings), `splunk`
//! (host, port, and the token masked but for its last 4 characters),
//! `splunk/remove`, `splunk/test`.
//!
//! Beyond the seed, `splunk/add` takes `https` (default true; false needs
//! `delivery.allow_http`) and `index`.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    current, flock_id, new_destination, of_kind, refuse_invalid, remove, scope, test_notification, webhooks_enabled,
    Canary, FlockParams, Params,
};
use crate::api::answer::{Done, Success};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::catalogue::registry::RegistryError;
use crate::destination::Destination;
use crate::notify::splunk_hec::config::SplunkHecSettings;
use crate::notify::splunk_hec::event_url;
use crate::notify::{Channel, ChannelKind};
use crate::secret::Secret;
use crate::store::{IfExists, StoreError};

/// The Splunk routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add)).routes(routes!(show)).routes(routes!(remove_hec)).routes(routes!(test))
}

/// The parameters of `splunk/add`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct SplunkAdd {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// A domain name or IP address of the Splunk HEC.
    pub host: String,
    /// The port the HEC listens on (1-65535).
    #[schema(value_type = u16, minimum = 1, maximum = 65535)]
    #[param(value_type = u16, minimum = 1, maximum = 65535)]
    pub port: Port,
    /// The HEC token; write-only (shown masked but for its last 4 characters).
    pub token: String,
    /// Extension: true (default) or false for a plain-HTTP lab HEC (needs delivery.allow_http).
    pub https: Option<bool>,
    /// Extension: the index to write to (the token's default when unset).
    pub index: Option<String>,
}

/// A TCP port parameter: its text (or JSON number) read as a `u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.trim().parse().map(Port).map_err(|_| serde::de::Error::custom("must be a number from 1 to 65535"))
    }
}

/// A flock's HEC as the `splunk` answer shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SplunkWebhook {
    pub host: String,
    /// The port, as text.
    pub port: String,
    /// The token masked but for its last 4 characters.
    pub token: String,
}

/// The answer of `splunk`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SplunkShown {
    pub result: Success,
    /// Null when the flock has no HEC.
    pub splunk_webhook: Option<SplunkWebhook>,
    pub webhooks_enabled: bool,
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter { name, reason: reason.into() }
}

/// The HEC settings from the API's parameters, checked by
/// [`SplunkHecSettings::validate`] (as the config file's are) and by the address policy.
fn settings(state: &AppState, params: &SplunkAdd) -> Result<SplunkHecSettings, ApiError> {
    let mut settings = SplunkHecSettings::new(params.host.trim(), params.port.0, Secret::new(params.token.as_str()));
    if let Some(https) = params.https {
        settings.https = https;
    }
    settings.index = params.index.clone();
    // Every field the API sets is the parameter of the same name.
    refuse_invalid(settings.validate(state.allow_http), |invalid| match invalid.field.as_str() {
        "port" => ("port", invalid.reason.clone()),
        "token" => ("token", invalid.reason.clone()),
        "https" => ("https", invalid.reason.clone()),
        "index" => ("index", invalid.reason.clone()),
        _ => ("host", invalid.reason.clone()),
    })?;
    let url = event_url(&settings).map_err(|reason| invalid("host", reason))?;
    state
        .delivery
        .policy()
        .check_url(&url)
        .map_err(|refused| invalid("host", format!("the address policy refuses it: {refused}")))?;
    Ok(settings)
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/splunk/add", tag = "canary",
    summary = "Sets a flock's Splunk HEC (one per flock: adding again replaces it).",
    request_body = SplunkAdd, responses((status = 200, description = "Success.", body = Done)))]
async fn add(State(state): State<AppState>, request: Canary<SplunkAdd>) -> Result<Json<Done>, ApiError> {
    added(&state, &request).await?;
    Ok(Json(Done::default()))
}

/// Sets a scope's Splunk HEC from the API's parameters (the console's add form).
pub async fn add_webhook(state: &AppState, params: &Params) -> Result<(), ApiError> {
    added(state, &Canary::from_params(params)?).await
}

async fn added(state: &AppState, request: &Canary<SplunkAdd>) -> Result<(), ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, flock_id(&request.params.flock_id)?)?;
    let settings = settings(state, &request.params)?;
    let host = format!("{}:{}", settings.host, settings.port);
    let destination = new_destination(scope.clone(), "", Channel::SplunkHec(settings));
    // The API's HEC of a scope always has this one id, so any other is the config file's.
    let existing = of_kind(&catalogue, &scope, ChannelKind::SplunkHec);
    if let Some(declared) = existing.iter().find(|hec| hec.id != destination.id) {
        return Err(ApiError::Conflict(format!(
            "the Splunk HEC of {scope} is declared in the config file ({}); change it there",
            declared.name
        )));
    }
    let replaced = catalogue.destination(&destination.id).is_some();
    match state.registry.add_destination(&destination, IfExists::Replace).await {
        Err(RegistryError::Store(StoreError::DeclaredInConfig(_))) => {
            return Err(ApiError::Conflict(format!("the Splunk HEC of {scope} is declared in the config file")))
        }
        other => other?,
    }
    tracing::info!(
        caller = %request.caller, flock = %scope, destination = %destination.id, kind = "splunk", %host, replaced,
        "Splunk HEC set through the API."
    );
    Ok(())
}

/// The flock's HEC: the API's, or the first the config file declares.
fn hec<'a>(catalogue: &'a crate::catalogue::Catalogue, scope: &crate::flock::Scope) -> Option<&'a Destination> {
    of_kind(catalogue, scope, ChannelKind::SplunkHec).into_iter().next()
}

#[utoipa::path(get, path = "/api/v1/flock/settings/webhooks/splunk", tag = "canary",
    summary = "A flock's Splunk HEC: host, port and the masked token (null when there is none).",
    params(FlockParams), responses((status = 200, description = "Success.", body = SplunkShown)))]
async fn show(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<SplunkShown>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, flock_id(&request.params.flock_id)?)?;
    let splunk_webhook = match hec(&catalogue, &scope).map(|destination| &destination.channel) {
        Some(Channel::SplunkHec(settings)) => Some(SplunkWebhook {
            host: settings.host.clone(),
            port: settings.port.to_string(),
            token: settings.token.last4(),
        }),
        _ => None,
    };
    let webhooks_enabled = webhooks_enabled(&catalogue, &scope);
    Ok(Json(SplunkShown { result: Success::Success, splunk_webhook, webhooks_enabled }))
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/splunk/remove", tag = "canary",
    summary = "Removes a flock's Splunk HEC (its queued notifications are cancelled).",
    request_body = FlockParams, responses((status = 200, description = "Success.", body = Done)))]
async fn remove_hec(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<Done>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, flock_id(&request.params.flock_id)?)?;
    let found = of_kind(&catalogue, &scope, ChannelKind::SplunkHec);
    if found.is_empty() {
        return Err(ApiError::NotFound(format!("{scope} has no Splunk HEC")));
    }
    remove(&state, request.caller, &scope, ChannelKind::SplunkHec, &found).await
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/splunk/test", tag = "canary",
    summary = "Sends a test event to a flock's Splunk HEC now.",
    request_body = FlockParams, responses((status = 200, description = "Success.", body = Done)))]
async fn test(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<Done>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, flock_id(&request.params.flock_id)?)?;
    let Some(destination) = hec(&catalogue, &scope) else {
        return Err(ApiError::NotFound(format!("{scope} has no Splunk HEC")));
    };
    test_notification(&state, destination, request.caller).await?;
    Ok(Json(Done::default()))
}
