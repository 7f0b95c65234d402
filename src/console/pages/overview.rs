//! The overview: what needs a person first (destinations paused by their
//! channel with the channel's answer, breakers open, destinations disabled),
//! then every destination's queue depth, oldest queued message and last hour
//! (delivered / failed / retried). `GET /console/overview.json` gives the
//! same figures to the page's script, which refreshes them in place.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{unavailable, NoticeQuery};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::console::view::{age, context, object, time, Flash};
use crate::console::SignedIn;
use crate::delivery::breaker::BreakerState;
use crate::delivery::overview::DestinationOverview;

fn row(overview: &DestinationOverview, now: DateTime<Utc>) -> Value {
    let breaker = match overview.breaker.state {
        BreakerState::Closed { consecutive_failures: 0 } => "closed".to_owned(),
        BreakerState::Closed { consecutive_failures } => format!("closed ({consecutive_failures} failed in a row)"),
        BreakerState::Open { until } => format!("open until {}", time(until)),
        BreakerState::HalfOpen => "trying one message".to_owned(),
    };
    object([
        ("id", json!(overview.destination.id)),
        ("name", json!(overview.destination.name)),
        ("kind", json!(overview.destination.channel.kind().as_str())),
        ("flock", json!(overview.destination.scope.as_str())),
        ("state", json!(overview.state.label())),
        ("breaker", json!(breaker)),
        ("attention", json!(overview.attention())),
        ("queued", json!(overview.queued)),
        ("oldest", json!(overview.oldest_queued_at.map(|at| age(at, now)))),
        ("delivered", json!(overview.delivered)),
        ("failed", json!(overview.failed)),
        ("retried", json!(overview.retried)),
    ])
}

async fn rows(state: &AppState, now: DateTime<Utc>) -> Result<Vec<Value>, ApiError> {
    Ok(state.delivery.overview(now).await?.iter().map(|overview| row(overview, now)).collect())
}

/// `GET /`.
pub async fn page(State(state): State<AppState>, signed_in: SignedIn, Query(query): Query<NoticeQuery>) -> Response {
    let now = Utc::now();
    let rows = match rows(&state, now).await {
        Ok(rows) => rows,
        Err(error) => return unavailable(&state, &error),
    };
    let total = |field: &str| rows.iter().filter_map(|row| row[field].as_u64()).sum::<u64>();
    let flash = Flash::from_code(query.notice.as_deref(), query.count);
    let mut page = context("overview", Some(&signed_in.session), &flash);
    page.insert("attention", &rows.iter().filter(|row| !row["attention"].is_null()).collect::<Vec<_>>());
    page.insert(
        "totals",
        &json!({
            "queued": total("queued"),
            "delivered": total("delivered"),
            "failed": total("failed"),
            "retried": total("retried"),
        }),
    );
    page.insert("rows", &rows);
    page.insert("now", &time(now));
    state.console.views.page(flash.status, "overview.html", &page)
}

/// `GET /console/overview.json`: the overview's figures, for the live refresh.
pub async fn live(State(state): State<AppState>, _signed_in: SignedIn) -> Response {
    let now = Utc::now();
    match rows(&state, now).await {
        Ok(rows) => Json(json!({"now": time(now), "destinations": rows})).into_response(),
        Err(error) => (error.status(), Json(json!({"error": error.to_string()}))).into_response(),
    }
}
