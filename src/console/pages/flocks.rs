//! Flocks: the global set and each flock — whether it is enabled, whether it
//! uses the global set, its destinations — with enable / disable / use-global,
//! create, rename and delete. Deleting follows the API's ownership rule: a
//! flock the config file declares (and `flock:default`) says why it cannot be.

use axum::extract::{Query, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::{refused, unavailable, NoticeQuery};
use crate::api::canary::settings::{change, Change};
use crate::api::canary::{current, flocks, webhooks_enabled};
use crate::api::error::ApiError;
use crate::api::AppState;
use crate::catalogue::Catalogue;
use crate::console::view::{context, object, redirect, Flash};
use crate::console::{Posted, SignedIn};
use crate::destination::Destination;
use crate::flock::{Scope, GLOBAL};

fn destinations_of(catalogue: &Catalogue, scope: &Scope) -> Vec<Value> {
    catalogue
        .destinations()
        .iter()
        .filter(|destination| &destination.scope == scope)
        .map(|destination: &Destination| {
            json!({
                "id": destination.id,
                "name": destination.name,
                "kind": destination.channel.kind().as_str(),
                "enabled": destination.enabled,
            })
        })
        .collect()
}

async fn render(state: &AppState, signed_in: &SignedIn, flash: &Flash) -> Response {
    let catalogue = match current(state).await {
        Ok(catalogue) => catalogue,
        Err(error) => return unavailable(state, &error),
    };
    let flocks: Vec<Value> = catalogue
        .flocks()
        .filter(|flock| flock.id != GLOBAL)
        .map(|flock| {
            let scope = Scope::Flock(flock.id.clone());
            object([
                ("id", json!(flock.id)),
                ("name", json!(flock.name)),
                ("origin", json!(flock.origin.as_str())),
                ("use_global", json!(flock.settings.use_global)),
                ("enabled", json!(flock.settings.enabled)),
                ("effective", json!(webhooks_enabled(&catalogue, &scope))),
                ("undeletable", json!(state.registry.undeletable(flock).map(|refusal| refusal.to_string()))),
                ("destinations", json!(destinations_of(&catalogue, &scope))),
            ])
        })
        .collect();
    let mut page = context("flocks", Some(&signed_in.session), flash);
    page.insert(
        "global",
        &json!({
            "enabled": catalogue.global_enabled(),
            "destinations": destinations_of(&catalogue, &Scope::Global),
        }),
    );
    page.insert("flocks", &flocks);
    state.console.views.page(flash.status, "flocks.html", &page)
}

/// `GET /flocks`.
pub async fn page(State(state): State<AppState>, signed_in: SignedIn, Query(query): Query<NoticeQuery>) -> Response {
    render(&state, &signed_in, &Flash::from_code(query.notice.as_deref(), query.count)).await
}

/// Redirects to the list with `notice`, or shows it again with the API's error.
async fn answer(state: &AppState, posted: &Posted, result: Result<(), ApiError>, notice: &str) -> Response {
    match result {
        Ok(()) => redirect(&format!("/flocks?notice={notice}")),
        Err(error) => {
            let mut flash = Flash::error(&error);
            flash.status = refused(flash.status);
            render(state, &posted.signed_in, &flash).await
        }
    }
}

/// `POST /flocks/create`: `name`.
pub async fn create(State(state): State<AppState>, posted: Posted) -> Response {
    let result = flocks::create_flock(&state, &posted.params()).await.map(|_| ());
    answer(&state, &posted, result, "flock_created").await
}

/// `POST /flocks/rename`: `flock_id`, `name`.
pub async fn rename(State(state): State<AppState>, posted: Posted) -> Response {
    let result = flocks::rename_flock(&state, &posted.params()).await;
    answer(&state, &posted, result, "flock_renamed").await
}

/// `POST /flocks/delete`: `flock_id`.
pub async fn delete(State(state): State<AppState>, posted: Posted) -> Response {
    let result = flocks::delete_flock(&state, &posted.params()).await;
    answer(&state, &posted, result, "flock_deleted").await
}

/// `POST /flocks/settings`: `flock_id` and `change` (`enable`, `disable`, `use_global`).
pub async fn settings(State(state): State<AppState>, posted: Posted) -> Response {
    let result = match posted.field("change") {
        Some("enable") => change(&state, &posted.params(), Change::Enable).await,
        Some("disable") => change(&state, &posted.params(), Change::Disable).await,
        Some("use_global") => change(&state, &posted.params(), Change::UseGlobal).await,
        _ => Err(ApiError::InvalidParameter { name: "change", reason: "must be enable, disable or use_global".into() }),
    };
    answer(&state, &posted, result, "flock_changed").await
}
