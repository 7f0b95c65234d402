//! Flocks: `ping`, `flock/create`, `flocks/list`, `flock/rename`, `flock/delete`.
//! `flock:default` always exists and cannot be deleted; `global` names the
//! console-wide set in the settings endpoints and is not a flock here.

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use serde_json::{Map, Value};

use super::{current, success, Params};
use crate::api::error::ApiError;
use crate::api::openapi::{required, Endpoint, Param, Route, FLOCK_ID};
use crate::api::AppState;
use crate::flock::{FlockSettings, GLOBAL};
use crate::store::{FlockRecord, Origin};

/// Longest flock name.
pub const MAX_NAME_LEN: usize = 100;

const NAME: Param = required("name", "The flock's display name (1 to 100 characters).");

/// The flock routes with their descriptions.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Endpoint::canary(Method::GET, "/api/v1/ping", "Checks the API token.", &[], &[]), ping),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/create",
                "Creates a flock; it follows the global webhook set until told otherwise.",
                &[NAME],
                &[("flock_id", "string")],
            ),
            create,
        ),
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flocks/list",
                "Lists the flocks as {flock_id: name}.",
                &[],
                &[("flocks", "object")],
            ),
            list,
        ),
        Route::new(
            Endpoint::canary(Method::POST, "/api/v1/flock/rename", "Renames a flock.", &[FLOCK_ID, NAME], &[]),
            rename,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/delete",
                "Deletes a flock and its webhooks (their queued notifications are cancelled).",
                &[FLOCK_ID],
                &[],
            ),
            delete,
        ),
    ]
}

async fn ping(_params: Params) -> Json<Value> {
    success([])
}

fn flock_name(params: &Params) -> Result<String, ApiError> {
    let name = params.required("name")?.trim();
    let invalid = |reason: &str| ApiError::InvalidParameter { name: "name", reason: reason.to_owned() };
    if name.chars().count() > MAX_NAME_LEN {
        return Err(invalid("must be at most 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters"));
    }
    Ok(name.to_owned())
}

async fn create(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let id = create_flock(&state, &params).await?;
    Ok(success([("flock_id", Value::from(id))]))
}

/// Creates a flock named by the `name` parameter; returns its id.
pub async fn create_flock(state: &AppState, params: &Params) -> Result<String, ApiError> {
    let name = flock_name(params)?;
    let id = format!("flock:{}", uuid::Uuid::new_v4().simple());
    let flock = FlockRecord { id: id.clone(), name, settings: FlockSettings::default(), origin: Origin::Api };
    state.registry.create_flock(&flock).await?;
    tracing::info!(caller = %params.caller, flock = %id, "Flock created through the API.");
    Ok(id)
}

async fn list(State(state): State<AppState>, _params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let flocks: Map<String, Value> = catalogue
        .flocks()
        .filter(|flock| flock.id != GLOBAL)
        .map(|flock| (flock.id.clone(), Value::from(flock.name.as_str())))
        .collect();
    Ok(success([("flocks", Value::Object(flocks))]))
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

async fn rename(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    rename_flock(&state, &params).await?;
    Ok(success([]))
}

/// Renames the flock `flock_id` to `name`.
pub async fn rename_flock(state: &AppState, params: &Params) -> Result<(), ApiError> {
    let id = flock_only(params.flock_id()?)?;
    let name = flock_name(params)?;
    state.registry.rename_flock(id, &name).await?;
    tracing::info!(caller = %params.caller, flock = %id, "Flock renamed through the API.");
    Ok(())
}

async fn delete(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    delete_flock(&state, &params).await?;
    Ok(success([]))
}

/// Deletes the flock `flock_id` with its webhooks, if the registry's
/// ownership rule allows.
pub async fn delete_flock(state: &AppState, params: &Params) -> Result<(), ApiError> {
    let id = flock_only(params.flock_id()?)?;
    state.registry.delete_flock(id).await?;
    tracing::info!(caller = %params.caller, flock = %id, "Flock deleted through the API, with its webhooks.");
    Ok(())
}
