//! Destinations: every destination with its channel, flock, state and where it
//! points (the host only: for Slack and Teams the whole URL is the credential),
//! and per channel an add form taking the API's parameters (checked by the
//! API's own functions, so the messages are the API's). Remove,
//! enable/disable, Send test (the outcome inline: delivered or not, HTTP
//! status, latency, the channel's error) and a preview of the request for a
//! sample alert with every secret masked. Secrets are write-only: the forms
//! set them, no page shows them.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{refused, unavailable, NoticeQuery};
use crate::alert::Alert;
use crate::api::canary::{
    current, generic, ms_teams, remove_destination, send_test, slack, splunk_hec, url_host, url_of, Params, TestOutcome,
};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::catalogue::Catalogue;
use crate::console::view::{context, object, redirect, Flash};
use crate::console::{Posted, SignedIn};
use crate::destination::Destination;
use crate::direct::{preview as preview_request, BodyLayout};
use crate::flock::GLOBAL;
use crate::notify::Channel;
use crate::store::DestinationState;

/// Where a destination points, without any secret: the host (and port).
fn target(destination: &Destination) -> String {
    match &destination.channel {
        Channel::SplunkHec(settings) => format!("{}:{}", settings.host, settings.port),
        _ => url_of(destination).map(url_host).unwrap_or_default(),
    }
}

fn flock_choices(catalogue: &Catalogue) -> Vec<Value> {
    let mut choices = vec![json!({"id": GLOBAL, "name": "Global set"})];
    choices.extend(
        catalogue
            .flocks()
            .filter(|flock| flock.id != GLOBAL)
            .map(|flock| json!({"id": flock.id, "name": format!("{} ({})", flock.name, flock.id)})),
    );
    choices
}

/// What the page shows besides the list: a test's outcome for one destination.
#[derive(Debug, Default)]
struct Extra {
    tested: Option<(String, TestOutcome)>,
    /// The add form's non-secret fields, kept after a refusal.
    form: BTreeMap<String, String>,
}

/// Fields an add form may show again after a refusal (never a secret).
const KEPT_FIELDS: [&str; 12] =
    ["kind", "flock_id", "channel", "team", "format", "host", "port", "https", "index", "auth_type", "username", "url"];

async fn render(state: &AppState, signed_in: &SignedIn, flash: &Flash, extra: Extra) -> Response {
    let catalogue = match current(state).await {
        Ok(catalogue) => catalogue,
        Err(error) => return unavailable(state, &error),
    };
    let rows: Vec<Value> = catalogue
        .destinations()
        .iter()
        .map(|destination| {
            let tested = extra.tested.as_ref().filter(|(id, _)| id == &destination.id).map(|(_, outcome)| {
                json!({
                    "delivered": outcome.delivered,
                    "status": outcome.status,
                    "latency_ms": outcome.latency.map(|latency| latency.as_millis().to_string()),
                    "error": outcome.error,
                })
            });
            object([
                ("id", json!(destination.id)),
                ("name", json!(destination.name)),
                ("kind", json!(destination.channel.kind().as_str())),
                ("flock", json!(destination.scope.as_str())),
                ("enabled", json!(destination.enabled)),
                ("state", json!(state.delivery.destination_state(destination).label())),
                ("target", json!(target(destination))),
                ("tested", tested.unwrap_or(Value::Null)),
            ])
        })
        .collect();
    let mut page = context("destinations", Some(&signed_in.session), flash);
    page.insert("destinations", &rows);
    page.insert("flocks", &flock_choices(&catalogue));
    let kept: BTreeMap<&str, &str> = KEPT_FIELDS
        .iter()
        .filter_map(|name| extra.form.get(*name).map(|value| (*name, value.as_str())))
        .filter(|(name, _)| *name != "url")
        .collect();
    page.insert("form", &kept);
    state.console.views.page(flash.status, "destinations.html", &page)
}

/// `GET /destinations`.
pub async fn page(State(state): State<AppState>, signed_in: SignedIn, Query(query): Query<NoticeQuery>) -> Response {
    let flash = Flash::from_code(query.notice.as_deref(), query.count);
    render(&state, &signed_in, &flash, Extra::default()).await
}

async fn answer(state: &AppState, posted: &Posted, result: Result<(), ApiError>, notice: &str) -> Response {
    match result {
        Ok(()) => redirect(&format!("/destinations?notice={notice}")),
        Err(error) => {
            let mut flash = Flash::error(&error);
            flash.status = refused(flash.status);
            let extra = Extra { tested: None, form: posted.fields.clone() };
            render(state, &posted.signed_in, &flash, extra).await
        }
    }
}

/// `POST /destinations/add`: `kind` (`slack`, `ms_teams`, `splunk`, `generic`)
/// and that channel's API parameters.
pub async fn add(State(state): State<AppState>, posted: Posted) -> Response {
    let mut fields = posted.fields.clone();
    let kind = fields.remove("kind");
    let params = Params::new(fields, posted.signed_in.caller);
    let result = match kind.as_deref() {
        Some("slack") => slack::add_webhook(&state, &params).await,
        Some("ms_teams") => ms_teams::add_webhook(&state, &params).await,
        Some("splunk") => splunk_hec::add_webhook(&state, &params).await,
        Some("generic") => generic::add_webhook(&state, &params).await,
        _ => Err(ApiError::InvalidParameter {
            name: "kind",
            reason: "must be slack, ms_teams, splunk or generic".into(),
        }),
    };
    answer(&state, &posted, result, "destination_added").await
}

fn id(posted: &Posted) -> Result<&str, ApiError> {
    posted.field("id").ok_or(ApiError::MissingParameter("id"))
}

/// `POST /destinations/remove`: `id`.
pub async fn remove(State(state): State<AppState>, posted: Posted) -> Response {
    let result = match id(&posted) {
        Ok(id) => remove_destination(&state, &posted.params(), id).await,
        Err(error) => Err(error),
    };
    answer(&state, &posted, result, "destination_removed").await
}

/// The destination `id` names, as stored now.
async fn find(state: &AppState, id: &str) -> Result<Destination, ApiError> {
    current(state)
        .await?
        .destination(id)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("destination {id} not found")))
}

/// `POST /destinations/switch`: `id`, `enabled` (`true` or `false`).
pub async fn switch(State(state): State<AppState>, posted: Posted) -> Response {
    let enabled = posted.params().flag("enabled");
    let result = async {
        let enabled = enabled?.ok_or(ApiError::MissingParameter("enabled"))?;
        let destination = find(&state, id(&posted)?).await?;
        let to = if enabled { DestinationState::Enabled } else { DestinationState::DisabledByOperator };
        let reason = (!enabled).then_some("disabled in the console");
        state.registry.set_destination_state(&destination.id, to, reason).await?;
        Ok(enabled)
    }
    .await;
    match result {
        Ok(true) => answer(&state, &posted, Ok(()), "destination_enabled").await,
        Ok(false) => answer(&state, &posted, Ok(()), "destination_disabled").await,
        Err(error) => answer(&state, &posted, Err(error), "").await,
    }
}

/// `POST /destinations/test`: `id`. The page comes back with the outcome in
/// the destination's row.
pub async fn test(State(state): State<AppState>, posted: Posted) -> Response {
    let destination = match id(&posted) {
        Ok(id) => find(&state, id).await,
        Err(error) => Err(error),
    };
    let destination = match destination {
        Ok(destination) => destination,
        Err(error) => return answer(&state, &posted, Err(error), "").await,
    };
    let outcome = send_test(&state, &destination, posted.signed_in.caller).await;
    let flash = if outcome.delivered {
        Flash { notice: Some(format!("Test notification delivered to {}.", destination.name)), ..Flash::default() }
    } else {
        Flash {
            error: Some(format!("Test notification to {} was not delivered.", destination.name)),
            ..Flash::default()
        }
    };
    let extra = Extra { tested: Some((destination.id.clone(), outcome)), form: BTreeMap::new() };
    render(&state, &posted.signed_in, &flash, extra).await
}

/// `?id=` of the preview.
#[derive(Debug, Deserialize)]
pub struct PreviewQuery {
    id: Option<String>,
}

/// The sample alert of the preview: a Canary port-scan incident.
fn sample_alert(flock_id: &str, now: chrono::DateTime<Utc>) -> Option<Alert> {
    let incident = json!({
        "Description": "Port Scan",
        "Intro": "A port scan was detected on the canary \"fileserver-02\".",
        "IncidentHash": "sample",
        "Timestamp": now.format("%Y-%m-%d %H:%M:%S (UTC)").to_string(),
        "SourceIP": "203.0.113.7",
        "ReverseDNS": "scanner.example.net",
        "CanaryName": "fileserver-02",
        "CanaryIP": "10.0.4.12",
        "CanaryPort": 445,
        "CanaryID": "00000000a1b2c3d4",
        "AdditionalDetails": [["Ports", "22, 80, 445"]],
        "flock_id": flock_id,
    });
    Alert::from_value(incident, now).ok()
}

/// `GET /destinations/preview?id=…`: the request the destination would receive
/// for a sample alert, every secret masked. Nothing is sent.
pub async fn preview(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Query(query): Query<PreviewQuery>,
) -> Response {
    let destination = match query.id.as_deref() {
        Some(id) => find(&state, id).await,
        None => Err(ApiError::MissingParameter("id")),
    };
    let destination = match destination {
        Ok(destination) => destination,
        Err(error) => return unavailable(&state, &error),
    };
    let now = Utc::now();
    let flock = match &destination.scope {
        crate::flock::Scope::Flock(id) => id.clone(),
        crate::flock::Scope::Global => crate::flock::DEFAULT_FLOCK.to_owned(),
    };
    let rendered = match sample_alert(&flock, now) {
        Some(alert) => preview_request(&destination, &alert, state.delivery.renderer(), false, now, BodyLayout::AsSent)
            .map_err(|error| format!("The destination cannot render the sample alert: {error}")),
        None => Err("The sample alert could not be made.".to_owned()),
    };
    let mut page = context("destinations", Some(&signed_in.session), &Flash::default());
    page.insert(
        "destination",
        &json!({"id": destination.id, "name": destination.name, "kind": destination.channel.kind().as_str()}),
    );
    match rendered {
        Ok(request) => page.insert("request", &request),
        Err(problem) => page.insert("problem", &problem),
    }
    state.console.views.page(axum::http::StatusCode::OK, "preview.html", &page)
}
