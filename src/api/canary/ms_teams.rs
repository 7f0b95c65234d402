//! Microsoft Teams webhooks: `ms_teams/add`, `ms_teams` (list), `ms_teams/remove`,
//! `ms_teams/test`. Beyond the seed, `ms_teams/add` takes `format` =
//! `adaptive_card` (Workflows webhooks, the default) or `message_card` (legacy
//! Office 365 connectors).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    add_by_url, current, flock_id, list_urls, remove_by_url, scope, test_by_url, webhook_url, Canary, FlockParams,
    Params, Tested,
};
use crate::api::answer::{Done, Success};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::notify::teams::config::{TeamsFormat, TeamsSettings};
use crate::notify::{Channel, ChannelKind};

/// The Teams routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(add)).routes(routes!(list)).routes(routes!(remove)).routes(routes!(test))
}

/// The parameters of `ms_teams/add`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct TeamsAdd {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// A Microsoft Teams webhook URL.
    pub url: String,
    /// Extension: adaptive_card (Workflows, the default) or message_card (legacy connectors).
    pub format: Option<String>,
}

/// The parameters of `ms_teams/remove` and `ms_teams/test`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct TeamsUrl {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// A Microsoft Teams webhook URL.
    pub url: String,
}

/// The answer of the `ms_teams` list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TeamsUrls {
    /// The webhooks' URLs, user-info masked.
    pub ms_teams_webhooks: Vec<String>,
    pub result: Success,
    pub webhooks_enabled: bool,
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/ms_teams/add", tag = "canary",
    summary = "Adds a Microsoft Teams webhook to a flock.",
    request_body = TeamsAdd, responses((status = 200, description = "Success.", body = Done)))]
async fn add(State(state): State<AppState>, request: Canary<TeamsAdd>) -> Result<Json<Done>, ApiError> {
    added(&state, &request).await?;
    Ok(Json(Done::default()))
}

/// Adds a webhook of this channel from the API's parameters (the console's add form).
pub async fn add_webhook(state: &AppState, params: &Params) -> Result<(), ApiError> {
    added(state, &Canary::from_params(params)?).await
}

async fn added(state: &AppState, request: &Canary<TeamsAdd>) -> Result<(), ApiError> {
    let params = &request.params;
    let catalogue = current(state).await?;
    scope(&catalogue, flock_id(&params.flock_id)?)?;
    let url = webhook_url(state, "url", &params.url)?;
    let format = match params.format.as_deref() {
        None | Some("adaptive_card") => TeamsFormat::AdaptiveCard,
        Some("message_card") => TeamsFormat::MessageCard,
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "format",
                reason: "must be adaptive_card or message_card".into(),
            })
        }
    };
    let channel = Channel::MsTeams(TeamsSettings { url, format });
    add_by_url(state, request.caller, &params.flock_id, &catalogue, channel).await
}

#[utoipa::path(get, path = "/api/v1/flock/settings/webhooks/ms_teams", tag = "canary",
    summary = "The URLs of a flock's Microsoft Teams webhooks.",
    params(FlockParams), responses((status = 200, description = "Success.", body = TeamsUrls)))]
async fn list(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<TeamsUrls>, ApiError> {
    let (ms_teams_webhooks, webhooks_enabled) =
        list_urls(&state, &request.params.flock_id, ChannelKind::MsTeams).await?;
    Ok(Json(TeamsUrls { ms_teams_webhooks, result: Success::Success, webhooks_enabled }))
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/ms_teams/remove", tag = "canary",
    summary = "Removes a Microsoft Teams webhook from a flock (its queued notifications are cancelled).",
    request_body = TeamsUrl, responses((status = 200, description = "Success.", body = Done)))]
async fn remove(State(state): State<AppState>, request: Canary<TeamsUrl>) -> Result<Json<Done>, ApiError> {
    let TeamsUrl { flock_id, url } = &request.params;
    remove_by_url(&state, request.caller, (flock_id, url), ChannelKind::MsTeams).await
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/ms_teams/test", tag = "canary",
    summary = "Sends a test notification through a flock's Microsoft Teams webhook now.",
    request_body = TeamsUrl, responses((status = 200, description = "Success.", body = Tested)))]
async fn test(State(state): State<AppState>, request: Canary<TeamsUrl>) -> Result<Json<Tested>, ApiError> {
    let TeamsUrl { flock_id, url } = &request.params;
    test_by_url(&state, request.caller, (flock_id, url), ChannelKind::MsTeams).await
}
