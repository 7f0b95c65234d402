//! Operations endpoints: Prometheus metrics and health probes (no token).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::{ErrorAnswer, Failure, Success};
use super::AppState;

/// `/metrics`, `/healthz`, `/readyz`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics)).routes(routes!(healthz)).routes(routes!(readyz))
}

/// The answer of `/healthz`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    pub result: Success,
    /// Always `ok`.
    pub status: &'static str,
}

/// The answer of `/readyz` when the store answers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Ready {
    pub result: Success,
    /// The store's backend (`sqlite` or `postgres`).
    pub store: &'static str,
}

#[utoipa::path(get, path = "/metrics", tag = "open", summary = "Prometheus metrics (text exposition format).",
    responses((status = 200, description = "Success.", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.delivery.refresh_queue_metrics(Utc::now()).await;
    let metrics = state.delivery.metrics();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.encode())
}

#[utoipa::path(get, path = "/healthz", tag = "open", summary = "The process is up.",
    responses((status = 200, description = "Success.", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { result: Success::Success, status: "ok" })
}

#[utoipa::path(get, path = "/readyz", tag = "open", summary = "The store answers (503 when it does not).",
    responses((status = 200, description = "Success.", body = Ready),
        (status = 503, description = "The store does not answer.", body = ErrorAnswer)))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.outbox.ready().await {
        Ok(backend) => (StatusCode::OK, Json(Ready { result: Success::Success, store: backend })).into_response(),
        Err(error) => {
            tracing::warn!(%error, "Readiness check: the store does not answer.");
            let answer = ErrorAnswer { result: Failure::Error, message: "store unreachable".into() };
            (StatusCode::SERVICE_UNAVAILABLE, Json(answer)).into_response()
        }
    }
}
