//! Flocks: `ping`, `flock/create`, `flocks/list`, `flock/rename`, `flock/delete`.
//! `flock:default` always exists and cannot be deleted; `global` names the
//! console-wide set in the settings endpoints and is not a flock here.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{current, flock_id, Caller, Canary, FlockParams, Params};
use crate::api::answer::{Done, Success};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::flock::{FlockSettings, GLOBAL};
use crate::store::{FlockRecord, Origin};

/// Longest flock name.
pub const MAX_NAME_LEN: usize = 100;

/// The flock routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ping))
        .routes(routes!(create))
        .routes(routes!(list))
        .routes(routes!(rename))
        .routes(routes!(delete))
}

/// The parameters of `flock/create`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct CreateParams {
    /// The flock's display name (1 to 100 characters).
    pub name: String,
}

/// The parameters of `flock/rename`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct RenameParams {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// The flock's display name (1 to 100 characters).
    pub name: String,
}

/// The answer of `flock/create`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Created {
    /// The new flock's id.
    pub flock_id: String,
    pub result: Success,
}

/// The answer of `flocks/list`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlockList {
    /// Every flock as `{flock_id: name}`.
    pub flocks: BTreeMap<String, String>,
    pub result: Success,
}

#[utoipa::path(get, path = "/api/v1/ping", tag = "canary", summary = "Checks the API token.",
    responses((status = 200, description = "Success.", body = Done)))]
async fn ping(_request: Canary<serde::de::IgnoredAny>) -> Json<Done> {
    Json(Done::default())
}

fn flock_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    let invalid = |reason: &str| ApiError::InvalidParameter { name: "name", reason: reason.to_owned() };
    if name.chars().count() > MAX_NAME_LEN {
        return Err(invalid("must be at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(name.to_owned())
}

#[utoipa::path(post, path = "/api/v1/flock/create", tag = "canary",
    summary = "Creates a flock; it follows the global webhook set until told otherwise.",
    request_body = CreateParams, responses((status = 200, description = "Success.", body = Created)))]
async fn create(State(state): State<AppState>, request: Canary<CreateParams>) -> Result<Json<Created>, ApiError> {
    let flock_id = new_flock(&state, &request.params.name, request.caller).await?;
    Ok(Json(Created { flock_id, result: Success::Success }))
}

/// Creates a flock named by the `name` parameter (the console's form); returns its id.
pub async fn create_flock(state: &AppState, params: &Params) -> Result<String, ApiError> {
    let request: Canary<CreateParams> = Canary::from_params(params)?;
    new_flock(state, &request.params.name, request.caller).await
}

async fn new_flock(state: &AppState, name: &str, caller: Caller) -> Result<String, ApiError> {
    let name = flock_name(name)?;
    let id = format!("flock:{}", uuid::Uuid::new_v4().simple());
    let flock = FlockRecord { id: id.clone(), name, settings: FlockSettings::default(), origin: Origin::Api };
    state.registry.create_flock(&flock).await?;
    tracing::info!(%caller, flock = %id, "Flock created through the API.");
    Ok(id)
}

#[utoipa::path(get, path = "/api/v1/flocks/list", tag = "canary", summary = "Lists the flocks as {flock_id: name}.",
    responses((status = 200, description = "Success.", body = FlockList)))]
async fn list(
    State(state): State<AppState>,
    _request: Canary<serde::de::IgnoredAny>,
) -> Result<Json<FlockList>, ApiError> {
    let catalogue = current(&state).await?;
    let flocks = catalogue
        .flocks()
        .filter(|flock| flock.id != GLOBAL)
        .map(|flock| (flock.id.clone(), flock.name.clone()))
        .collect();
    Ok(Json(FlockList { flocks, result: Success::Success }))
}

/// A flock id that names a real flock (not the global set).
fn flock_only(flock_id: &str) -> Result<&str, ApiError> {
    if flock_id == GLOBAL {
        return Err(ApiError::InvalidParameter {
            name: "flock_id",
            reason: "`global` is the console-wide webhook set, not a flock".into(),
        });
    }
    Ok(flock_id)
}

#[utoipa::path(post, path = "/api/v1/flock/rename", tag = "canary", summary = "Renames a flock.",
    request_body = RenameParams, responses((status = 200, description = "Success.", body = Done)))]
async fn rename(State(state): State<AppState>, request: Canary<RenameParams>) -> Result<Json<Done>, ApiError> {
    renamed(&state, &request).await?;
    Ok(Json(Done::default()))
}

/// Renames the flock `flock_id` to `name` (the console's form).
pub async fn rename_flock(state: &AppState, params: &Params) -> Result<(), ApiError> {
    renamed(state, &Canary::from_params(params)?).await
}

async fn renamed(state: &AppState, request: &Canary<RenameParams>) -> Result<(), ApiError> {
    let id = flock_only(flock_id(&request.params.flock_id)?)?;
    let name = flock_name(&request.params.name)?;
    state.registry.rename_flock(id, &name).await?;
    tracing::info!(caller = %request.caller, flock = %id, "Flock renamed through the API.");
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/flock/delete", tag = "canary",
    summary = "Deletes a flock and its webhooks (their queued notifications are cancelled).",
    request_body = FlockParams, responses((status = 200, description = "Success.", body = Done)))]
async fn delete(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<Done>, ApiError> {
    deleted(&state, &request).await?;
    Ok(Json(Done::default()))
}

/// Deletes the flock `flock_id` with its webhooks, if the registry's
/// ownership rule allows (the console's button).
pub async fn delete_flock(state: &AppState, params: &Params) -> Result<(), ApiError> {
    deleted(state, &Canary::from_params(params)?).await
}

async fn deleted(state: &AppState, request: &Canary<FlockParams>) -> Result<(), ApiError> {
    let id = flock_only(flock_id(&request.params.flock_id)?)?;
    state.registry.delete_flock(id).await?;
    tracing::info!(caller = %request.caller, flock = %id, "Flock deleted through the API, with its webhooks.");
    Ok(())
}
