//! The Canary-style management API under `/api/v1/`: flocks, per-flock webhook
//! settings, and the Slack, Microsoft Teams, Splunk HEC and generic webhooks of
//! `seeds/canary-flock-webhooks-api.txt`, path for path and field for field.
//!
//! This module owns what every endpoint shares: [`params`] (the [`Canary`]
//! extractor: typed parameters and the token check), flock lookup, URL and address checks, test
//! notifications, and refusing settings the channel's own `validate()` finds
//! wrong. Changes go through the [`crate::catalogue::registry::Registry`], which
//! stores and applies them. Each resource has its own file with its `routes()`,
//! its parameter and answer structs, and its `#[utoipa::path]` handlers:
//!
//! - [`flocks`] — `ping`, `flock/create`, `flocks/list`, `flock/rename`, `flock/delete`.
//! - [`settings`] — `flock/settings/webhooks/{is_enabled,is_global,enable,disable,use_global}`.
//! - [`generic`], [`ms_teams`], [`slack`], [`splunk_hec`] — one channel kind each.
//!
//! It never speaks SQL (that is the store's) and never maps errors to statuses
//! (that is [`super::error`]'s).

pub mod flocks;
pub mod generic;
pub mod ms_teams;
pub mod params;
pub mod settings;
pub mod slack;
pub mod splunk_hec;

pub use params::{flock_id, Caller, Canary, Params};

use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use url::Url;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use super::answer::{Done, Success};
use super::error::ApiError;
use super::AppState;
use crate::alert::Alert;
use crate::catalogue::registry::RegistryError;
use crate::catalogue::Catalogue;
use crate::destination::Destination;
use crate::flock::{Scope, GLOBAL};
pub use crate::notify::settings::MAX_URL_LEN;
use crate::notify::settings::{url_problem, Invalid};
use crate::notify::{Channel, ChannelKind};
use crate::routing;
use crate::secret::mask_url;
use crate::store::{IfExists, StoreError};

/// Base path of every endpoint here.
pub const BASE: &str = "/api/v1";

/// Every route of the Canary-style API.
pub fn routes() -> OpenApiRouter<AppState> {
    flocks::routes()
        .merge(settings::routes())
        .merge(generic::routes())
        .merge(ms_teams::routes())
        .merge(slack::routes())
        .merge(splunk_hec::routes())
}

/// The parameters of an endpoint that takes only a flock.
#[derive(Debug, Clone, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct FlockParams {
    /// A flock id (`flock:…`), or `global` for the console-wide set.
    pub flock_id: String,
}

/// The answer of a `…/test` endpoint addressed by URL: the webhook tested.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tested {
    pub result: Success,
    /// The webhook's URL, its user-info masked.
    pub webhook: String,
}

/// The catalogue as stored now (another instance may have changed it).
pub async fn current(state: &AppState) -> Result<Catalogue, ApiError> {
    Ok(state.registry.current().await?)
}

/// The destination set `flock_id` addresses: `global` or a known flock.
pub fn scope(catalogue: &Catalogue, flock_id: &str) -> Result<Scope, ApiError> {
    if flock_id == GLOBAL {
        return Ok(Scope::Global);
    }
    if catalogue.flock_settings(flock_id).is_none() {
        return Err(ApiError::UnknownFlock(flock_id.to_owned()));
    }
    Ok(Scope::Flock(flock_id.to_owned()))
}

/// Whether webhooks are in effect for a scope (`webhooks_enabled` in answers).
pub fn webhooks_enabled(catalogue: &Catalogue, scope: &Scope) -> bool {
    match scope {
        Scope::Global => catalogue.global_enabled(),
        Scope::Flock(id) => catalogue
            .flock_settings(id)
            .is_some_and(|settings| routing::webhooks_enabled(&settings, catalogue.global_enabled())),
    }
}

/// The destinations of one kind in a scope, in name order.
pub fn of_kind<'a>(catalogue: &'a Catalogue, scope: &Scope, kind: ChannelKind) -> Vec<&'a Destination> {
    catalogue
        .destinations()
        .iter()
        .filter(|destination| &destination.scope == scope && destination.channel.kind() == kind)
        .collect()
}

/// A webhook URL parameter: no spaces or control characters, parses, `https`
/// (or `http` when `delivery.allow_http`), and not an address the policy refuses.
pub fn webhook_url(state: &AppState, name: &'static str, text: &str) -> Result<Url, ApiError> {
    let invalid = |reason: String| ApiError::InvalidParameter { name, reason };
    if text.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
        return Err(invalid("must not contain spaces or control characters".into()));
    }
    let url = Url::parse(text).map_err(|error| invalid(format!("is not a URL ({error})")))?;
    if let Some(reason) = url_problem(&url, state.allow_http) {
        return Err(invalid(reason));
    }
    state
        .delivery
        .policy()
        .check_url(&url)
        .map_err(|refused| invalid(format!("the address policy refuses it: {refused}")))?;
    Ok(url)
}

/// Refuses settings their channel's own `validate()` finds wrong (the same
/// check the config file gets), naming the API parameter that holds the first
/// wrong field; `parameter` maps a settings field to it.
pub fn refuse_invalid(
    findings: Vec<Invalid>,
    parameter: impl Fn(&Invalid) -> (&'static str, String),
) -> Result<(), ApiError> {
    match findings.first() {
        None => Ok(()),
        Some(invalid) => {
            let (name, reason) = parameter(invalid);
            Err(ApiError::InvalidParameter { name, reason })
        }
    }
}

/// The URL a list or remove parameter names, normalized as stored URLs are.
pub fn lookup_url(name: &'static str, text: &str) -> Result<Url, ApiError> {
    Url::parse(text.trim())
        .map_err(|error| ApiError::InvalidParameter { name, reason: format!("is not a URL ({error})") })
}

/// A stable destination id for an API-created destination: the kind and a hash
/// of what makes it unique in its scope (the URL; for Splunk, nothing else), so
/// a duplicate add collides in the store, atomically.
pub fn destination_id(kind: ChannelKind, scope: &Scope, key: &str) -> String {
    let digest = Sha256::digest(format!("{kind}\n{scope}\n{key}").as_bytes());
    format!("{kind}:{}", hex::encode(&digest[..10]))
}

/// What a test notification did: delivered or not, the channel's HTTP
/// status and latency when it answered, and its error text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOutcome {
    pub delivered: bool,
    pub status: Option<u16>,
    pub latency: Option<std::time::Duration>,
    /// Why it was not delivered (the channel's answer or the transport error).
    pub error: Option<String>,
}

/// Sends a test notification through `destination` now and waits for the
/// answer (the API's `…/test` endpoints and the console's Send test).
pub async fn send_test(state: &AppState, destination: &Destination, caller: Caller) -> TestOutcome {
    let alert = Alert::test_alert(destination.scope.as_str(), Utc::now());
    let Some(report) = state.delivery.send_test(destination, &alert).await else {
        return TestOutcome {
            delivered: false,
            status: None,
            latency: None,
            error: Some("the test could not be run".into()),
        };
    };
    let delivered = report.delivered();
    tracing::info!(%caller, destination = %destination.id, kind = %destination.channel.kind(), delivered, "Test notification sent through the API.");
    match report.result {
        Ok(delivery) => TestOutcome {
            delivered,
            status: delivery.status,
            latency: Some(delivery.latency),
            error: (!delivered).then(|| {
                delivery.outcome.reason().map(str::to_owned).unwrap_or_else(|| delivery.outcome.label().to_owned())
            }),
        },
        Err(error) => TestOutcome { delivered: false, status: None, latency: None, error: Some(error.to_string()) },
    }
}

/// Sends a test notification through `destination` now; an error unless delivered.
pub async fn test_notification(state: &AppState, destination: &Destination, caller: Caller) -> Result<(), ApiError> {
    let outcome = send_test(state, destination, caller).await;
    match outcome.error {
        None if outcome.delivered => Ok(()),
        error => Err(ApiError::TestFailed(error.unwrap_or_else(|| "not delivered".into()))),
    }
}

/// The URL of a URL-addressed destination (Slack, Teams, generic).
pub fn url_of(destination: &Destination) -> Option<&Url> {
    url_of_channel(&destination.channel)
}

/// The destinations of one kind in a scope that post to `url`.
pub fn with_url<'a>(catalogue: &'a Catalogue, scope: &Scope, kind: ChannelKind, url: &Url) -> Vec<&'a Destination> {
    of_kind(catalogue, scope, kind).into_iter().filter(|destination| url_of(destination) == Some(url)).collect()
}

/// A new API destination of `channel` in `scope`; `key` makes it unique there.
pub fn new_destination(scope: Scope, key: &str, channel: Channel) -> Destination {
    Destination::new(destination_id(channel.kind(), &scope, key), scope, channel)
}

/// Stores a new URL-addressed destination (refusing a second one with the same
/// URL in the scope) and applies it.
pub async fn add_by_url(
    state: &AppState,
    caller: Caller,
    flock: &str,
    catalogue: &Catalogue,
    channel: Channel,
) -> Result<(), ApiError> {
    let kind = channel.kind();
    let Some(url) = url_of_channel(&channel).cloned() else {
        return Err(ApiError::BadRequest(format!("{kind} webhooks are not addressed by URL")));
    };
    let scope = scope(catalogue, flock_id(flock)?)?;
    let duplicate = || ApiError::Conflict(format!("{scope} already has a {kind} webhook with this url"));
    if !with_url(catalogue, &scope, kind, &url).is_empty() {
        return Err(duplicate());
    }
    let destination = new_destination(scope.clone(), url.as_str(), channel);
    match state.registry.add_destination(&destination, IfExists::Fail).await {
        Err(RegistryError::Store(StoreError::DuplicateDestination(_))) => return Err(duplicate()),
        other => other?,
    }
    tracing::info!(
        %caller, flock = %scope, destination = %destination.id, %kind, host = %url_host(&url),
        "Webhook added through the API."
    );
    Ok(())
}

fn url_of_channel(channel: &Channel) -> Option<&Url> {
    match channel {
        Channel::Slack(settings) => Some(&settings.url),
        Channel::MsTeams(settings) => Some(&settings.url),
        Channel::Generic(settings) => Some(&settings.url),
        Channel::SplunkHec(_) => None,
    }
}

/// Deletes API-owned destinations of a scope (all or none) and applies it.
pub async fn remove(
    state: &AppState,
    caller: Caller,
    scope: &Scope,
    kind: ChannelKind,
    destinations: &[&Destination],
) -> Result<Json<Done>, ApiError> {
    let ids: Vec<String> = destinations.iter().map(|destination| destination.id.clone()).collect();
    let cancelled = state.registry.remove_destinations(&ids).await?;
    for id in &ids {
        tracing::info!(%caller, flock = %scope, destination = %id, %kind, cancelled, "Webhook removed through the API.");
    }
    Ok(Json(Done::default()))
}

/// Removes one API-owned destination by id (the console's Remove): the same
/// rules as the API's `…/remove` endpoints.
pub async fn remove_destination(state: &AppState, params: &Params, id: &str) -> Result<(), ApiError> {
    let catalogue = current(state).await?;
    let destination =
        catalogue.destination(id).ok_or_else(|| ApiError::NotFound(format!("destination {id} not found")))?;
    remove(state, params.caller, &destination.scope, destination.channel.kind(), &[destination]).await.map(|_| ())
}

/// `…/remove` by `url`: the webhook must exist in the flock.
pub async fn remove_by_url(
    state: &AppState,
    caller: Caller,
    (flock, url): (&str, &str),
    kind: ChannelKind,
) -> Result<Json<Done>, ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, flock_id(flock)?)?;
    let url = lookup_url("url", url)?;
    let found = with_url(&catalogue, &scope, kind, &url);
    if found.is_empty() {
        return Err(ApiError::NotFound(format!("{scope} has no {kind} webhook with this url")));
    }
    remove(state, caller, &scope, kind, &found).await
}

/// `…/test` by `url`: a test notification through the flock's webhook with
/// that URL; answers with the webhook's URL.
pub async fn test_by_url(
    state: &AppState,
    caller: Caller,
    (flock, url): (&str, &str),
    kind: ChannelKind,
) -> Result<Json<Tested>, ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, flock_id(flock)?)?;
    let url = lookup_url("url", url)?;
    let Some(destination) = with_url(&catalogue, &scope, kind, &url).into_iter().next() else {
        return Err(ApiError::NotFound(format!("{scope} has no {kind} webhook with this url")));
    };
    test_notification(state, destination, caller).await?;
    Ok(Json(Tested { result: Success::Success, webhook: mask_url(&url) }))
}

/// The URLs of a scope's webhooks of one kind (user-info masked), with
/// whether webhooks are in effect there (`webhooks_enabled`).
pub async fn list_urls(state: &AppState, flock: &str, kind: ChannelKind) -> Result<(Vec<String>, bool), ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, flock_id(flock)?)?;
    let urls = of_kind(&catalogue, &scope, kind).into_iter().filter_map(url_of).map(mask_url).collect();
    Ok((urls, webhooks_enabled(&catalogue, &scope)))
}

/// A short, secret-free description of where a URL points, for logs.
pub fn url_host(url: &Url) -> String {
    match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_ids_are_stable_and_differ_by_scope() {
        let url = "https://hooks.example/a";
        let global = destination_id(ChannelKind::Generic, &Scope::Global, url);
        assert_eq!(global, destination_id(ChannelKind::Generic, &Scope::Global, url));
        assert_ne!(global, destination_id(ChannelKind::Generic, &Scope::Flock("flock:x".into()), url));
        assert!(global.starts_with("generic:") && global.len() == "generic:".len() + 20);
    }
}
