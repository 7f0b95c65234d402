//! Slack incoming webhooks: `slack` (list), `slack/remove` (by `team` and
//! `channel`, or by `url`), `slack/test`, and `slack/add`.
//!
//! The seed keeps Slack creation out of its API because its console goes
//! through Slack's OAuth flow. An incoming-webhook URL needs no OAuth on our
//! side, so `slack/add` (`url`, optional `team`, `channel`, `configuration_url`,
//! which are informational and shown by the list) is offered as an extension.

use axum::extract::State;
use axum::http::Method;
use axum::Json;
use serde_json::{json, Value};

use super::{
    add_by_url, current, lookup_url, of_kind, refuse_invalid, remove, scope, success, test_by_url, webhook_url,
    webhooks_enabled, with_url, Params,
};
use crate::api::error::ApiError;
use crate::api::openapi::{optional, required, Endpoint, Route, FLOCK_ID};
use crate::api::AppState;
use crate::destination::Destination;
use crate::notify::slack::config::SlackSettings;
use crate::notify::{Channel, ChannelKind};
use crate::secret::{mask_url, mask_url_text};

/// The Slack routes with their descriptions.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/slack/add",
                "Extension: adds a Slack incoming webhook to a flock.",
                &[
                    FLOCK_ID,
                    required("url", "A Slack incoming-webhook URL (https://hooks.slack.com/services/…)."),
                    optional("team", "The Slack workspace the webhook posts to (informational)."),
                    optional("channel", "The channel the webhook posts to (informational)."),
                    optional("configuration_url", "Where the webhook is managed in Slack (informational)."),
                ],
                &[],
            ),
            add,
        ),
        Route::new(
            Endpoint::canary(
                Method::GET,
                "/api/v1/flock/settings/webhooks/slack",
                "A flock's Slack webhooks: channel, configuration_url, team and url.",
                &[FLOCK_ID],
                &[("slack_webhooks", "array"), ("webhooks_enabled", "boolean")],
            ),
            list,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/slack/remove",
                "Removes a flock's Slack webhook, named by team and channel or by url.",
                &[
                    FLOCK_ID,
                    optional("team", "Slack team tied to the webhook (with channel)."),
                    optional("channel", "Slack channel tied to the webhook (with team)."),
                    optional("url", "The webhook URL (instead of team and channel)."),
                ],
                &[],
            ),
            remove_webhook,
        ),
        Route::new(
            Endpoint::canary(
                Method::POST,
                "/api/v1/flock/settings/webhooks/slack/test",
                "Sends a test notification through a flock's Slack webhook now.",
                &[FLOCK_ID, required("url", "The webhook URL.")],
                &[("webhook", "string")],
            ),
            test,
        ),
    ]
}

/// An informational label, trimmed; [`SlackSettings::validate`] bounds it.
fn label(params: &Params, name: &'static str) -> Option<String> {
    params.optional(name).map(|value| value.trim().to_owned())
}

/// `#soc` and `soc` name the same channel.
fn same_channel(stored: Option<&str>, given: &str) -> bool {
    stored.is_some_and(|stored| stored.trim_start_matches('#') == given.trim_start_matches('#'))
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
    let configuration_url = match params.optional("configuration_url") {
        Some(text) => Some(lookup_url("configuration_url", text)?.to_string()),
        None => None,
    };
    let settings =
        SlackSettings { url, channel: label(params, "channel"), team: label(params, "team"), configuration_url };
    // Every field of the settings is the API parameter of the same name.
    refuse_invalid(settings.validate(state.allow_http), |invalid| match invalid.field.as_str() {
        "team" => ("team", invalid.reason.clone()),
        "channel" => ("channel", invalid.reason.clone()),
        "configuration_url" => ("configuration_url", invalid.reason.clone()),
        _ => ("url", invalid.reason.clone()),
    })?;
    add_by_url(state, params, &catalogue, Channel::Slack(settings)).await
}

async fn list(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let webhooks: Vec<Value> = of_kind(&catalogue, &scope, ChannelKind::Slack)
        .into_iter()
        .filter_map(|destination| match &destination.channel {
            Channel::Slack(settings) => Some(json!({
                "channel": text(&settings.channel),
                "configuration_url": settings.configuration_url.as_deref().map(mask_url_text).unwrap_or_default(),
                "team": text(&settings.team),
                "url": mask_url(&settings.url),
            })),
            _ => None,
        })
        .collect();
    Ok(success([
        ("slack_webhooks", Value::Array(webhooks)),
        ("webhooks_enabled", Value::from(webhooks_enabled(&catalogue, &scope))),
    ]))
}

async fn remove_webhook(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    let catalogue = current(&state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let found: Vec<&Destination> = if let Some(url) = params.optional("url") {
        with_url(&catalogue, &scope, ChannelKind::Slack, &lookup_url("url", url)?)
    } else {
        let (Some(team), Some(channel)) = (params.optional("team"), params.optional("channel")) else {
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
    remove(&state, &params, &scope, ChannelKind::Slack, &found).await
}

async fn test(State(state): State<AppState>, params: Params) -> Result<Json<Value>, ApiError> {
    test_by_url(&state, &params, ChannelKind::Slack).await
}
