//! A flock's webhook settings, with the resolver's semantics (DESIGN.md):
//! `enable` gives the flock its own enabled set, `disable` its own disabled set,
//! `use_global` hands it back to the global set. `is_enabled` answers the
//! effective state, `is_global` whether the flock follows the global set.
//!
//! For `flock_id=global`, `enable`/`disable` switch the global set itself (every
//! flock that follows it), `is_enabled` is that switch, `is_global` is always
//! true, and `use_global` is refused (the global set cannot follow itself).

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use serde_json::Value;

use super::{current, scope, success, webhooks_enabled, Params};
use crate::api::error::ApiError;
use crate::api::openapi::{Endpoint, Route, FLOCK_ID};
use crate::api::AppState;
use crate::flock::{FlockSettings, Scope, GLOBAL};

/// The settings routes with their descriptions.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flock/settings/webhooks/is_enabled",
                "Whether webhooks are in effect for a flock (its own setting, or the global set's when it follows it).",
                &[FLOCK_ID],
                &[("is_enabled", "boolean")],
            ),
            is_enabled,
        ),
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flock/settings/webhooks/is_global",
                "Whether a flock follows the global webhook set.",
                &[FLOCK_ID],
                &[("is_global", "boolean")],
            ),
            is_global,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/enable",
                "Gives a flock its own webhooks, switched on (for `global`: switches the global set on).",
                &[FLOCK_ID],
                &[],
            ),
            enable,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/disable",
                "Gives a flock its own webhooks, switched off (for `global`: switches the global set off).",
                &[FLOCK_ID],
                &[],
            ),
            disable,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/use_global",
                "Hands a flock back to the global webhook set.",
                &[FLOCK_ID],
                &[],
            ),
            use_global,
        ),
    ]
}

async fn is_enabled(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    Ok(success([("is_enabled", Value::from(webhooks_enabled(&catalogue, &scope)))]))
}

async fn is_global(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let is_global = match scope(&catalogue, params.flock_id()?)? {
        Scope::Global => true,
        Scope::Flock(id) => catalogue.flock_settings(&id).is_some_and(|settings| settings.use_global),
    };
    Ok(success([("is_global", Value::from(is_global))]))
}

/// Stores new settings for a flock (or the global switch) and applies them.
async fn set(state: &AppState, params: &Params, settings: FlockSettings, what: &str) -> Result<Json<Value>, ApiError> {
    let flock_id = params.flock_id()?;
    state.registry.set_flock_settings(flock_id, settings).await?;
    tracing::info!(caller = %params.caller, flock = %flock_id, change = what, "Flock webhook settings changed through the API.");
    Ok(success([]))
}

/// A change of a flock's webhook settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Its own set, switched on (for `global`: the global set on).
    Enable,
    /// Its own set, switched off (for `global`: the global set off).
    Disable,
    /// Back to the global set.
    UseGlobal,
}

/// Applies `change` to the flock `flock_id` (the API's `enable`, `disable`
/// and `use_global`, and the console's buttons).
pub async fn change(state: &AppState, params: &Params, change: Change) -> Result<(), ApiError> {
    match change {
        Change::Enable => set(state, params, FlockSettings { use_global: false, enabled: true }, "enable").await,
        Change::Disable => set(state, params, FlockSettings { use_global: false, enabled: false }, "disable").await,
        Change::UseGlobal => use_global_set(state, params).await,
    }
    .map(|_| ())
}

async fn enable(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    set(&state, &params, FlockSettings { use_global: false, enabled: true }, "enable").await
}

async fn disable(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    set(&state, &params, FlockSettings { use_global: false, enabled: false }, "disable").await
}

async fn use_global(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    use_global_set(&state, &params).await
}

async fn use_global_set(state: &AppState, params: &Params) -> Result<Json<Value>, ApiError> {
    let flock_id = params.flock_id()?;
    if flock_id == GLOBAL {
        return Err(ApiError::InvalidParameter {
            name: "flock_id",
            reason: "the global set cannot follow itself".into(),
        });
    }
    let catalogue = current(state).await?;
    let settings = catalogue.flock_settings(flock_id).ok_or_else(|| ApiError::UnknownFlock(flock_id.to_owned()))?;
    // `enabled` is kept: it is what the flock's own set returns to after `enable`/`disable`.
    set(state, params, FlockSettings { use_global: true, enabled: settings.enabled }, "use_global").await
}
