//! The inbound sources API (API token required):
//!
//! - `GET /api/v1/sources` — every source, without secrets: id, flock, scheme,
//!   template in effect, origin, endpoint, and only non-secret details (how many
//!   secrets a Standard Webhooks source has; which field or header carries a
//!   client secret).
//! - `POST /api/v1/sources` — add one: a JSON object with `id` and the keys of a
//!   `[sources.<id>]` table. 201; 400 naming the key that is wrong; 409 if the id
//!   exists.
//! - `DELETE /api/v1/sources/{id}` — remove one added through the API (a source
//!   declared in the config file is removed there).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::answer::{Done, Success};
use super::error::ApiError;
use super::messages::path_id;
use super::AppState;
use crate::config::validate::source_problems;
use crate::ingest::inbound::{Scheme, SchemeName, SourceConfig};
use crate::limits;
use crate::store::{Origin, SourceRecord};

/// What a list shows of a source: never a secret, nor a Basic user name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceView {
    pub id: String,
    pub flock_id: String,
    pub enabled: bool,
    /// The verification scheme.
    #[schema(value_type = String)]
    pub scheme: SchemeName,
    /// The mapping template in effect.
    pub template: String,
    /// config or api.
    #[schema(value_type = String)]
    pub origin: Origin,
    /// Where the source's sender posts: `/hooks/<id>`.
    pub endpoint: String,
    /// Standard Webhooks: how many secrets it has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_count: Option<usize>,
    /// Client secret: the header that carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Client secret: the body field that carries it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl SourceView {
    /// What may be shown of `record`.
    pub fn of(record: &SourceRecord) -> Self {
        let source = &record.source;
        let mut view = Self {
            id: source.id.clone(),
            flock_id: source.flock.clone(),
            enabled: source.enabled,
            scheme: source.scheme.name(),
            template: source.template_name().to_owned(),
            origin: record.origin,
            endpoint: format!("/hooks/{}", source.id),
            secret_count: None,
            header: None,
            field: None,
        };
        match &source.scheme {
            Scheme::StandardWebhooks { secrets } => view.secret_count = Some(secrets.len()),
            Scheme::ClientSecret { header: Some(header), .. } => view.header = Some(header.clone()),
            Scheme::ClientSecret { field, .. } => {
                let default = crate::ingest::inbound::verify::client_secret::DEFAULT_FIELD;
                view.field = Some(field.as_deref().unwrap_or(default).to_owned());
            }
            _ => {}
        }
        view
    }
}

/// [`SourceView`] as a JSON object (the console adds to it).
pub fn view(record: &SourceRecord) -> Value {
    serde_json::to_value(SourceView::of(record)).unwrap_or(Value::Null)
}

/// The answer of `GET /api/v1/sources`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceList {
    pub result: Success,
    pub sources: Vec<SourceView>,
}

/// The answer of `POST /api/v1/sources`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SourceAdded {
    pub result: Success,
    pub source: SourceView,
}

/// The sources API's routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(remove))
}

/// Every source, with its secrets: callers show only [`view`].
pub async fn all(state: &AppState) -> Result<Vec<SourceRecord>, ApiError> {
    Ok(state.registry.sources().await?)
}

/// `GET /api/v1/sources`.
#[utoipa::path(get, path = "/api/v1/sources", tag = "operator", summary = "Every inbound source (never its secrets).",
    responses((status = 200, description = "Success.", body = SourceList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<SourceList>, ApiError> {
    let sources = all(&state).await?.iter().map(SourceView::of).collect();
    Ok(Json(SourceList { result: Success::Success, sources }))
}

/// `POST /api/v1/sources`.
#[utoipa::path(post, path = "/api/v1/sources", tag = "operator",
    summary = "Adds an inbound source: id, flock, scheme with its secrets, optional template.",
    request_body(content = Object, content_type = "application/json",
        description = "A source object, with the keys of a [sources.<id>] table plus `id`."),
    responses((status = 201, description = "Created.", body = SourceAdded)))]
pub async fn add(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SourceAdded>), ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(state.body_limit),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    let fields: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err(ApiError::BadRequest("body must be a JSON object describing a source".into())),
        Err(error) => {
            return Err(ApiError::BadRequest(format!("body is not valid JSON: {}", without_values(&error.to_string()))))
        }
    };
    let record = add_source(&state, fields).await?;
    Ok((StatusCode::CREATED, Json(SourceAdded { result: Success::Success, source: SourceView::of(&record) })))
}

/// Adds a source described as `POST /api/v1/sources` takes it (`id` and the
/// keys of a `[sources.<id>]` table), checked by the config file's rules.
pub async fn add_source(state: &AppState, mut fields: Map<String, Value>) -> Result<SourceRecord, ApiError> {
    // Nothing with a NUL goes further (PostgreSQL refuses it in text); the
    // path names the key, never a value (it may be a secret).
    if let Err((key, refusal)) = limits::document(&Value::Object(fields.clone())) {
        return Err(ApiError::BadRequest(format!("{key}: {refusal}")));
    }
    let id = match fields.remove("id") {
        Some(Value::String(id)) => id,
        _ => return Err(ApiError::BadRequest("id: required, a string".into())),
    };
    let config: SourceConfig = serde_json::from_value(Value::Object(fields))
        .map_err(|error| ApiError::BadRequest(without_values(&error.to_string())))?;
    let catalogue = state.delivery.catalogue();
    let mut problems: Vec<String> =
        source_problems("", &id, &config, &|flock| catalogue.flock_settings(flock).is_some())
            .iter()
            .map(ToString::to_string)
            .collect();
    let source = config.to_source(&id);
    if let Some(source) = &source {
        if !state.mapper.has(source.template_name()) {
            problems.push(format!(
                "template: no mapping template named `{}` (known: {})",
                source.template_name(),
                state.mapper.names().join(", ")
            ));
        }
    }
    let Some(source) = source.filter(|_| problems.is_empty()) else {
        return Err(ApiError::BadRequest(problems.join("; ")));
    };
    state.registry.add_source(&source).await?;
    if source.enabled && source.scheme.name() == SchemeName::None {
        tracing::warn!(source = %source.id, "Source accepts unverified requests (scheme none).");
    }
    tracing::info!(source = %source.id, flock = %source.flock, scheme = %source.scheme.name(), "Source added.");
    Ok(SourceRecord { source, origin: Origin::Api })
}

/// `DELETE /api/v1/sources/{id}`.
#[utoipa::path(delete, path = "/api/v1/sources/{id}", tag = "operator", summary = "Removes an inbound source.",
    params(("id" = String, Path, description = "The source id.")),
    responses((status = 200, description = "Success.", body = Done)))]
pub async fn remove(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Done>, ApiError> {
    let id = path_id(id)?;
    remove_source(&state, &id).await?;
    Ok(Json(Done::default()))
}

/// Removes a source added through the API (one from the config file is
/// removed there).
pub async fn remove_source(state: &AppState, id: &str) -> Result<(), ApiError> {
    state.registry.remove_source(id).await?;
    tracing::info!(source = %id, "Source removed.");
    Ok(())
}

/// serde's message with every double-quoted value masked: `invalid type: string
/// "whsec_…", expected a sequence` must not hand a secret back. Field and variant
/// names are in backticks and stay.
fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quoted = false;
    for ch in message.chars() {
        match (ch, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                quoted = false;
                out.push('"');
            }
            (_, true) => {}
            (ch, false) => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serde_messages_lose_their_values_but_keep_key_names() {
        let error = serde_json::from_value::<SourceConfig>(
            json!({"scheme": "standard_webhooks", "secrets": "whsec_TOPSECRET"}),
        )
        .expect_err("a string is not a list");
        let shown = without_values(&error.to_string());
        assert!(!shown.contains("TOPSECRET"), "{shown}");
        assert!(shown.contains("invalid type"), "{shown}");
        let error =
            serde_json::from_value::<SourceConfig>(json!({"scheme": "bearer", "tokn": "x"})).expect_err("unknown key");
        assert!(without_values(&error.to_string()).contains("`tokn`"));
    }
}
