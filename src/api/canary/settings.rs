//! A flock's webhook settings, with the resolver's semantics (DESIGN.md):
//! `enable` gives the flock its own enabled set, `disable` its own disabled set,
//! `use_global` hands it back to the global set. `is_enabled` answers the
//! effective state, `is_global` whether the flock follows the global set.
//!
//! For `flock_id=global`, `enable`/`disable` switch the global set itself (every
//! flock that follows it), `is_enabled` is that switch, `is_global` is always
//! true, and `use_global` is refused (the global set cannot follow itself).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{current, flock_id, scope, webhooks_enabled, Caller, Canary, FlockParams, Params};
use crate::api::answer::{Done, Success};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::flock::{FlockSettings, Scope, GLOBAL};

/// The settings routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(is_enabled))
        .routes(routes!(is_global))
        .routes(routes!(enable))
        .routes(routes!(disable))
        .routes(routes!(use_global))
}

/// The answer of `is_enabled`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IsEnabled {
    pub is_enabled: bool,
    pub result: Success,
}

/// The answer of `is_global`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IsGlobal {
    pub is_global: bool,
    pub result: Success,
}

#[utoipa::path(get, path = "/api/v1/flock/settings/webhooks/is_enabled", tag = "canary",
    summary = "Whether webhooks are in effect for a flock (its own setting, or the global set's when it follows it).",
    params(FlockParams), responses((status = 200, description = "Success.", body = IsEnabled)))]
async fn is_enabled(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<IsEnabled>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, flock_id(&request.params.flock_id)?)?;
    Ok(Json(IsEnabled { is_enabled: webhooks_enabled(&catalogue, &scope), result: Success::Success }))
}

#[utoipa::path(get, path = "/api/v1/flock/settings/webhooks/is_global", tag = "canary",
    summary = "Whether a flock follows the global webhook set.",
    params(FlockParams), responses((status = 200, description = "Success.", body = IsGlobal)))]
async fn is_global(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<IsGlobal>, ApiError> {
    let catalogue = current(&state).await?;
    let is_global = match scope(&catalogue, flock_id(&request.params.flock_id)?)? {
        Scope::Global => true,
        Scope::Flock(id) => catalogue.flock_settings(&id).is_some_and(|settings| settings.use_global),
    };
    Ok(Json(IsGlobal { is_global, result: Success::Success }))
}

/// Stores new settings for a flock (or the global switch) and applies them.
async fn set(
    state: &AppState,
    request: &Canary<FlockParams>,
    settings: FlockSettings,
    what: &str,
) -> Result<Json<Done>, ApiError> {
    let flock_id = flock_id(&request.params.flock_id)?;
    state.registry.set_flock_settings(flock_id, settings).await?;
    let caller: Caller = request.caller;
    tracing::info!(%caller, flock = %flock_id, change = what, "Flock webhook settings changed through the API.");
    Ok(Json(Done::default()))
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
    let request = Canary::from_params(params)?;
    match change {
        Change::Enable => set(state, &request, FlockSettings { use_global: false, enabled: true }, "enable").await,
        Change::Disable => set(state, &request, FlockSettings { use_global: false, enabled: false }, "disable").await,
        Change::UseGlobal => use_global_set(state, &request).await,
    }
    .map(|_| ())
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/enable", tag = "canary",
    summary = "Gives a flock its own webhooks, switched on (for `global`: switches the global set on).",
    request_body = FlockParams, responses((status = 200, description = "Success.", body = Done)))]
async fn enable(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<Done>, ApiError> {
    set(&state, &request, FlockSettings { use_global: false, enabled: true }, "enable").await
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/disable", tag = "canary",
    summary = "Gives a flock its own webhooks, switched off (for `global`: switches the global set off).",
    request_body = FlockParams, responses((status = 200, description = "Success.", body = Done)))]
async fn disable(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<Done>, ApiError> {
    set(&state, &request, FlockSettings { use_global: false, enabled: false }, "disable").await
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/use_global", tag = "canary",
    summary = "Hands a flock back to the global webhook set.",
    request_body = FlockParams, responses((status = 200, description = "Success.", body = Done)))]
async fn use_global(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<Done>, ApiError> {
    use_global_set(&state, &request).await
}

async fn use_global_set(state: &AppState, request: &Canary<FlockParams>) -> Result<Json<Done>, ApiError> {
    let flock_id = flock_id(&request.params.flock_id)?;
    if flock_id == GLOBAL {
        return Err(ApiError::InvalidParameter {
            name: "flock_id",
            reason: "the global set cannot follow itself".into(),
        });
    }
    let catalogue = current(state).await?;
    let settings = catalogue.flock_settings(flock_id).ok_or_else(|| ApiError::UnknownFlock(flock_id.to_owned()))?;
    // `enabled` is kept: it is what the flock's own set returns to after `enable`/`disable`.
    set(state, request, FlockSettings { use_global: true, enabled: settings.enabled }, "use_global").await
}
