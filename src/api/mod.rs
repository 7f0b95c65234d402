//! The HTTP server of `flockrelay serve` (axum): ingest, the operator API, the
//! Canary-style management API, metrics and health. Every handler returns
//! `Result<_, ApiError>`; the mapping to status codes lives in [`error`] only.
//!
//! Handlers take typed parameters (`Query<T>`, `Path`, or the Canary-style
//! [`canary::Canary<T>`], which merges query, form and JSON) and answer typed
//! structs (the shared shapes are in [`answer`]). Each handler is registered
//! with `utoipa_axum`'s `routes!` from its `#[utoipa::path]`, so the router
//! ([`router`]) and the OpenAPI document ([`document`]) are made from the same
//! registrations; the token-checked routes are grouped apart
//! (`token_routes`) so the token middleware sits in front of them only.
//!
//! - [`alerts`] — `POST /api/v1/alerts`.
//! - [`hooks`] — `POST /hooks/{source_id}`: verified webhooks from other systems.
//! - [`sources`] — `/api/v1/sources`: list, add, remove inbound sources.
//! - [`messages`] — messages, attempts, replay, recover, destination states.
//! - [`silences`] — `/api/v1/silences`: list, create, expire silences.
//! - [`destinations`] — re-enable or disable a destination (stored state).
//! - [`canary`] — flocks and their webhooks, as a Canary console's API.
//! - [`ops`] — `/metrics`, `/healthz`, `/readyz`.
//! - [`answer`] — the success and error answer shapes every endpoint shares.
//! - [`openapi`] — `/api/openapi.json`: the generated document's shared parts.
//! - [`run`] — start (store, config, tokens), serve on a listener, drain.
//! - [`listen`] — the accept loop: header and body timeouts, bounded shutdown.
//! - [`reload`] — applying a new configuration while serving (SIGHUP).
//!
//! The operator console ([`crate::console`]) is merged into the same router.

pub mod alerts;
pub mod answer;
pub mod auth;
pub mod canary;
pub mod destinations;
pub mod error;
pub mod hooks;
pub mod listen;
pub mod messages;
pub mod openapi;
pub mod ops;
pub mod reload;
pub mod run;
pub mod silences;
pub mod sources;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, Uri};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;

use crate::catalogue::registry::Registry;
use crate::console::Console;
use crate::delivery::Delivery;
use crate::ingest::inbound::mapping::Mapper;
use crate::ingest::Ingest;
use crate::outbox::Outbox;
use crate::secret::Secret;
use error::ApiError;
use openapi::ApiDoc;
use utoipa::{Modify as _, OpenApi as _};
use utoipa_axum::router::OpenApiRouter;

/// What every handler can reach: the four services, and the HTTP settings.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Flocks, destinations and sources: every catalogue change goes through it.
    pub registry: Arc<Registry>,
    /// Alerts in: namespace, resolve, render, group commit.
    pub ingest: Arc<Ingest>,
    /// Messages: list, show, replay, recover; silences.
    pub outbox: Arc<Outbox>,
    /// The workers: pace, breakers, test sends, the metrics they count in.
    pub delivery: Arc<Delivery>,
    pub tokens: Arc<Vec<Secret>>,
    pub body_limit: usize,
    /// `delivery.allow_http`: whether webhook URLs may be plain `http://`.
    pub allow_http: bool,
    /// Inbound payload → alert templates.
    pub mapper: Arc<Mapper>,
    /// The operator console's sessions and templates.
    pub console: Arc<Console>,
    /// `console.enabled`: whether the console's pages are served.
    pub console_enabled: bool,
}

/// Rejects API requests without a valid token before any handler runs.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let token = auth::presented(request.headers(), request.uri().query());
    if let Err(error) = auth::check(&state.tokens, token.as_deref()) {
        state.delivery.metrics().reject(match error {
            ApiError::MissingToken => "missing_token",
            _ => "bad_token",
        });
        return Err(error);
    }
    Ok(next.run(request).await)
}

/// The routes that need a token in the header or query (the operator API and
/// ingest); [`router`] puts [`require_token`] in front of them only.
fn token_routes() -> OpenApiRouter<AppState> {
    alerts::routes()
        .merge(messages::routes())
        .merge(destinations::routes())
        .merge(sources::routes())
        .merge(silences::routes())
}

/// The routes that check a token themselves (the Canary-style API, by its
/// extractor) or need none (webhooks with their own schemes, health, metrics,
/// the document).
fn other_routes() -> OpenApiRouter<AppState> {
    canary::routes().merge(hooks::routes()).merge(ops::routes()).merge(openapi::routes())
}

/// The OpenAPI document of every route [`router`] serves, made from the same
/// route registrations.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document =
        OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(token_routes()).merge(other_routes()).into_openapi();
    openapi::Shared.modify(&mut document);
    document
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (protected, _) =
        token_routes().route_layer(middleware::from_fn_with_state(state.clone(), require_token)).split_for_parts();
    let (open, _) = other_routes().split_for_parts();
    let console = if state.console_enabled { crate::console::router() } else { Router::new() };
    Router::new()
        .merge(protected)
        .merge(open)
        .merge(console)
        .fallback(no_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        // Bodies are read by the handlers with this cap (413 past it).
        .layer(DefaultBodyLimit::max(state.body_limit))
        .with_state(state)
}

async fn no_endpoint(uri: Uri) -> ApiError {
    ApiError::NoEndpoint(uri.path().chars().take(200).collect())
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().chars().take(200).collect() }
}
