//! The one mapping from errors to HTTP answers: `{"result": "error", "message": …}`
//! with a status that says whose fault it is. Store trouble is a 503 with a
//! generic message (details go to the log), never a panic.

use super::answer::{ErrorAnswer, Failure};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::catalogue::registry::RegistryError;
use crate::ingest::IngestError;
use crate::store::StoreError;

/// Every way a request can fail; the message names the problem (the parameter,
/// the flock, the channel's answer) and never a secret or an internal cause.
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
    #[error("missing parameter {0}")]
    MissingParameter(&'static str),
    #[error("invalid {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    #[error("unknown flock {0:?}")]
    UnknownFlock(String),
    #[error("the test notification was not delivered: {0}")]
    TestFailed(String),
    #[error("unsupported content type {0:?}: send parameters form-encoded, as a JSON object, or in the query string")]
    UnsupportedMediaType(String),
    #[error("no such endpoint: {0}")]
    NoEndpoint(String),
    #[error("method {method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    /// An inbound webhook's signature or credentials are missing or wrong, or
    /// its source does not exist: one answer for all, so nothing is revealed.
    #[error("unauthorized")]
    Unauthorized,
    /// An authentic inbound webhook that the relay's own set-up cannot take now
    /// (the source's flock or mapping template is gone); the sender may retry.
    #[error("this source cannot accept events right now; try again later")]
    SourceUnavailable,
    /// The request body did not arrive within `server.body_read_timeout`.
    #[error("the request body did not arrive within server.body_read_timeout")]
    BodyTimeout,
}

impl ApiError {
    /// The HTTP status this error is answered with (never a 5xx except when the
    /// store is unavailable).
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
            Self::MissingParameter(_) | Self::InvalidParameter { .. } => StatusCode::BAD_REQUEST,
            Self::UnknownFlock(_) | Self::NoEndpoint(_) => StatusCode::NOT_FOUND,
            // The relay did its part; the channel refused or failed. Not a relay fault, so no 5xx.
            Self::TestFailed(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::FlockNotFound(id) => Self::UnknownFlock(id),
            StoreError::MessageNotFound(_)
            | StoreError::DestinationNotFound(_)
            | StoreError::SourceNotFound(_)
            | StoreError::SilenceNotFound(_) => Self::NotFound(error.to_string()),
            StoreError::NotReplayable { .. }
            | StoreError::DuplicateDestination(_)
            | StoreError::DeclaredInConfig(_)
            | StoreError::FlockDeclaredInConfig(_)
            | StoreError::SourceDeclaredInConfig(_)
            | StoreError::SourceExists(_) => Self::Conflict(error.to_string()),
            other => {
                tracing::error!(error = %other, "Store error while answering a request.");
                Self::Unavailable
            }
        }
    }
}

impl From<RegistryError> for ApiError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::UnknownFlock(id) => Self::UnknownFlock(id),
            RegistryError::NotFound(message) => Self::NotFound(message),
            RegistryError::Owned(message) | RegistryError::Exists(message) => Self::Conflict(message),
            RegistryError::Store(error) => error.into(),
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
        let answer = ErrorAnswer { result: Failure::Error, message: self.to_string() };
        (self.status(), Json(answer)).into_response()
    }
}
