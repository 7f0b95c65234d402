//! `/api/v1/silences`: list, create and expire silences (mute rules with
//! matchers and an expiry; see `crate::storm::silence`). Handlers parse, call
//! the outbox service and shape the answer.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::openapi::{Auth, Endpoint, In, Param, Route};
use super::AppState;
use crate::storm::service::{NewSilence, SilenceRequestError};
use crate::storm::silence::{self, Silence};

const ID: Param = Param { name: "id", location: In::Path, required: true, description: "The silence id (sil_…)." };

/// The silence routes with their descriptions.
pub fn routes() -> Vec<Route> {
    use axum::http::Method;
    vec![
        Route::new(
            Endpoint::new(
                Auth::Token,
                Method::GET,
                "/api/v1/silences",
                "Lists the silences in force, newest first (all=true: expired ones too).",
                &[Param {
                    name: "all",
                    location: In::Query,
                    required: false,
                    description: "true to list expired silences too.",
                }],
                &[("silences", "array")],
            ),
            list,
        ),
        Route::new(
            Endpoint {
                json_body: Some(
                    "{\"matchers\": [{\"field\": \"actor.ip\", \"op\": \"equals\"|\"matches\", \"value\": \"…\"}], \
                     \"reason\": \"…\", \"author\": \"…\", \"expires_at\": \"RFC 3339\" or \"duration\": \"2h\"}",
                ),
                success: 201,
                ..Endpoint::new(
                    Auth::Token,
                    Method::POST,
                    "/api/v1/silences",
                    "Creates a silence: matching alerts are stored and shown as silenced, not sent to destinations \
                     that can be silenced.",
                    &[],
                    &[("silence", "object")],
                )
            },
            create,
        ),
        Route::new(
            Endpoint::new(
                Auth::Token,
                Method::DELETE,
                "/api/v1/silences/{id}",
                "Expires a silence now (it stays listed with all=true).",
                &[ID],
                &[("silence", "object")],
            ),
            expire,
        ),
    ]
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    all: Option<String>,
}

/// A silence as answered: stored fields plus whether it is in force.
pub fn view(silence: &Silence, now: chrono::DateTime<Utc>) -> Value {
    let mut value = serde_json::to_value(silence).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("active".into(), Value::Bool(silence::active(silence, now)));
    }
    value
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let all = match query.all.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(ApiError::InvalidParameter { name: "all", reason: "must be true or false".into() }),
    };
    let now = Utc::now();
    let silences = state.outbox.silences(all, now).await?;
    let silences: Vec<Value> = silences.iter().map(|silence| view(silence, now)).collect();
    Ok(Json(json!({"result": "success", "silences": silences})))
}

pub async fn create(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(json!({"result": "success", "silence": view(&silence, now)}))))
}

pub async fn expire(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let now = Utc::now();
    let silence = state.outbox.expire_silence(&id, now).await?;
    Ok(Json(json!({"result": "success", "silence": view(&silence, now)})))
}
