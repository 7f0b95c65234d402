//! The HTTP server of `flockrelay serve` (axum): ingest, the operator API,
//! metrics and health. Every handler returns `Result<_, ApiError>`; the mapping
//! to status codes lives in [`error`] only.
//!
//! - [`alerts`] — `POST /api/v1/alerts`.
//! - [`hooks`] — `POST /hooks/{source_id}`: verified webhooks from other systems.
//! - [`sources`] — `/api/v1/sources`: list, add, remove inbound sources.
//! - [`messages`] — messages, attempts, replay, recover, destination states.
//! - [`ops`] — `/metrics`, `/healthz`, `/readyz`.
//! - [`run`] — start (store, config, tokens), serve on a listener, drain.

pub mod alerts;
pub mod auth;
pub mod error;
pub mod hooks;
pub mod messages;
pub mod ops;
pub mod run;
pub mod sources;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;

use crate::outbox::Outbox;
use crate::secret::Secret;
use crate::sources::mapping::Mapper;
use error::ApiError;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub outbox: Arc<Outbox>,
    pub tokens: Arc<Vec<Secret>>,
    pub body_limit: usize,
    /// Inbound payload → alert templates.
    pub mapper: Arc<Mapper>,
}

/// Rejects API requests without a valid token before any handler runs.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let token = auth::presented(request.headers(), request.uri().query());
    if let Err(error) = auth::check(&state.tokens, token.as_deref()) {
        state.outbox.metrics.reject(match error {
            ApiError::MissingToken => "missing_token",
            _ => "bad_token",
        });
        return Err(error);
    }
    Ok(next.run(request).await)
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/v1/alerts", post(alerts::ingest))
        .route("/api/v1/messages", get(messages::list))
        .route("/api/v1/messages/{id}", get(messages::show))
        .route("/api/v1/messages/{id}/replay", post(messages::replay))
        .route("/api/v1/destinations", get(messages::destinations))
        .route("/api/v1/destinations/{id}/recover", post(messages::recover))
        .route("/api/v1/sources", get(sources::list).post(sources::add))
        .route("/api/v1/sources/{id}", delete(sources::remove))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .merge(api)
        // No API token: each source's own verification authenticates its requests.
        .route("/hooks/{source_id}", post(hooks::receive))
        .route("/metrics", get(ops::metrics))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        // Bodies are read by the handlers with this cap (413 past it).
        .layer(DefaultBodyLimit::max(state.body_limit))
        .with_state(state)
}
