//! One file per console page: its GET handler (which renders the page, with
//! an optional flash message) and the form POSTs it offers. Each calls the
//! functions the JSON API calls and shapes the answer as HTML.
//!
//! - [`auth`] — sign-in and sign-out.
//! - [`overview`] — queue figures, the last hour, what needs a person.
//! - [`flocks`] — the global set and each flock: switches, create, rename, delete.
//! - [`destinations`] — per channel: add, remove, enable/disable, test, preview.
//! - [`messages`] — filtered keyset list, one message with its attempts, replay, recover.
//! - [`sources`] — inbound endpoints: URL, scheme, recent refusals; add, remove.
//! - [`silences`] — silences in force and expired; create, expire.

pub mod auth;
pub mod destinations;
pub mod flocks;
pub mod messages;
pub mod overview;
pub mod silences;
pub mod sources;

use axum::http::StatusCode;
use axum::response::Response;

use crate::api::error::ApiError;
use crate::api::AppState;

/// The page for a failure before a page could be made (the store is down).
pub fn unavailable(state: &AppState, error: &ApiError) -> Response {
    super::view::problem(&state.console.views, error.status(), &error.to_string())
}

/// `?notice=…&count=…` of a redirect after an action.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoticeQuery {
    pub notice: Option<String>,
    pub count: Option<u64>,
}

/// The status of a page answering a refused action: the API's (4xx), never 200.
pub fn refused(status: StatusCode) -> StatusCode {
    if status.is_success() {
        StatusCode::BAD_REQUEST
    } else {
        status
    }
}
