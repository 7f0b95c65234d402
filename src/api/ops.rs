//! Operations endpoints: Prometheus metrics and health probes (no token).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::openapi::{Auth, Endpoint, Route};
use super::AppState;
use crate::destination::Destination;

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
    let metrics = &state.outbox.metrics;
    match state.outbox.store.queue_depths().await {
        Ok(depths) => {
            let catalogue = state.outbox.catalogue();
            let state_of = |destination: &Destination| {
                crate::store::effective_state(destination, catalogue.state(&destination.id)).0
            };
            metrics.set_queue(catalogue.destinations(), state_of, &depths, Utc::now());
        }
        Err(error) => tracing::warn!(%error, "Cannot read queue depths for /metrics."),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], metrics.encode())
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({"result": "success", "status": "ok"}))
}

/// `GET /readyz`: the store answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.outbox.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"result": "success", "store": state.outbox.store.backend()}))),
        Err(error) => {
            tracing::warn!(%error, "Readiness check: the store does not answer.");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"result": "error", "message": "store unreachable"})))
        }
    }
}
