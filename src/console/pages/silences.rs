//! Silences: the silences in force and recently expired, a form to create one
//! (matchers one per line, `field=value` or `field=~regex`, with a reason, an
//! author and a duration) and a button to expire one. Calls the same outbox
//! service as `/api/v1/silences` and `flockrelay silences`.

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value};

use super::{refused, unavailable, NoticeQuery};
use crate::api::error::ApiError;
use crate::api::silences::view;
use crate::api::AppState;
use crate::console::view::{context, redirect, Flash};
use crate::console::{Posted, SignedIn};
use crate::storm::service::{NewSilence, SilenceRequestError};
use crate::storm::silence::{Matcher, Op};

async fn render(state: &AppState, signed_in: &SignedIn, flash: &Flash, form: Map<String, Value>) -> Response {
    let now = Utc::now();
    let silences = match state.outbox.silences(true, now).await {
        Ok(silences) => silences,
        Err(error) => return unavailable(state, &ApiError::from(error)),
    };
    let shown: Vec<Value> = silences.iter().take(200).map(|silence| view(silence, now)).collect();
    let mut page = context("silences", Some(&signed_in.session), flash);
    page.insert("silences", &shown);
    page.insert("fields", &crate::storm::FIELDS);
    page.insert("form", &form);
    state.console.views.page(flash.status, "silences.html", &page)
}

/// `GET /silences`.
pub async fn page(State(state): State<AppState>, signed_in: SignedIn, Query(query): Query<NoticeQuery>) -> Response {
    let flash = Flash::from_code(query.notice.as_deref(), query.count);
    render(&state, &signed_in, &flash, Map::new()).await
}

/// One matcher per line: `field=value` or `field=~regex`.
fn matchers(text: &str) -> Result<Vec<Matcher>, ApiError> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (field, value) = line.split_once('=').ok_or_else(|| ApiError::InvalidParameter {
                name: "matchers",
                reason: "one per line: field=value or field=~regex".into(),
            })?;
            let (op, value) = match value.strip_prefix('~') {
                Some(pattern) => (Op::Matches, pattern),
                None => (Op::Equals, value),
            };
            Ok(Matcher { field: field.trim().to_owned(), op, value: value.to_owned() })
        })
        .collect()
}

const KEPT_FIELDS: [&str; 4] = ["matchers", "reason", "author", "duration"];

/// `POST /silences/add`: `matchers`, `reason`, `author`, `duration`.
pub async fn add(State(state): State<AppState>, posted: Posted) -> Response {
    let result = async {
        let request = NewSilence {
            matchers: matchers(posted.field("matchers").unwrap_or_default())?,
            reason: posted.field("reason").unwrap_or_default().to_owned(),
            author: posted.field("author").unwrap_or_default().to_owned(),
            expires_at: None,
            duration: Some(posted.field("duration").unwrap_or("1h").to_owned()),
        };
        state.outbox.add_silence(request, Utc::now()).await.map_err(|error| match error {
            SilenceRequestError::Invalid(error) => ApiError::BadRequest(error.to_string()),
            SilenceRequestError::Store(error) => ApiError::from(error),
        })
    }
    .await;
    match result {
        Ok(_) => redirect("/silences?notice=silence_added"),
        Err(error) => {
            let mut flash = Flash::error(&error);
            flash.status = refused(flash.status);
            let kept: Map<String, Value> = KEPT_FIELDS
                .iter()
                .filter_map(|name| posted.field(name).map(|value| ((*name).to_owned(), Value::from(value))))
                .collect();
            render(&state, &posted.signed_in, &flash, kept).await
        }
    }
}

/// `POST /silences/expire`: `id`.
pub async fn expire(State(state): State<AppState>, posted: Posted) -> Response {
    let result = match posted.field("id") {
        Some(id) => state.outbox.expire_silence(id, Utc::now()).await.map_err(ApiError::from),
        None => Err(ApiError::MissingParameter("id")),
    };
    match result {
        Ok(_) => redirect("/silences?notice=silence_expired"),
        Err(error) => {
            let mut flash = Flash::error(&error);
            flash.status = refused(flash.status);
            render(&state, &posted.signed_in, &flash, Map::new()).await
        }
    }
}
