//! Messages: the list filtered by status, destination, flock, alert and time
//! (the API's parameters and rules), newest first, a page at a time by keyset
//! (`before=` names the last message shown, so a deep page costs what the
//! first does); one message with its body and every attempt, and Replay;
//! Recover, which first shows how many failed messages the window holds and
//! queues them again only once confirmed.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::SecondsFormat;
use serde::Deserialize;
use serde_json::{json, Value};
use tera::Context;

use super::{refused, unavailable};
use crate::api::canary::current;
use crate::api::error::ApiError;
use crate::api::messages::{filter, message, recover_window, ListQuery};
use crate::api::AppState;
use crate::catalogue::Catalogue;
use crate::console::view::{context, object, redirect, time, Flash};
use crate::console::{Posted, SignedIn};
use crate::store::{Cursor, Message, MessageStatus};

/// Messages on one page.
pub const PAGE_SIZE: u32 = 50;

/// The list's query: the API's filters, the keyset cursor and a notice.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub status: Option<String>,
    pub destination: Option<String>,
    pub flock: Option<String>,
    pub alert: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub before: Option<String>,
    pub notice: Option<String>,
    pub count: Option<u64>,
}

impl PageQuery {
    fn list_query(&self) -> ListQuery {
        ListQuery {
            status: self.status.clone(),
            destination: self.destination.clone(),
            flock: self.flock.clone(),
            alert: self.alert.clone(),
            since: self.since.clone(),
            until: self.until.clone(),
            limit: Some(PAGE_SIZE + 1),
            before: self.before.clone(),
        }
    }

    /// The filters as a query string, for links that keep them.
    fn filters(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("status", &self.status),
            ("destination", &self.destination),
            ("flock", &self.flock),
            ("alert", &self.alert),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if let Some(value) = value.as_deref().map(str::trim).filter(|value| !value.is_empty()) {
                query.append_pair(name, value);
            }
        }
        query.finish()
    }
}

fn row(message: &Message) -> Value {
    object([
        ("id", json!(message.id)),
        ("created", json!(time(message.created_at))),
        ("alert", json!(message.alert_id)),
        ("destination", json!(message.destination_id)),
        ("flock", json!(message.flock_id)),
        ("kind", json!(message.kind.as_str())),
        ("status", json!(message.status.as_str())),
        ("attempts", json!(message.attempts)),
        ("next_attempt", json!(time(message.next_attempt_at))),
        ("finished", json!(message.finished_at.map(time))),
        ("last_error", json!(message.last_error)),
    ])
}

/// A window waiting for confirmation: how many failed messages it holds.
#[derive(Debug)]
struct Pending {
    destination: String,
    since: String,
    until: String,
    count: u64,
}

/// The list page: one page of messages, the filter form, and a recovery
/// window waiting for confirmation when there is one.
async fn render(
    state: &AppState,
    signed_in: &SignedIn,
    query: &PageQuery,
    flash: Flash,
    pending: Option<Pending>,
) -> Response {
    let mut flash = flash;
    let listed = async { Ok::<_, ApiError>(state.outbox.list_messages(&filter(&query.list_query())?).await?) }.await;
    let mut messages = match listed {
        Ok(messages) => messages,
        Err(error) => {
            flash.status = refused(error.status());
            flash.error = Some(error.to_string());
            Vec::new()
        }
    };
    let more = messages.len() > PAGE_SIZE as usize;
    messages.truncate(PAGE_SIZE as usize);
    let filters = query.filters();
    let older = more.then(|| older_link(&messages, &filters)).flatten();
    let catalogue = match current(state).await {
        Ok(catalogue) => catalogue,
        Err(error) => return unavailable(state, &error),
    };
    let mut page = context("messages", Some(&signed_in.session), &flash);
    page.insert("messages", &messages.iter().map(row).collect::<Vec<_>>());
    page.insert("older", &older);
    page.insert("paged", &query.before.as_deref().is_some_and(|before| !before.is_empty()));
    page.insert("newest", &if filters.is_empty() { "/messages".to_owned() } else { format!("/messages?{filters}") });
    page.insert(
        "query",
        &json!({
            "status": query.status, "destination": query.destination, "flock": query.flock,
            "alert": query.alert, "since": query.since, "until": query.until,
        }),
    );
    insert_choices(&mut page, &catalogue);
    if let Some(pending) = pending {
        page.insert(
            "pending",
            &json!({"destination": pending.destination, "since": pending.since, "until": pending.until, "count": pending.count}),
        );
    }
    state.console.views.page(flash.status, "messages.html", &page)
}

/// The link to the next, older page: after the last message shown, keeping the filters.
fn older_link(messages: &[Message], filters: &str) -> Option<String> {
    let cursor = Cursor::after(messages.last()?).encode();
    let cursor: String = url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
    Some(if filters.is_empty() {
        format!("/messages?before={cursor}")
    } else {
        format!("/messages?{filters}&before={cursor}")
    })
}

/// What the filter form offers: the statuses, the destinations and the flocks.
fn insert_choices(page: &mut Context, catalogue: &Catalogue) {
    page.insert("statuses", &MessageStatus::ALL.map(MessageStatus::as_str));
    page.insert(
        "destinations",
        &catalogue
            .destinations()
            .iter()
            .map(|destination| json!({"id": destination.id, "name": destination.name}))
            .collect::<Vec<_>>(),
    );
    page.insert(
        "flocks",
        &catalogue
            .flocks()
            .filter(|flock| flock.id != crate::flock::GLOBAL)
            .map(|flock| json!({"id": flock.id, "name": flock.name}))
            .collect::<Vec<_>>(),
    );
}

/// `GET /messages`.
pub async fn page(State(state): State<AppState>, signed_in: SignedIn, Query(query): Query<PageQuery>) -> Response {
    let flash = Flash::from_code(query.notice.as_deref(), query.count);
    render(&state, &signed_in, &query, flash, None).await
}

/// `GET /messages/{id}`: the message, its body and every attempt.
pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(query): Query<super::NoticeQuery>,
) -> Response {
    let (message, attempts) = match message(&state, &id).await {
        Ok(found) => found,
        Err(error) => return unavailable(&state, &error),
    };
    let flash = Flash::from_code(query.notice.as_deref(), query.count);
    let mut page = context("messages", Some(&signed_in.session), &flash);
    page.insert("message", &row(&message));
    page.insert("body", &message.body);
    page.insert("replayable", &matches!(message.status, MessageStatus::Delivered | MessageStatus::Failed));
    let attempts: Vec<Value> = attempts
        .iter()
        .map(|attempt| {
            json!({
                "number": attempt.number,
                "started": time(attempt.started_at),
                "duration_ms": attempt.duration_ms,
                "status": attempt.http_status,
                "outcome": attempt.outcome,
                "detail": attempt.detail,
            })
        })
        .collect();
    page.insert("attempts", &attempts);
    state.console.views.page(flash.status, "message.html", &page)
}

/// `POST /messages/replay`: `id`.
pub async fn replay(State(state): State<AppState>, posted: Posted) -> Response {
    let Some(id) = posted.field("id") else {
        return unavailable(&state, &ApiError::MissingParameter("id"));
    };
    let path: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    match state.outbox.replay(id).await {
        Ok(_) => redirect(&format!("/messages/{path}?notice=replayed")),
        Err(error) => {
            let error = ApiError::from(error);
            super::super::view::problem(&state.console.views, refused(error.status()), &error.to_string())
        }
    }
}

/// `POST /messages/recover`: `destination`, `since`, optional `until`; with
/// `confirm=yes` the failed messages are queued again, without it the page
/// shows how many there are and asks.
pub async fn recover(State(state): State<AppState>, posted: Posted) -> Response {
    let destination = posted.field("destination").unwrap_or_default().to_owned();
    let query =
        PageQuery { destination: Some(destination.clone()), status: Some("failed".into()), ..PageQuery::default() };
    let window = recover_window(&state, &destination, posted.field("since"), posted.field("until"));
    let (since, until) = match window {
        Ok(window) => window,
        Err(error) => {
            let mut flash = Flash::error(&error);
            flash.status = refused(flash.status);
            return render(&state, &posted.signed_in, &query, flash, None).await;
        }
    };
    if posted.field("confirm") == Some("yes") {
        return match state.outbox.recover(&destination, since, until).await {
            Ok(recovered) => {
                let destination: String = url::form_urlencoded::byte_serialize(destination.as_bytes()).collect();
                redirect(&format!("/messages?destination={destination}&notice=recovered&count={recovered}"))
            }
            Err(error) => render(&state, &posted.signed_in, &query, Flash::error(&error.into()), None).await,
        };
    }
    match state.outbox.recoverable(&destination, since, until).await {
        Ok(count) => {
            let pending = Pending {
                destination,
                since: since.to_rfc3339_opts(SecondsFormat::Millis, true),
                until: until.to_rfc3339_opts(SecondsFormat::Millis, true),
                count,
            };
            render(&state, &posted.signed_in, &query, Flash::default(), Some(pending)).await
        }
        Err(error) => render(&state, &posted.signed_in, &query, Flash::error(&error.into()), None).await,
    }
}
