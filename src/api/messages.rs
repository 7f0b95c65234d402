//! The operator API: messages with their attempts, replay, recover, and the
//! delivery state of each destination (never its secrets).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::Success;
use super::destinations::StateFields;
use super::error::ApiError;
use super::AppState;
use crate::delivery::breaker::BreakerView;
use crate::limits;
use crate::notify::ChannelKind;
use crate::store::{Attempt, Cursor, Message, MessageFilter, MessageStatus};

/// The operator routes of messages and destination states.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(show))
        .routes(routes!(replay))
        .routes(routes!(destinations))
        .routes(routes!(recover))
}

/// The answer of `GET /api/v1/messages`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageList {
    pub result: Success,
    #[schema(value_type = Vec<Object>)]
    pub messages: Vec<Message>,
    /// The `before` of the next page; null on the last one.
    pub next_before: Option<String>,
}

/// The answer of `GET /api/v1/messages/{id}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageShown {
    pub result: Success,
    #[schema(value_type = Object)]
    pub message: Message,
    #[schema(value_type = Vec<Object>)]
    pub attempts: Vec<Attempt>,
    /// The ids of the alerts a digest carried.
    pub digest_alerts: Vec<String>,
}

/// The answer of a replay.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Replayed {
    pub result: Success,
    #[schema(value_type = Object)]
    pub message: Message,
}

/// The answer of a recover.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Recovered {
    pub result: Success,
    /// How many failed messages were queued again.
    pub recovered: u64,
}

/// A destination as `GET /api/v1/destinations` shows it (never its secrets).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DestinationView {
    pub id: String,
    pub name: String,
    #[schema(value_type = String)]
    pub kind: ChannelKind,
    pub flock_id: String,
    /// Messages per second; null when unpaced.
    pub rate_limit: Option<f64>,
    pub concurrency: u32,
    #[schema(value_type = Object)]
    pub breaker: BreakerView,
    /// The storm grouping settings; null when alerts are not grouped.
    #[schema(value_type = Option<Object>)]
    pub grouping: Option<crate::storm::Grouping>,
    /// The duplicate suppression settings; null when off.
    #[schema(value_type = Option<Object>)]
    pub dedupe: Option<crate::storm::Dedupe>,
    pub silenceable: bool,
    #[serde(flatten)]
    pub state: StateFields,
}

/// The answer of `GET /api/v1/destinations`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DestinationList {
    pub result: Success,
    pub destinations: Vec<DestinationView>,
}

/// Most messages one list answer carries.
pub const MAX_LIST: u32 = 1_000;

/// Query parameters of `GET /api/v1/messages` (the console's message list
/// takes the same ones).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// pending, delivering, delivered, failed, cancelled, grouped, suppressed or silenced.
    pub status: Option<String>,
    /// A destination id.
    pub destination: Option<String>,
    /// A flock id.
    pub flock: Option<String>,
    /// An alert id, as answered (`api:…`, `hook:<source>:…`) or as posted to /api/v1/alerts.
    pub alert: Option<String>,
    /// Created at or after (RFC 3339, Unix seconds, or a duration ago: 1h, 7d).
    pub since: Option<String>,
    /// Created before (RFC 3339, Unix seconds, or a duration ago: 1h, 7d).
    pub until: Option<String>,
    /// At most this many (1-1000, default 100).
    pub limit: Option<u32>,
    /// Only messages after this position: the next_before of the previous page.
    pub before: Option<String>,
}

/// RFC 3339 (`2026-11-25T10:00:00Z`), Unix seconds, or a duration ago (`90s`,
/// `30m`, `1h`, `7d`).
pub fn parse_time(name: &str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_time_at(name, text, Utc::now())
}

/// [`parse_time`] with the present passed in: `1h` is an hour before `now`.
pub fn parse_time_at(name: &str, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    let invalid = || {
        ApiError::BadRequest(format!(
            "{name} must be an RFC 3339 time, Unix seconds or a duration ago such as 30m, 1h or 7d, not {text:?}"
        ))
    };
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Utc.timestamp_opt(seconds, 0).single().ok_or_else(invalid);
    }
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    // A duration needs its unit, so that a bare number stays Unix seconds.
    if text.ends_with(|ch: char| ch.is_ascii_alphabetic()) {
        let ago = crate::config::Seconds::parse(text).map_err(|_| invalid())?;
        let ago = chrono::Duration::from_std(ago.0).map_err(|_| invalid())?;
        return now.checked_sub_signed(ago).ok_or_else(invalid);
    }
    Err(invalid())
}

fn optional_time(name: &str, text: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    text.map(|text| parse_time(name, text)).transpose()
}

/// The query string, or a 400 naming the parameter that does not parse
/// (`limit` past 4294967295, a negative one, text).
pub fn query_string<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(query)| query).map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

/// An id from the path (or a filter) that the store looks up: within
/// [`limits::LOOKUP_ID`] and free of NUL, else a 400 naming it.
pub fn lookup_id(name: &'static str, id: &str) -> Result<(), ApiError> {
    limits::text(id, limits::LOOKUP_ID)
        .map_err(|refusal| ApiError::InvalidParameter { name, reason: refusal.to_string() })
}

/// The `{id}` segment of the path, checked as [`lookup_id`].
pub fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(id) = path.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    lookup_id("id", &id)?;
    Ok(id)
}

/// The message filter a list query asks for (blank values do not filter), or
/// the problem with it, naming the parameter.
pub fn filter(query: &ListQuery) -> Result<MessageFilter, ApiError> {
    fn given(value: &Option<String>) -> Option<&str> {
        value.as_deref().map(str::trim).filter(|value| !value.is_empty())
    }
    for (name, value) in [("alert", &query.alert), ("destination", &query.destination), ("flock", &query.flock)] {
        if let Some(value) = given(value) {
            lookup_id(name, value)?;
        }
    }
    let status = given(&query.status)
        .map(|status| {
            MessageStatus::parse(status).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "status must be one of pending, delivering, delivered, failed, cancelled, not {status:?}"
                ))
            })
        })
        .transpose()?;
    Ok(MessageFilter {
        status,
        destination_id: given(&query.destination).map(str::to_owned),
        flock_id: given(&query.flock).map(str::to_owned),
        alert_id: given(&query.alert).map(str::to_owned),
        since: optional_time("since", given(&query.since))?,
        until: optional_time("until", given(&query.until))?,
        before: given(&query.before)
            .map(|before| {
                Cursor::decode(before).ok_or(ApiError::InvalidParameter {
                    name: "before",
                    reason: "is not a position in the message list".into(),
                })
            })
            .transpose()?,
        limit: query.limit.unwrap_or(100).clamp(1, MAX_LIST),
    })
}

/// Lists messages, newest first.
#[utoipa::path(get, path = "/api/v1/messages", tag = "operator", summary = "Lists messages, newest first.",
    params(ListQuery), responses((status = 200, description = "Success.", body = MessageList)))]
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<MessageList>, ApiError> {
    let filter = filter(&query_string(query)?)?;
    let messages = state.outbox.list_messages(&filter).await?;
    // A full page may have a next one: it starts after the last message here.
    let next = (messages.len() == usize::try_from(filter.limit).unwrap_or(usize::MAX))
        .then(|| messages.last().map(|last| Cursor::after(last).encode()));
    Ok(Json(MessageList { result: Success::Success, messages, next_before: next.flatten() }))
}

/// A message with its attempts, or 404 naming it.
pub async fn message(state: &AppState, id: &str) -> Result<(Message, Vec<Attempt>), ApiError> {
    state.outbox.message(id).await?.ok_or_else(|| ApiError::NotFound(format!("message {id} not found")))
}

#[utoipa::path(get, path = "/api/v1/messages/{id}", tag = "operator",
    summary = "A message with its attempts, and the alerts it carried when it is a digest.",
    params(("id" = String, Path, description = "The message or destination id.")),
    responses((status = 200, description = "Success.", body = MessageShown)))]
pub async fn show(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<MessageShown>, ApiError> {
    let id = path_id(id)?;
    let (message, attempts) = message(&state, &id).await?;
    let digest_alerts = state.outbox.digest_alerts(&id).await?;
    Ok(Json(MessageShown { result: Success::Success, message, attempts, digest_alerts }))
}

#[utoipa::path(post, path = "/api/v1/messages/{id}/replay", tag = "operator",
    summary = "Queues a delivered or failed message again.",
    params(("id" = String, Path, description = "The message or destination id.")),
    responses((status = 200, description = "Success.", body = Replayed)))]
pub async fn replay(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Replayed>, ApiError> {
    let id = path_id(id)?;
    let message = state.outbox.replay(&id).await?;
    Ok(Json(Replayed { result: Success::Success, message }))
}

/// Query parameters of a recover.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecoverQuery {
    /// Window start (RFC 3339, Unix seconds, or a duration ago: 1h, 7d).
    #[param(required = true)]
    since: Option<String>,
    /// Window end (default now).
    until: Option<String>,
}
/// The window a recover request names for a destination: the destination
/// must exist, `since` is required, `until` defaults to now and must be later.
pub fn recover_window(
    state: &AppState,
    id: &str,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    if state.delivery.catalogue().destination(id).is_none() {
        return Err(ApiError::NotFound(format!("destination {id} not found")));
    }
    let since = since.map(str::trim).filter(|since| !since.is_empty());
    let since = parse_time("since", since.ok_or_else(|| ApiError::BadRequest("missing parameter since".into()))?)?;
    let until =
        optional_time("until", until.map(str::trim).filter(|until| !until.is_empty()))?.unwrap_or_else(Utc::now);
    if until <= since {
        return Err(ApiError::BadRequest("until must be later than since".into()));
    }
    Ok((since, until))
}

#[utoipa::path(post, path = "/api/v1/destinations/{id}/recover", tag = "operator",
    summary = "Queues again the failed messages of a destination created in a time window.",
    params(("id" = String, Path, description = "The message or destination id."), RecoverQuery),
    responses((status = 200, description = "Success.", body = Recovered)))]
pub async fn recover(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<RecoverQuery>, QueryRejection>,
) -> Result<Json<Recovered>, ApiError> {
    let id = path_id(id)?;
    let query = query_string(query)?;
    let (since, until) = recover_window(&state, &id, query.since.as_deref(), query.until.as_deref())?;
    let recovered = state.outbox.recover(&id, since, until).await?;
    Ok(Json(Recovered { result: Success::Success, recovered }))
}

/// `GET /api/v1/destinations`: names, kinds, scopes, states, the pace applied
/// (`rate_limit` per second, `null` when unpaced; `concurrency`), breakers,
/// and the storm settings (`grouping`, `dedupe`, `silenceable`).
#[utoipa::path(get, path = "/api/v1/destinations", tag = "operator",
    summary = "Every destination's id, name, kind, flock, state (enabled, disabled_by_operator or disabled_by_channel, with reason and time) and circuit breaker (never its secrets).",
    responses((status = 200, description = "Success.", body = DestinationList)))]
pub async fn destinations(State(state): State<AppState>) -> Result<Json<DestinationList>, ApiError> {
    let catalogue = state.delivery.catalogue();
    let destinations = catalogue
        .destinations()
        .iter()
        .map(|destination| {
            let pace = state.delivery.pace(destination);
            DestinationView {
                id: destination.id.clone(),
                name: destination.name.clone(),
                kind: destination.channel.kind(),
                flock_id: destination.scope.as_str().to_owned(),
                rate_limit: pace.rate,
                concurrency: pace.concurrency,
                breaker: state.delivery.breaker(&destination.id).view(),
                grouping: destination.storm.grouping.clone(),
                dedupe: destination.storm.dedupe.clone(),
                silenceable: destination.storm.silenceable(destination.channel.kind()),
                // enabled, state, state_reason, state_changed_at
                state: StateFields::of(destination, catalogue.state(&destination.id)),
            }
        })
        .collect();
    Ok(Json(DestinationList { result: Success::Success, destinations }))
}
