//! Splunk HTTP Event Collector: `splunk/add` (one HEC per flock; adding again
//! replaces it, and notifications still queued go to the new settings), `splunk`
//! (host, port, and the token masked but for its last 4 characters),
//! `splunk/remove`, `splunk/test`.
//!
//! Beyond the seed, `splunk/add` takes `https` (default true; false needs
//! `delivery.allow_http`) and `index`.

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use serde_json::{json, Value};

use super::{
    current, new_destination, of_kind, refuse_invalid, remove, scope, success, test_notification, webhooks_enabled,
    Params,
};
use crate::api::error::ApiError;
use crate::api::openapi::{optional, required, Endpoint, Route, FLOCK_ID};
use crate::api::AppState;
use crate::catalogue::registry::RegistryError;
use crate::destination::Destination;
use crate::notify::splunk_hec::config::SplunkHecSettings;
use crate::notify::splunk_hec::event_url;
use crate::notify::{Channel, ChannelKind};
use crate::secret::Secret;
use crate::store::{IfExists, StoreError};

/// The Splunk routes with their descriptions.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/splunk/add",
                "Sets a flock's Splunk HEC (one per flock: adding again replaces it).",
                &[
                    FLOCK_ID,
                    required("host", "A domain name or IP address of the Splunk HEC."),
                    required("port", "The port the HEC listens on (1-65535)."),
                    required("token", "The HEC token; write-only (shown masked but for its last 4 characters)."),
                    optional(
                        "https",
                        "Extension: true (default) or false for a plain-HTTP lab HEC (needs delivery.allow_http).",
                    ),
                    optional("index", "Extension: the index to write to (the token's default when unset)."),
                ],
                &[],
            ),
            add,
        ),
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flock/settings/webhooks/splunk",
                "A flock's Splunk HEC: host, port and the masked token (null when there is none).",
                &[FLOCK_ID],
                &[("splunk_webhook", "object"), ("webhooks_enabled", "boolean")],
            ),
            show,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/splunk/remove",
                "Removes a flock's Splunk HEC (its queued notifications are cancelled).",
                &[FLOCK_ID],
                &[],
            ),
            remove_hec,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/splunk/test",
                "Sends a test event to a flock's Splunk HEC now.",
                &[FLOCK_ID],
                &[],
            ),
            test,
        ),
    ]
}

fn invalid(name: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter { name, reason: reason.into() }
}

/// The HEC settings from the API's parameters, checked by
/// [`SplunkHecSettings::validate`] (as the config file's are) and by the address policy.
fn settings(state: &AppState, params: &Params) -> Result<SplunkHecSettings, ApiError> {
    let host = params.required("host")?.trim();
    let port = params
        .required("port")?
        .trim()
        .parse::<u16>()
        .map_err(|_| invalid("port", "must be a number from 1 to 65535"))?;
    let mut settings = SplunkHecSettings::new(host, port, Secret::new(params.required("token")?));
    if let Some(https) = params.flag("https")? {
        settings.https = https;
    }
    settings.index = params.optional("index").map(str::to_owned);
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

async fn add(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    add_webhook(&state, &params).await?;
    Ok(success([]))
}

/// Sets a scope's Splunk HEC from the API's parameters (the API's
/// `splunk/add` and the console's add form).
pub async fn add_webhook(state: &AppState, params: &Params) -> Result<(), ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let settings = settings(state, params)?;
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
        caller = %params.caller, flock = %scope, destination = %destination.id, kind = "splunk", %host, replaced,
        "Splunk HEC set through the API."
    );
    Ok(())
}

/// The flock's HEC: the API's, or the first the config file declares.
fn hec<'a>(catalogue: &'a crate::catalogue::Catalogue, scope: &crate::flock::Scope) -> Option<&'a Destination> {
    of_kind(catalogue, scope, ChannelKind::SplunkHec).into_iter().next()
}

async fn show(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let webhook = match hec(&catalogue, &scope).map(|destination| &destination.channel) {
        Some(Channel::SplunkHec(settings)) => json!({
            "host": settings.host,
            "port": settings.port.to_string(),
            "token": settings.token.last4(),
        }),
        _ => Value::Null,
    };
    Ok(success([("splunk_webhook", webhook), ("webhooks_enabled", Value::from(webhooks_enabled(&catalogue, &scope)))]))
}

async fn remove_hec(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let found = of_kind(&catalogue, &scope, ChannelKind::SplunkHec);
    if found.is_empty() {
        return Err(ApiError::NotFound(format!("{scope} has no Splunk HEC")));
    }
    remove(&state, &params, &scope, ChannelKind::SplunkHec, &found).await
}

async fn test(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let Some(destination) = hec(&catalogue, &scope) else {
        return Err(ApiError::NotFound(format!("{scope} has no Splunk HEC")));
    };
    test_notification(&state, destination, params.caller).await?;
    Ok(success([]))
}
