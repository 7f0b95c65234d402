//! Microsoft Teams webhooks: `ms_teams/add`, `ms_teams` (list), `ms_teams/remove`,
//! `ms_teams/test`. Beyond the seed, `ms_teams/add` takes `format` =
//! `adaptive_card` (Workflows webhooks, the default) or `message_card` (legacy
//! Office 365 connectors).

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use serde_json::Value;

use super::{add_by_url, current, list_urls, remove_by_url, scope, success, test_by_url, webhook_url, Params};
use crate::api::error::ApiError;
use crate::api::openapi::{optional, required, Endpoint, Param, Route, FLOCK_ID};
use crate::api::AppState;
use crate::notify::teams::config::{TeamsFormat, TeamsSettings};
use crate::notify::{Channel, ChannelKind};

const URL: Param = required("url", "A Microsoft Teams webhook URL.");

/// The Teams routes with their descriptions.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/ms_teams/add",
                "Adds a Microsoft Teams webhook to a flock.",
                &[
                    FLOCK_ID,
                    URL,
                    optional(
                        "format",
                        "Extension: adaptive_card (Workflows, the default) or message_card (legacy connectors).",
                    ),
                ],
                &[],
            ),
            add,
        ),
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flock/settings/webhooks/ms_teams",
                "The URLs of a flock's Microsoft Teams webhooks.",
                &[FLOCK_ID],
                &[("ms_teams_webhooks", "array"), ("webhooks_enabled", "boolean")],
            ),
            list,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/ms_teams/remove",
                "Removes a Microsoft Teams webhook from a flock (its queued notifications are cancelled).",
                &[FLOCK_ID, URL],
                &[],
            ),
            remove,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/ms_teams/test",
                "Sends a test notification through a flock's Microsoft Teams webhook now.",
                &[FLOCK_ID, URL],
                &[("webhook", "string")],
            ),
            test,
        ),
    ]
}

async fn add(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    add_webhook(&state, &params).await?;
    Ok(success([]))
}

/// Adds a webhook of this channel from the API's parameters (the API's
/// `…/add` and the console's add form).
pub async fn add_webhook(state: &AppState, params: &Params) -> Result<(), ApiError> {
    let catalogue = current(state).await?;
    scope(&catalogue, params.flock_id()?)?;
    let url = webhook_url(state, "url", params.required("url")?)?;
    let format = match params.optional("format") {
        None | Some("adaptive_card") => TeamsFormat::AdaptiveCard,
        Some("message_card") => TeamsFormat::MessageCard,
        Some(_) => {
            return Err(ApiError::InvalidParameter {
                name: "format",
                reason: "must be adaptive_card or message_card".into(),
            })
        }
    };
    add_by_url(state, params, &catalogue, Channel::MsTeams(TeamsSettings { url, format })).await
}

async fn list(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    list_urls(&state, &params, ChannelKind::MsTeams, "ms_teams_webhooks").await
}

async fn remove(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    remove_by_url(&state, &params, ChannelKind::MsTeams).await
}

async fn test(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    test_by_url(&state, &params, ChannelKind::MsTeams).await
}
