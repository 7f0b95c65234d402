//! Operations endpoints: Prometheus metrics and health probes (no token).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::openapi::{Auth, Endpoint, Route};
use super::AppState;

fn open(path: &'static str, summary: &'static str, answer: &'static [(&'static str, &'static str)]) -> Endpoint {
    Endpoint::new(Auth::Open, axum::http::Method::GET, path, summary, &[], answer)
}

/// The operations routes with their descriptions.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new(open("/metrics", "Prometheus metrics (text exposition format).", &[]), metrics),
        Route::new(open("/healthz", "The process is up.", &[("status", "string")]), healthz),
        Route::new(open("/readyz", "The store answers (503 when it does not).", &[("store", "string")]), readyz),
    ]
}

/// `GET /metrics`: the text exposition format; queue figures read now.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    state.delivery.refresh_queue_metrics(Utc::now()).await;
    let metrics = state.delivery.metrics();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.encode())
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"result": "success", "status": "ok"}))
}

/// `GET /readyz`: the store answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.outbox.ready().await {
        Ok(backend) => (StatusCode::OK, Json(json!({"result": "success", "store": backend}))),
        Err(error) => {
            tracing::warn!(%error, "Readiness check: the store does not answer.");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"result": "error", "message": "store unreachable"})))
        }
    }
}
