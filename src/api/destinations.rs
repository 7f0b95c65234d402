//! A destination's state through the operator API: re-enable one that an
//! operator or its channel (410 Gone) disabled, or disable one, with a reason.
//! The state is kept in the store apart from the settings, so the config file
//! applied at the next start or reload does not undo it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::openapi::{Auth, Endpoint, In, Param, Route};
use super::AppState;
use crate::destination::Destination;
use crate::store::{DestinationState, StateRecord};

/// Longest reason an operator may give.
pub const MAX_REASON_LEN: usize = 500;

const ID: Param = Param { name: "id", location: In::Path, required: true, description: "The destination id." };

/// The state routes with their descriptions.
pub fn routes() -> Vec<Route> {
    use axum::http::Method;
    vec![
        Route::new(
            Endpoint::new(
                Auth::Token,
                Method::POST,
                "/api/v1/destinations/{id}/enable",
                "Re-enables a destination an operator or its channel (410 Gone) disabled; its queued messages go out again.",
                &[ID],
                &[("destination", "object")],
            ),
            enable,
        ),
        Route::new(
            Endpoint::new(
                Auth::Token,
                Method::POST,
                "/api/v1/destinations/{id}/disable",
                "Disables a destination until it is re-enabled; its queued messages wait.",
                &[
                    ID,
                    Param {
                        name: "reason",
                        location: In::Query,
                        required: false,
                        description: "Why, kept with the state (at most 500 characters).",
                    },
                ],
                &[("destination", "object")],
            ),
            disable,
        ),
    ]
}

/// How a destination's state is shown: `enabled` (what applies), `state`,
/// `state_reason`, `state_changed_at`.
pub fn state_fields(destination: &Destination, record: Option<&StateRecord>) -> Value {
    let (state, reason, changed_at) = crate::store::effective_state(destination, record);
    json!({
        "enabled": destination.enabled,
        "state": state,
        "state_reason": reason,
        "state_changed_at": changed_at,
    })
}

/// Query parameters of `…/disable`.
#[derive(Debug, Deserialize)]
pub struct ReasonQuery {
    reason: Option<String>,
}

/// `POST /api/v1/destinations/{id}/enable`: lifts any stored verdict.
pub async fn enable(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    change(&state, &id, DestinationState::Enabled, None, peer).await
}

/// `POST /api/v1/destinations/{id}/disable`: the operator's verdict, with a reason.
pub async fn disable(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(id): Path<String>,
    Query(query): Query<ReasonQuery>,
) -> Result<Json<Value>, ApiError> {
    let reason = query.reason.unwrap_or_else(|| "disabled by an operator".to_owned());
    if reason.trim().is_empty() || reason.chars().count() > MAX_REASON_LEN || reason.chars().any(char::is_control) {
        return Err(ApiError::InvalidParameter {
            name: "reason",
            reason: format!("must be 1 to {MAX_REASON_LEN} characters, without control characters"),
        });
    }
    change(&state, &id, DestinationState::DisabledByOperator, Some(&reason), peer).await
}

async fn change(
    state: &AppState,
    id: &str,
    to: DestinationState,
    reason: Option<&str>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
) -> Result<Json<Value>, ApiError> {
    state.registry.set_destination_state(id, to, reason).await?;
    let peer = peer.map(|Extension(ConnectInfo(peer))| peer.to_string()).unwrap_or_default();
    tracing::info!(destination = %id, state = to.as_str(), reason = reason.unwrap_or_default(), %peer, "Destination state changed through the API.");
    let catalogue = state.delivery.catalogue();
    let destination =
        catalogue.destination(id).ok_or_else(|| ApiError::NotFound(format!("destination {id} not found")))?;
    let mut shown = json!({"id": destination.id, "name": destination.name});
    if let (Some(shown), Value::Object(fields)) =
        (shown.as_object_mut(), state_fields(destination, catalogue.state(id)))
    {
        shown.extend(fields);
    }
    Ok(Json(json!({"result": "success", "destination": shown})))
}
