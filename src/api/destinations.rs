//! A destination's state through the operator API: re-enable one that an
//! operator or its channel (410 Gone) disabled, or disable one, with a reason.
//! The state is kept in the store apart from the settings, so the config file
//! applied at the next start or reload does not undo it.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::Success;
use super::error::ApiError;
use super::AppState;
use crate::destination::Destination;
use crate::store::{DestinationState, StateRecord};

/// Longest `reason` an operator may give.
pub const MAX_REASON_LEN: usize = 500;

/// The destination state routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(enable)).routes(routes!(disable))
}

/// A destination's state as answers show it: `enabled` (the config's),
/// `state`, and why and when it last changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateFields {
    pub enabled: bool,
    /// enabled, disabled_by_operator or disabled_by_channel.
    #[schema(value_type = String)]
    pub state: DestinationState,
    pub state_reason: Option<String>,
    pub state_changed_at: Option<DateTime<Utc>>,
}

impl StateFields {
    /// The effective state of `destination` given its stored state record.
    pub fn of(destination: &Destination, record: Option<&StateRecord>) -> Self {
        let (state, reason, changed_at) = crate::store::effective_state(destination, record);
        Self {
            enabled: destination.enabled,
            state,
            state_reason: reason.map(str::to_owned),
            state_changed_at: changed_at,
        }
    }
}

/// A destination as a state change answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateView {
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub state: StateFields,
}

/// The answer of `enable` and `disable`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StateChanged {
    pub result: Success,
    pub destination: StateView,
}

/// Query parameters of `disable`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReasonQuery {
    /// Why, kept with the state (at most 500 characters).
    reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/destinations/{id}/enable", tag = "operator",
    summary = "Re-enables a destination an operator or its channel (410 Gone) disabled; its queued messages go out again.",
    params(("id" = String, Path, description = "The destination id.")),
    responses((status = 200, description = "Success.", body = StateChanged)))]
pub async fn enable(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(id): Path<String>,
) -> Result<Json<StateChanged>, ApiError> {
    change(&state, &id, DestinationState::Enabled, None, peer).await
}

#[utoipa::path(post, path = "/api/v1/destinations/{id}/disable", tag = "operator",
    summary = "Disables a destination until it is re-enabled; its queued messages wait.",
    params(("id" = String, Path, description = "The destination id."), ReasonQuery),
    responses((status = 200, description = "Success.", body = StateChanged)))]
pub async fn disable(
    State(state): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Path(id): Path<String>,
    Query(query): Query<ReasonQuery>,
) -> Result<Json<StateChanged>, ApiError> {
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
) -> Result<Json<StateChanged>, ApiError> {
    state.registry.set_destination_state(id, to, reason).await?;
    let peer = peer.map(|Extension(ConnectInfo(peer))| peer.to_string()).unwrap_or_default();
    tracing::info!(destination = %id, state = to.as_str(), reason = reason.unwrap_or_default(), %peer, "Destination state changed through the API.");
    let catalogue = state.delivery.catalogue();
    let destination =
        catalogue.destination(id).ok_or_else(|| ApiError::NotFound(format!("destination {id} not found")))?;
    let state = StateFields::of(destination, catalogue.state(id));
    let destination = StateView { id: destination.id.clone(), name: destination.name.clone(), state };
    Ok(Json(StateChanged { result: Success::Success, destination }))
}
