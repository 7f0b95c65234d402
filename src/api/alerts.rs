//! `POST /api/v1/alerts`: one alert or an array, in our JSON form or as a Canary
//! console incident. Answers 202 only after every message is committed.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::Success;
use super::error::ApiError;
use super::AppState;
use crate::alert::Alert;
use crate::ingest::Incoming;
use crate::limits;
use crate::origin::AlertOrigin;

/// `POST /api/v1/alerts`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(ingest))
}

/// One alert of an ingest answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertStored {
    pub alert_id: String,
    /// How many messages (one per destination) were queued.
    pub messages: u64,
    /// Whether it was seen before (nothing queued again).
    pub duplicate: bool,
}

/// The answer of `POST /api/v1/alerts`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertsAccepted {
    pub result: Success,
    pub alerts: Vec<AlertStored>,
}

/// Accepts alerts; answers 202 once every message is stored.
#[utoipa::path(post, path = "/api/v1/alerts", tag = "operator",
    summary = "Accepts one alert or an array (our form or a Canary console incident); answers after every message is stored. An Idempotency-Key header de-duplicates retries.",
    request_body(content = serde_json::Value, content_type = "application/json", description = "An alert object or an array of alert objects."),
    responses((status = 202, description = "Accepted.", body = AlertsAccepted)))]
pub async fn ingest(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AlertsAccepted>), ApiError> {
    let refused = |reason: &str, error: ApiError| {
        state.delivery.metrics().reject(reason);
        error
    };
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => refused("alerts_too_large", ApiError::TooLarge(state.body_limit)),
        _ => refused("alerts_unreadable", ApiError::BadRequest(rejection.body_text())),
    })?;
    let key = idempotency_key(&headers).map_err(|error| refused("alerts_bad_request", error))?;
    let incoming = parse(&body, key.as_deref()).map_err(|error| refused("alerts_bad_request", error))?;
    let stored = state.ingest.accept(incoming, AlertOrigin::Api).await.map_err(|error| {
        let error = ApiError::from(error);
        if error.status().is_client_error() {
            state.delivery.metrics().reject("alerts_bad_request");
        }
        error
    })?;
    let alerts = stored
        .into_iter()
        .map(|stored| AlertStored { alert_id: stored.alert_id, messages: stored.messages, duplicate: stored.duplicate })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(AlertsAccepted { result: Success::Success, alerts })))
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let max = limits::IDEMPOTENCY_KEY;
    let key =
        value.to_str().ok().filter(|key| !key.is_empty() && key.len() <= max).ok_or_else(|| {
            ApiError::BadRequest(format!("Idempotency-Key must be 1 to {max} visible ASCII characters"))
        })?;
    // Ingest puts it in the API's namespace (`api:<key>`), apart from every
    // inbound webhook's `hook:<source>:<webhook-id>`.
    Ok(Some(key.to_owned()))
}

/// One alert or an array of alerts; each error names the alert and the field.
fn parse(body: &[u8], key: Option<&str>) -> Result<Vec<Incoming>, ApiError> {
    let document: Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::BadRequest(format!("body is not valid JSON: {error}")))?;
    let now = Utc::now();
    let one = |index: Option<usize>, value: Value| {
        let alert = Alert::from_value(value, now).map_err(|error| match index {
            // Counted from 1, as people count: "alert 1" is the first of the array.
            Some(index) => ApiError::BadRequest(format!("alert {}: {error}", index + 1)),
            None => ApiError::BadRequest(error.to_string()),
        })?;
        let idempotency_key = match (key, index) {
            (Some(key), Some(index)) => Some(format!("{key}#{index}")),
            (key, _) => key.map(str::to_owned),
        };
        // Alerts posted to the API start a chain of relays: hop 0.
        Ok(Incoming { alert, idempotency_key, hops: 0 })
    };
    match document {
        Value::Array(items) if items.is_empty() => Err(ApiError::BadRequest("the array holds no alert".into())),
        Value::Array(items) => items.into_iter().enumerate().map(|(index, item)| one(Some(index), item)).collect(),
        object @ Value::Object(_) => Ok(vec![one(None, object)?]),
        _ => Err(ApiError::BadRequest("body must be an alert object or an array of alerts".into())),
    }
}
