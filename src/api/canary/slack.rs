//! Slack incoming webhooks: `slack` (list), `slack/remove` (by `team` and
//! `channel`, or by `url`), `slack/test`, and `slack/add`.
//!
//! The seed keeps Slack creation out of its API because its console goes
//! through Slack's OAuth flow. An incoming-webhook URL needs no OAuth on our
//! side, so `slack/add` (`url`, optional `team`, `channel`, `configuration_url`,
//! which are informational and shown by the list) is offered as an extension.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{
    add_by_url, current, flock_id, lookup_url, of_kind, refuse_invalid, remove, scope, test_by_url, webhook_url,
    webhooks_enabled, with_url, Canary, FlockParams, Params, Tested,
};
use crate::api::answer::{Done, Success};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::destination::Destination;
use crate::notify::slack::config::SlackSettings;
use crate::notify::{Channel, ChannelKind};
use crate::secret::{mask_url, mask_url_text};

/// The Slack routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add))
        .routes(routes!(list))
        .routes(routes!(remove_webhook))
        .routes(routes!(test))
}

/// The parameters of `slack/add`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct SlackAdd {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// A Slack incoming-webhook URL (https://hooks.slack.com/services/…).
    pub url: String,
    /// The Slack workspace the webhook posts to (informational).
    pub team: Option<String>,
    /// The channel the webhook posts to (informational).
    pub channel: Option<String>,
    /// Where the webhook is managed in Slack (informational).
    pub configuration_url: Option<String>,
}

/// The parameters of `slack/remove`: `team` and `channel`, or `url`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct SlackRemove {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// Slack team tied to the webhook (with channel).
    pub team: Option<String>,
    /// Slack channel tied to the webhook (with team).
    pub channel: Option<String>,
    /// The webhook URL (instead of team and channel).
    pub url: Option<String>,
}

/// The parameters of `slack/test`.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
pub struct SlackUrl {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
    /// The webhook URL.
    pub url: String,
}

/// One Slack webhook as the list shows it (blank when not given).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlackWebhook {
    pub channel: String,
    /// User-info masked.
    pub configuration_url: String,
    pub team: String,
    /// User-info masked.
    pub url: String,
}

/// The answer of the `slack` list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SlackList {
    pub result: Success,
    pub slack_webhooks: Vec<SlackWebhook>,
    pub webhooks_enabled: bool,
}

/// An informational label, trimmed; [`SlackSettings::validate`] bounds it.
fn label(value: &Option<String>) -> Option<String> {
    value.as_deref().map(|value| value.trim().to_owned())
}

/// `#soc` and `soc` name the same channel.
fn same_channel(stored: Option<&str>, given: &str) -> bool {
    stored.is_some_and(|stored| stored.trim_start_matches('#') == given.trim_start_matches('#'))
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/slack/add", tag = "canary",
    summary = "Extension: adds a Slack incoming webhook to a flock.",
    request_body = SlackAdd, responses((status = 200, description = "Success.", body = Done)))]
async fn add(State(state): State<AppState>, request: Canary<SlackAdd>) -> Result<Json<Done>, ApiError> {
    added(&state, &request).await?;
    Ok(Json(Done::default()))
}

/// Adds a webhook of this channel from the API's parameters (the console's add form).
pub async fn add_webhook(state: &AppState, params: &Params) -> Result<(), ApiError> {
    added(state, &Canary::from_params(params)?).await
}

async fn added(state: &AppState, request: &Canary<SlackAdd>) -> Result<(), ApiError> {
    let params = &request.params;
    let catalogue = current(state).await?;
    scope(&catalogue, flock_id(&params.flock_id)?)?;
    let url = webhook_url(state, "url", &params.url)?;
    let configuration_url = match params.configuration_url.as_deref() {
        Some(text) => Some(lookup_url("configuration_url", text)?.to_string()),
        None => None,
    };
    let settings = SlackSettings { url, channel: label(&params.channel), team: label(&params.team), configuration_url };
    // Every field of the settings is the API parameter of the same name.
    refuse_invalid(settings.validate(state.allow_http), |invalid| match invalid.field.as_str() {
        "team" => ("team", invalid.reason.clone()),
        "channel" => ("channel", invalid.reason.clone()),
        "configuration_url" => ("configuration_url", invalid.reason.clone()),
        _ => ("url", invalid.reason.clone()),
    })?;
    add_by_url(state, request.caller, &params.flock_id, &catalogue, Channel::Slack(settings)).await
}

#[utoipa::path(get, path = "/api/v1/flock/settings/webhooks/slack", tag = "canary",
    summary = "A flock's Slack webhooks: channel, configuration_url, team and url.",
    params(FlockParams), responses((status = 200, description = "Success.", body = SlackList)))]
async fn list(State(state): State<AppState>, request: Canary<FlockParams>) -> Result<Json<SlackList>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, flock_id(&request.params.flock_id)?)?;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let slack_webhooks = of_kind(&catalogue, &scope, ChannelKind::Slack)
        .into_iter()
        .filter_map(|destination| match &destination.channel {
            Channel::Slack(settings) => Some(SlackWebhook {
                channel: text(&settings.channel),
                configuration_url: settings.configuration_url.as_deref().map(mask_url_text).unwrap_or_default(),
                team: text(&settings.team),
                url: mask_url(&settings.url),
            }),
            _ => None,
        })
        .collect();
    let webhooks_enabled = webhooks_enabled(&catalogue, &scope);
    Ok(Json(SlackList { result: Success::Success, slack_webhooks, webhooks_enabled }))
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/slack/remove", tag = "canary",
    summary = "Removes a flock's Slack webhook, named by team and channel or by url.",
    request_body = SlackRemove, responses((status = 200, description = "Success.", body = Done)))]
async fn remove_webhook(State(state): State<AppState>, request: Canary<SlackRemove>) -> Result<Json<Done>, ApiError> {
    let params = &request.params;
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, flock_id(&params.flock_id)?)?;
    let found: Vec<&Destination> = if let Some(url) = params.url.as_deref() {
        with_url(&catalogue, &scope, ChannelKind::Slack, &lookup_url("url", url)?)
    } else {
        let (Some(team), Some(channel)) = (params.team.as_deref(), params.channel.as_deref()) else {
            return Err(ApiError::BadRequest("missing parameter url (or team and channel)".into()));
        };
        of_kind(&catalogue, &scope, ChannelKind::Slack)
            .into_iter()
            .filter(|destination| match &destination.channel {
                Channel::Slack(settings) => {
                    settings.team.as_deref() == Some(team.trim())
                        && same_channel(settings.channel.as_deref(), channel.trim())
                }
                _ => false,
            })
            .collect()
    };
    if found.is_empty() {
        return Err(ApiError::NotFound(format!("{scope} has no Slack webhook with this team and channel or url")));
    }
    remove(&state, request.caller, &scope, ChannelKind::Slack, &found).await
}

#[utoipa::path(post, path = "/api/v1/flock/settings/webhooks/slack/test", tag = "canary",
    summary = "Sends a test notification through a flock's Slack webhook now.",
    request_body = SlackUrl, responses((status = 200, description = "Success.", body = Tested)))]
async fn test(State(state): State<AppState>, request: Canary<SlackUrl>) -> Result<Json<Tested>, ApiError> {
    let SlackUrl { flock_id, url } = &request.params;
    test_by_url(&state, request.caller, (flock_id, url), ChannelKind::Slack).await
}
