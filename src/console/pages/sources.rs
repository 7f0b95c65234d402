//! Sources: each inbound endpoint with the URL to paste into the sender, its
//! flock, scheme and origin, and the requests refused in the last hour by
//! reason; add one (the API's checks: `POST /api/v1/sources` takes the same
//! keys) and remove one added here or through the API. Secrets are
//! write-only: the form sets them, the page shows only how many there are.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{refused, unavailable, NoticeQuery};
use crate::api::canary::current;
use crate::api::error::ApiError;
use crate::api::sources::{add_source, all, remove_source, view};
use crate::api::AppState;
use crate::console::session::forwarded_https;
use crate::console::view::{context, redirect, time, Flash};
use crate::console::{Posted, SignedIn};
use crate::flock::GLOBAL;

/// The base URL senders should use: how this browser reached the console
/// (`Host`, and `https` behind a proxy that says so).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|value| value.to_str().ok())
        .filter(|host| !host.is_empty() && host.len() <= 255 && !host.contains(['/', ' ', '@']))
        .unwrap_or("RELAY-ADDRESS");
    let scheme = if forwarded_https(headers) { "https" } else { "http" };
    format!("{scheme}://{host}")
}

async fn render(
    state: &AppState,
    signed_in: &SignedIn,
    headers: &HeaderMap,
    flash: &Flash,
    form: Map<String, Value>,
) -> Response {
    let (records, catalogue) = match (all(state).await, current(state).await) {
        (Ok(records), Ok(catalogue)) => (records, catalogue),
        (Err(error), _) | (_, Err(error)) => return unavailable(state, &error),
    };
    let now = Utc::now();
    let refusals = state.delivery.refusals(now);
    let base = base_url(headers);
    let sources: Vec<Value> = records
        .iter()
        .map(|record| {
            let mut shown = view(record);
            let mut refused: Vec<Value> = refusals
                .iter()
                .filter(|((source, _), _)| source == &record.source.id)
                .map(|((_, reason), tally)| json!({"reason": reason, "count": tally.count, "last": time(tally.last)}))
                .collect();
            refused.sort_by(|a, b| a["reason"].as_str().cmp(&b["reason"].as_str()));
            shown["url"] = json!(format!("{base}/hooks/{}", record.source.id));
            shown["refusals"] = Value::Array(refused);
            shown
        })
        .collect();
    let mut page = context("sources", Some(&signed_in.session), flash);
    page.insert("sources", &sources);
    page.insert(
        "flocks",
        &catalogue
            .flocks()
            .filter(|flock| flock.id != GLOBAL)
            .map(|flock| json!({"id": flock.id, "name": flock.name}))
            .collect::<Vec<_>>(),
    );
    page.insert("schemes", &["standard_webhooks", "flock_hmac", "basic", "bearer", "client_secret", "none"]);
    page.insert("form", &form);
    state.console.views.page(flash.status, "sources.html", &page)
}

/// `GET /sources`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Query(query): Query<NoticeQuery>,
) -> Response {
    let flash = Flash::from_code(query.notice.as_deref(), query.count);
    render(&state, &signed_in, &headers, &flash, Map::new()).await
}

/// Fields of the add form that are not secrets (shown again after a refusal).
const KEPT_FIELDS: [&str; 6] = ["id", "flock", "scheme", "field", "header", "template"];

/// The add form as the API's JSON object: only the fields filled in;
/// `secrets` one per line.
fn source_fields(posted: &Posted) -> Map<String, Value> {
    let mut fields = Map::new();
    for name in ["id", "flock", "scheme", "secret", "username", "password", "token", "field", "header", "template"] {
        if let Some(value) = posted.field(name) {
            fields.insert(name.to_owned(), Value::from(value));
        }
    }
    if let Some(secrets) = posted.field("secrets") {
        let secrets: Vec<Value> =
            secrets.lines().map(str::trim).filter(|line| !line.is_empty()).map(Value::from).collect();
        fields.insert("secrets".to_owned(), Value::Array(secrets));
    }
    fields
}

/// `POST /sources/add`.
pub async fn add(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    match add_source(&state, source_fields(&posted)).await {
        Ok(_) => redirect("/sources?notice=source_added"),
        Err(error) => {
            let mut flash = Flash::error(&error);
            flash.status = refused(flash.status);
            let kept: Map<String, Value> = KEPT_FIELDS
                .iter()
                .filter_map(|name| posted.field(name).map(|value| ((*name).to_owned(), Value::from(value))))
                .collect();
            render(&state, &posted.signed_in, &headers, &flash, kept).await
        }
    }
}

/// `POST /sources/remove`: `id`.
pub async fn remove(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    let result = match posted.field("id") {
        Some(id) => remove_source(&state, id).await,
        None => Err(ApiError::MissingParameter("id")),
    };
    match result {
        Ok(()) => redirect("/sources?notice=source_removed"),
        Err(error) => {
            let mut flash = Flash::error(&error);
            flash.status = refused(flash.status);
            render(&state, &posted.signed_in, &headers, &flash, Map::new()).await
        }
    }
}
