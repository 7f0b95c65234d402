//! `POST /hooks/{source_id}`: webhooks other systems post to the relay. No API
//! token: the source's own verification is the authentication.
//!
//! Order: the hop count (400 past [`hops::MAX_HOPS`]: a loop between relays) →
//! read the body (413 past the limit) → find the source → verify (401,
//! the same answer for an unknown source, a missing or a wrong credential) →
//! parse the JSON body (400) → drop the credential field → map to an alert (400)
//! → enqueue durably → 202. A `webhook-id` accepted before is recognised through
//! the stored idempotency key `hook:<source_id>:<webhook-id>` — after a restart too —
//! and answered 202 without relaying again.
//!
//! Every refusal is counted in `flockrelay_requests_rejected_total{reason="hook_…"}`
//! and logged with the source and the reason, never with a secret.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::{ErrorAnswer, Success};
use super::error::ApiError;
use super::AppState;
use crate::hops;
use crate::ingest::inbound::mapping::MappingError;
use crate::ingest::inbound::receive::Refusal;
use crate::ingest::inbound::{self, valid_source_id, Source, VerifyError};
use crate::ingest::IngestError;
use crate::origin::AlertOrigin;
use crate::store::SourceRecord;

/// `POST /hooks/{source_id}`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// The answer of an accepted webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HookAccepted {
    pub result: Success,
    pub alert_id: String,
    /// Whether it was seen before (acknowledged without relaying again).
    pub duplicate: bool,
}

/// Receives one webhook; answers 202 once its alert is stored.
#[utoipa::path(post, path = "/hooks/{source_id}", tag = "open",
    summary = "Receives a webhook from another system; the source's own scheme (Standard Webhooks, X-Flock-Signature, Basic, client secret, bearer) authenticates it. Answers after the alert is stored.",
    params(("source_id" = String, Path, description = "The source id.")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "The sender's event, mapped to an alert by the source's template."),
    responses(
        (status = 202, description = "Accepted.", body = HookAccepted),
        (status = 400, description = "The body is unreadable, not JSON, or does not map to an alert.", body = ErrorAnswer),
        (status = 401, description = "No such source (or it is disabled), or the request does not authenticate.", body = ErrorAnswer),
        (status = 413, description = "The body is larger than server.body_limit.", body = ErrorAnswer),
        (status = 503, description = "The store is unavailable, or the source's flock or template is missing.", body = ErrorAnswer)))]
pub async fn receive(
    State(state): State<AppState>,
    source_id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<HookAccepted>), ApiError> {
    // A path that does not even decode names no source: the same refusal as an unknown one.
    let source_id = source_id.map(|Path(id)| id).unwrap_or_default();
    // The id comes from the URL: only a well-formed one is looked up or logged as is.
    let shown = if valid_source_id(&source_id) { source_id.as_str() } else { "(malformed id)" };
    let refuse = |reason: &'static str, error: ApiError| {
        state.ingest.refused(shown.to_owned(), reason);
        error
    };
    // A request that passed too many relays is a loop: refused before anything
    // else is read (never a 5xx: the sender must not retry it).
    if let Err(error) = hops::inbound(&headers) {
        tracing::warn!(source = shown, reason = error.reason(), %error, "Inbound webhook refused.");
        return Err(refuse(error.reason(), ApiError::BadRequest(error.to_string())));
    }
    let body = body.map_err(|rejection| {
        let (reason, error) = unreadable(&rejection, state.body_limit);
        tracing::warn!(source = shown, reason, %error, "Inbound webhook refused.");
        refuse(reason, error)
    })?;
    let record = if valid_source_id(&source_id) { state.registry.source(&source_id).await? } else { None };
    let Some(SourceRecord { source, .. }) = record.filter(|record| record.source.enabled) else {
        tracing::warn!(
            source = shown,
            reason = "hook_unknown_source",
            "Inbound webhook refused: no such source, or it is disabled."
        );
        return Err(refuse("hook_unknown_source", ApiError::Unauthorized));
    };
    let incoming = inbound::receive::receive(&state.mapper, &source, &headers, &body, Utc::now())
        .map_err(|refusal| refuse(refusal.reason(), refused(&source, refusal)))?;
    let stored = state.ingest.accept(vec![incoming], AlertOrigin::Hook { source: &source.id }).await.map_err(
        |error| match error {
            IngestError::UnknownFlock { .. } => {
                tracing::error!(source = %source.id, flock = %source.flock, "Inbound webhook cannot be relayed: the source's flock does not exist.");
                refuse("hook_unavailable", ApiError::SourceUnavailable)
            }
            IngestError::Store(error) => error.into(),
        },
    )?;
    let Some(stored) = stored.into_iter().next() else {
        return Err(ApiError::Unavailable);
    };
    if stored.duplicate {
        tracing::info!(source = %source.id, alert = %stored.alert_id, "Inbound webhook seen before; acknowledged without relaying again.");
    } else {
        tracing::info!(source = %source.id, alert = %stored.alert_id, messages = stored.messages, "Inbound webhook accepted.");
    }
    let answer = HookAccepted { result: Success::Success, alert_id: stored.alert_id, duplicate: stored.duplicate };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// Why a body could not be read: past `body_limit` (413), or unreadable (400).
fn unreadable(rejection: &BytesRejection, body_limit: usize) -> (&'static str, ApiError) {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ("hook_too_large", ApiError::TooLarge(body_limit));
    }
    ("hook_unreadable_body", ApiError::BadRequest(rejection.body_text()))
}

/// Logs why [`inbound::receive::receive`] refused a request of `source` and
/// answers it: 401 for verification (one answer for every credential problem),
/// 400 for a payload the sender got wrong, 503 when the source's template is gone.
fn refused(source: &Source, refusal: Refusal) -> ApiError {
    let reason = refusal.reason();
    match refusal {
        Refusal::Hops(error) => ApiError::BadRequest(error.to_string()),
        Refusal::Verify(error) => {
            tracing::warn!(source = %source.id, scheme = %source.scheme.name(), reason, %error, "Inbound webhook refused.");
            match error {
                // Authentic (the signature matched) but without a usable timestamp.
                VerifyError::Payload(detail) => ApiError::BadRequest(detail),
                _ => ApiError::Unauthorized,
            }
        }
        Refusal::Body(error) => {
            tracing::warn!(source = %source.id, reason, %error, "Inbound webhook refused.");
            ApiError::BadRequest(format!("body is not valid JSON: {error}"))
        }
        Refusal::Mapping(error @ MappingError::Unknown(_)) => {
            tracing::error!(source = %source.id, %error, "Inbound webhook cannot be mapped: the source's template is missing.");
            ApiError::SourceUnavailable
        }
        Refusal::Mapping(error) => {
            tracing::warn!(source = %source.id, reason, %error, "Inbound webhook refused.");
            ApiError::BadRequest(format!("the payload does not map to an alert: {error}"))
        }
    }
}
