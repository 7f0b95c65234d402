//! The one mapping from errors to HTTP answers: `{"result": "error", "message": …}`
//! with a status that says whose fault it is. Store trouble is a 503 with a
//! generic message (details go to the log), never a panic.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::outbox::ingest::IngestError;
use crate::store::StoreError;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("missing auth_token (parameter or X-Canary-Auth-Token header)")]
    MissingToken,
    #[error("invalid auth_token")]
    BadToken,
    #[error("{0}")]
    BadRequest(String),
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the store is unavailable; try again")]
    Unavailable,
    /// An inbound webhook's signature or credentials are missing or wrong, or
    /// its source does not exist: one answer for all, so nothing is revealed.
    #[error("unauthorized")]
    Unauthorized,
    /// An authentic inbound webhook that the relay's own set-up cannot take now
    /// (the source's flock or mapping template is gone); the sender may retry.
    #[error("this source cannot accept events right now; try again later")]
    SourceUnavailable,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken => StatusCode::UNAUTHORIZED,
            Self::BadToken => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable | Self::SourceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::MessageNotFound(_)
            | StoreError::DestinationNotFound(_)
            | StoreError::FlockNotFound(_)
            | StoreError::SourceNotFound(_) => Self::NotFound(error.to_string()),
            StoreError::NotReplayable { .. } => Self::Conflict(error.to_string()),
            other => {
                tracing::error!(error = %other, "Store error while answering a request.");
                Self::Unavailable
            }
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(error: IngestError) -> Self {
        match error {
            IngestError::UnknownFlock { .. } => Self::BadRequest(error.to_string()),
            IngestError::Store(error) => error.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(json!({"result": "error", "message": self.to_string()}))).into_response()
    }
}
