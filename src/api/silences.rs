//! `/api/v1/silences`: list, create and expire silences (mute rules with
//! matchers and an expiry; see `crate::storm::silence`). Handlers parse, call
//! the outbox service and shape the answer.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::Success;
use super::error::ApiError;
use super::AppState;
use crate::storm::service::{NewSilence, SilenceRequestError};
use crate::storm::silence::{self, Silence};

/// The silence routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(expire))
}

/// Query parameters of the silence list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// true to list expired silences too.
    #[serde(default)]
    all: Option<String>,
}

/// A silence as answered: stored fields plus whether it is in force.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SilenceView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub silence: Silence,
    /// Whether it is in force now.
    pub active: bool,
}

impl SilenceView {
    /// `silence` as of `now`.
    pub fn of(silence: &Silence, now: chrono::DateTime<Utc>) -> Self {
        Self { silence: silence.clone(), active: silence::active(silence, now) }
    }
}

/// [`SilenceView`] as a JSON object (the console shows it).
pub fn view(silence: &Silence, now: chrono::DateTime<Utc>) -> Value {
    serde_json::to_value(SilenceView::of(silence, now)).unwrap_or(Value::Null)
}

/// The answer of the silence list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SilenceList {
    pub result: Success,
    pub silences: Vec<SilenceView>,
}

/// The answer of a silence created or expired.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SilenceAnswer {
    pub result: Success,
    pub silence: SilenceView,
}

#[utoipa::path(get, path = "/api/v1/silences", tag = "operator",
    summary = "Lists the silences in force, newest first (all=true: expired ones too).",
    params(ListQuery), responses((status = 200, description = "Success.", body = SilenceList)))]
pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<SilenceList>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let all = match query.all.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(ApiError::InvalidParameter { name: "all", reason: "must be true or false".into() }),
    };
    let now = Utc::now();
    let silences = state.outbox.silences(all, now).await?;
    let silences = silences.iter().map(|silence| SilenceView::of(silence, now)).collect();
    Ok(Json(SilenceList { result: Success::Success, silences }))
}

#[utoipa::path(post, path = "/api/v1/silences", tag = "operator",
    summary = "Creates a silence: matching alerts are stored and shown as silenced, not sent to destinations that can be silenced.",
    request_body(content = Object, content_type = "application/json",
        description = "{\"matchers\": [{\"field\": \"actor.ip\", \"op\": \"equals\"|\"matches\", \"value\": \"…\"}], \"reason\": \"…\", \"author\": \"…\", \"expires_at\": \"RFC 3339\" or \"duration\": \"2h\"}"),
    responses((status = 201, description = "Created.", body = SilenceAnswer)))]
pub async fn create(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SilenceAnswer>), ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(state.body_limit),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    let request: NewSilence = serde_json::from_slice(&body)
        .map_err(|error| ApiError::BadRequest(format!("the silence is not valid: {error}")))?;
    let now = Utc::now();
    let silence = state.outbox.add_silence(request, now).await.map_err(|error| match error {
        SilenceRequestError::Invalid(error) => ApiError::BadRequest(error.to_string()),
        SilenceRequestError::Store(error) => error.into(),
    })?;
    Ok((StatusCode::CREATED, Json(SilenceAnswer { result: Success::Success, silence: SilenceView::of(&silence, now) })))
}

#[utoipa::path(delete, path = "/api/v1/silences/{id}", tag = "operator",
    summary = "Expires a silence now (it stays listed with all=true).",
    params(("id" = String, Path, description = "The silence id (sil_…).")),
    responses((status = 200, description = "Success.", body = SilenceAnswer)))]
pub async fn expire(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<SilenceAnswer>, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let now = Utc::now();
    let silence = state.outbox.expire_silence(&id, now).await?;
    Ok(Json(SilenceAnswer { result: Success::Success, silence: SilenceView::of(&silence, now) }))
}
