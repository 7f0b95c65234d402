//! The Canary-style management API under `/api/v1/`: flocks, per-flock webhook
//! settings, and the Slack, Microsoft Teams, Splunk HEC and generic webhooks of
//! `seeds/canary-flock-webhooks-api.txt`, path for path and field for field.
//!
//! This module owns what every endpoint shares: [`Params`] (parameters from the
//! query string ∪ a form body ∪ a JSON body, and the `auth_token` from any of
//! them or the `X-Canary-Auth-Token` header, checked in constant time before
//! anything else is looked at; no name or value may hold a NUL), flock lookup, URL and address checks, test
//! notifications, and applying a change (store, then the outbox's catalogue, so
//! the next alert sees it). Each resource has its own file ending in `router()`:
//!
//! - [`flocks`] — `ping`, `flock/create`, `flocks/list`, `flock/rename`, `flock/delete`.
//! - [`settings`] — `flock/settings/webhooks/{is_enabled,is_global,enable,disable,use_global}`.
//! - [`generic`], [`ms_teams`], [`slack`], [`splunk`] — one channel kind each.
//!
//! It never speaks SQL (that is the store's) and never maps errors to statuses
//! (that is [`super::error`]'s).

pub mod flocks;
pub mod generic;
pub mod ms_teams;
pub mod settings;
pub mod slack;
pub mod splunk;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::error::ApiError;
use super::openapi::Route;
use super::{auth, AppState};
use crate::alert::Alert;
use crate::catalogue::Catalogue;
use crate::config::validate::url_problem;
use crate::destination::{Channel, ChannelKind, Destination, EventFilter};
use crate::direct::send_now;
use crate::flock::{Scope, GLOBAL};
use crate::limits;
use crate::routing;
use crate::secret::mask_url;
use crate::store::{IfExists, Origin, StoreError};

/// Base path of every endpoint here.
pub const BASE: &str = "/api/v1";

/// Longest accepted URL.
pub const MAX_URL_LEN: usize = 2048;

/// Every route of the Canary-style API.
pub fn routes() -> Vec<Route> {
    let mut routes = flocks::routes();
    routes.extend(settings::routes());
    routes.extend(generic::routes());
    routes.extend(ms_teams::routes());
    routes.extend(slack::routes());
    routes.extend(splunk::routes());
    routes
}

/// The Canary-style API, every resource merged.
pub fn router() -> Router<AppState> {
    flocks::router()
        .merge(settings::router())
        .merge(generic::router())
        .merge(ms_teams::router())
        .merge(slack::router())
        .merge(splunk::router())
}

/// Who made a request, for the change log: which configured token (by its
/// position, never its value) and from where.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// 1-based position of the token in `server.auth_tokens`.
    pub token: usize,
    pub peer: Option<SocketAddr>,
}

impl std::fmt::Display for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.peer {
            Some(peer) => write!(f, "token #{} from {peer}", self.token),
            None => write!(f, "token #{}", self.token),
        }
    }
}

/// The parameters of an authenticated request.
#[derive(Debug, Clone)]
pub struct Params {
    values: BTreeMap<String, String>,
    pub caller: Caller,
}

impl FromRequest<AppState> for Params {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = request.headers().clone();
        let query = request.uri().query().map(str::to_owned);
        let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
        let body = Bytes::from_request(request, state).await.map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(state.body_limit),
            _ => ApiError::BadRequest(rejection.body_text()),
        })?;
        let mut values = Vec::new();
        if let Some(query) = &query {
            values.extend(form_pairs(query.as_bytes()));
        }
        // A body that cannot be read may hold the token: the token is checked
        // first, so a caller without one learns nothing from the body error.
        let body_error = match body_pairs(&headers, &body) {
            Ok(pairs) => {
                values.extend(pairs);
                None
            }
            Err(error) => Some(error),
        };
        let token = auth::presented(&headers, None)
            .or_else(|| values.iter().find(|(name, _)| name == "auth_token").map(|(_, value)| value.clone()));
        let token = match auth::identify(&state.tokens, token.as_deref()) {
            Ok(index) => index + 1,
            Err(error) => {
                state.outbox.metrics.reject(match error {
                    ApiError::MissingToken => "missing_token",
                    _ => "bad_token",
                });
                return Err(error);
            }
        };
        if let Some(error) = body_error {
            return Err(error);
        }
        let mut merged = BTreeMap::new();
        for (name, value) in values {
            if name == "auth_token" {
                continue;
            }
            // No parameter holding a NUL goes further (PostgreSQL refuses it in text).
            if let Err(refusal) = limits::text(&name, usize::MAX).and_then(|()| limits::text(&value, usize::MAX)) {
                return Err(ApiError::BadRequest(format!("invalid {}: {refusal}", name.escape_debug())));
            }
            match merged.get(&name) {
                Some(existing) if existing != &value => {
                    return Err(ApiError::BadRequest(format!("parameter {name} is given twice with different values")));
                }
                Some(_) => {}
                None => {
                    merged.insert(name, value);
                }
            }
        }
        Ok(Self { values: merged, caller: Caller { token, peer } })
    }
}

fn form_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).map(|(name, value)| (name.into_owned(), value.into_owned())).collect()
}

/// The body's parameters: form-encoded, or a JSON object whose non-string values
/// are kept as JSON text (so `headers` may be an object or a string).
fn body_pairs(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => json_pairs(body),
        essence if essence.starts_with("application/") && essence.ends_with("+json") => json_pairs(body),
        "application/x-www-form-urlencoded" | "" => Ok(form_pairs(body)),
        _ => Err(ApiError::UnsupportedMediaType(content_type.chars().take(100).collect())),
    }
}

fn json_pairs(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let document: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("body is not valid JSON: {error}")))?;
    let Value::Object(object) = document else {
        return Err(ApiError::BadRequest("a JSON body must be an object of parameters".into()));
    };
    Ok(object
        .into_iter()
        .filter_map(|(name, value)| match value {
            Value::Null => None,
            Value::String(text) => Some((name, text)),
            other => Some((name, other.to_string())),
        })
        .collect())
}

impl Params {
    /// Parameters that did not come from an API request (the console's forms),
    /// checked by the same rules as the API's. Blank values count as absent,
    /// as in a request.
    pub fn new(values: BTreeMap<String, String>, caller: Caller) -> Self {
        Self { values, caller }
    }

    /// A parameter that must be present and not blank.
    pub fn required(&self, name: &'static str) -> Result<&str, ApiError> {
        self.optional(name).ok_or(ApiError::MissingParameter(name))
    }

    /// A parameter that may be absent; blank counts as absent.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|value| !value.trim().is_empty())
    }

    /// An optional `true`/`false` parameter.
    pub fn flag(&self, name: &'static str) -> Result<Option<bool>, ApiError> {
        self.optional(name)
            .map(|text| match text.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(ApiError::InvalidParameter { name, reason: "must be true or false".into() }),
            })
            .transpose()
    }

    /// The `flock_id` parameter, at most [`limits::FLOCK_ID`] characters.
    pub fn flock_id(&self) -> Result<&str, ApiError> {
        let flock_id = self.required("flock_id")?;
        limits::text(flock_id, limits::FLOCK_ID)
            .map_err(|refusal| ApiError::InvalidParameter { name: "flock_id", reason: refusal.to_string() })?;
        Ok(flock_id)
    }
}

/// The catalogue as stored now (another instance may have changed it).
pub async fn current(state: &AppState) -> Result<Catalogue, ApiError> {
    Ok(Catalogue::load(&*state.outbox.store).await?)
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
    if text.len() > MAX_URL_LEN {
        return Err(invalid(format!("must be at most {MAX_URL_LEN} characters")));
    }
    if text.chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
        return Err(invalid("must not contain spaces or control characters".into()));
    }
    let url = Url::parse(text).map_err(|error| invalid(format!("is not a URL ({error})")))?;
    if let Some(reason) = url_problem(&url, state.allow_http) {
        return Err(invalid(reason));
    }
    state
        .outbox
        .sender
        .policy()
        .check_url(&url)
        .map_err(|refused| invalid(format!("the address policy refuses it: {refused}")))?;
    Ok(url)
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

/// Applies a stored change to the running relay: the outbox re-reads the
/// catalogue, so the next alert sees it. The change is already durable; if the
/// re-read fails, the periodic refresh picks it up.
pub async fn apply(state: &AppState) {
    if let Err(error) = state.outbox.reload().await {
        tracing::warn!(%error, "Cannot re-read the catalogue after a change; the periodic refresh will apply it.");
    }
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
    let sender = Arc::clone(&state.outbox.sender);
    let reports = send_now(vec![destination.clone()], &alert, &state.outbox.renderer, sender, true).await;
    let Some(report) = reports.into_iter().next() else {
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
    let id = destination_id(channel.kind(), &scope, key);
    Destination {
        name: id.clone(),
        id,
        scope,
        channel,
        template: None,
        events: EventFilter::default(),
        enabled: true,
        rate_limit: None,
        concurrency: None,
        storm: Default::default(),
    }
}

/// Stores a new URL-addressed destination (refusing a second one with the same
/// URL in the scope) and applies it.
pub async fn add_by_url(
    state: &AppState,
    params: &Params,
    catalogue: &Catalogue,
    channel: Channel,
) -> Result<(), ApiError> {
    let kind = channel.kind();
    let Some(url) = url_of_channel(&channel).cloned() else {
        return Err(ApiError::BadRequest(format!("{kind} webhooks are not addressed by URL")));
    };
    let scope = scope(catalogue, params.flock_id()?)?;
    let duplicate = || ApiError::Conflict(format!("{scope} already has a {kind} webhook with this url"));
    if !with_url(catalogue, &scope, kind, &url).is_empty() {
        return Err(duplicate());
    }
    let destination = new_destination(scope.clone(), url.as_str(), channel);
    match state.outbox.store.add_destination(&destination, Origin::Api, IfExists::Fail).await {
        Err(StoreError::DuplicateDestination(_)) => return Err(duplicate()),
        other => other?,
    }
    apply(state).await;
    tracing::info!(
        caller = %params.caller, flock = %scope, destination = %destination.id, %kind, host = %url_host(&url),
        "Webhook added through the API."
    );
    Ok(())
}

fn url_of_channel(channel: &Channel) -> Option<&Url> {
    match channel {
        Channel::Slack(settings) => Some(&settings.url),
        Channel::MsTeams(settings) => Some(&settings.url),
        Channel::Generic(settings) => Some(&settings.url),
        Channel::Splunk(_) => None,
    }
}

/// Deletes API-owned destinations of a scope (all or none) and applies it.
pub async fn remove(
    state: &AppState,
    params: &Params,
    scope: &Scope,
    kind: ChannelKind,
    destinations: &[&Destination],
) -> Result<Json<Value>, ApiError> {
    let ids: Vec<String> = destinations.iter().map(|destination| destination.id.clone()).collect();
    let cancelled = state.outbox.store.delete_api_destinations(&ids).await?;
    apply(state).await;
    for id in &ids {
        tracing::info!(caller = %params.caller, flock = %scope, destination = %id, %kind, cancelled, "Webhook removed through the API.");
    }
    Ok(success([]))
}

/// Removes one API-owned destination by id (the console's Remove): the same
/// rules as the API's `…/remove` endpoints.
pub async fn remove_destination(state: &AppState, params: &Params, id: &str) -> Result<(), ApiError> {
    let catalogue = current(state).await?;
    let destination =
        catalogue.destination(id).ok_or_else(|| ApiError::NotFound(format!("destination {id} not found")))?;
    remove(state, params, &destination.scope, destination.channel.kind(), &[destination]).await.map(|_| ())
}

/// `…/remove` by `url`: the webhook must exist in the flock.
pub async fn remove_by_url(state: &AppState, params: &Params, kind: ChannelKind) -> Result<Json<Value>, ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let url = lookup_url("url", params.required("url")?)?;
    let found = with_url(&catalogue, &scope, kind, &url);
    if found.is_empty() {
        return Err(ApiError::NotFound(format!("{scope} has no {kind} webhook with this url")));
    }
    remove(state, params, &scope, kind, &found).await
}

/// `…/test` by `url`: a test notification through the flock's webhook with
/// that URL; answers with the webhook's URL.
pub async fn test_by_url(state: &AppState, params: &Params, kind: ChannelKind) -> Result<Json<Value>, ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let url = lookup_url("url", params.required("url")?)?;
    let Some(destination) = with_url(&catalogue, &scope, kind, &url).into_iter().next() else {
        return Err(ApiError::NotFound(format!("{scope} has no {kind} webhook with this url")));
    };
    test_notification(state, destination, params.caller).await?;
    Ok(success([("webhook", Value::from(mask_url(&url)))]))
}

/// The URLs of a scope's webhooks of one kind (user-info masked), with `webhooks_enabled`.
pub async fn list_urls(
    state: &AppState,
    params: &Params,
    kind: ChannelKind,
    field: &'static str,
) -> Result<Json<Value>, ApiError> {
    let catalogue = current(state).await?;
    let scope = scope(&catalogue, params.flock_id()?)?;
    let urls: Vec<Value> = of_kind(&catalogue, &scope, kind)
        .into_iter()
        .filter_map(url_of)
        .map(|url| Value::from(mask_url(url)))
        .collect();
    Ok(success([(field, Value::Array(urls)), ("webhooks_enabled", Value::from(webhooks_enabled(&catalogue, &scope)))]))
}

/// The success answer with extra fields, keys in alphabetical order as the
/// seed's answers have them.
pub fn success(fields: impl IntoIterator<Item = (&'static str, Value)>) -> Json<Value> {
    let mut sorted: BTreeMap<&'static str, Value> = fields.into_iter().collect();
    sorted.insert("result", Value::from("success"));
    Json(Value::Object(sorted.into_iter().map(|(name, value)| (name.to_owned(), value)).collect()))
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
    fn json_bodies_keep_non_string_values_as_json_text() {
        let pairs =
            json_pairs(br#"{"flock_id":"flock:a","port":8088,"headers":{"X-A":"1"},"gone":null}"#).expect("valid");
        assert_eq!(
            pairs,
            [
                ("flock_id".to_owned(), "flock:a".to_owned()),
                ("port".to_owned(), "8088".to_owned()),
                ("headers".to_owned(), r#"{"X-A":"1"}"#.to_owned()),
            ]
        );
        assert!(json_pairs(b"[1]").is_err());
    }

    #[test]
    fn destination_ids_are_stable_and_differ_by_scope() {
        let url = "https://hooks.example/a";
        let global = destination_id(ChannelKind::Generic, &Scope::Global, url);
        assert_eq!(global, destination_id(ChannelKind::Generic, &Scope::Global, url));
        assert_ne!(global, destination_id(ChannelKind::Generic, &Scope::Flock("flock:x".into()), url));
        assert!(global.starts_with("generic:") && global.len() == "generic:".len() + 20);
    }
}
