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
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::messages::path_id;
use super::openapi::{Auth, Endpoint, In, Param, Route};
use super::AppState;
use crate::config::validate::source_problems;
use crate::ingest::inbound::{Scheme, SchemeName, SourceConfig};
use crate::limits;
use crate::store::{Origin, SourceRecord};

/// What a list shows of a source: never a secret, nor a Basic user name.
pub fn view(record: &SourceRecord) -> Value {
    let source = &record.source;
    let mut view = json!({
        "id": source.id,
        "flock_id": source.flock,
        "enabled": source.enabled,
        "scheme": source.scheme.name(),
        "template": source.template_name(),
        "origin": record.origin,
        "endpoint": format!("/hooks/{}", source.id),
    });
    match &source.scheme {
        Scheme::StandardWebhooks { secrets } => view["secret_count"] = json!(secrets.len()),
        Scheme::ClientSecret { header: Some(header), .. } => view["header"] = json!(header),
        Scheme::ClientSecret { field, .. } => {
            view["field"] =
                json!(field.as_deref().unwrap_or(crate::ingest::inbound::verify::client_secret::DEFAULT_FIELD));
        }
        _ => {}
    }
    view
}

/// The sources API's routes with their descriptions.
pub fn routes() -> Vec<Route> {
    use axum::http::Method;
    let id = Param { name: "id", location: In::Path, required: true, description: "The source id." };
    let add_source = Endpoint::new(
        Auth::Token,
        Method::POST,
        "/api/v1/sources",
        "Adds an inbound source: id, flock, scheme with its secrets, optional template.",
        &[],
        &[("source", "object")],
    );
    vec![
        Route::new(
            Endpoint::new(
                Auth::Token,
                Method::GET,
                "/api/v1/sources",
                "Every inbound source (never its secrets).",
                &[],
                &[("sources", "array")],
            ),
            list,
        ),
        Route::new(
            Endpoint {
                success: 201,
                json_body: Some("A source object, with the keys of a [sources.<id>] table plus `id`."),
                ..add_source
            },
            add,
        ),
        Route::new(
            Endpoint::new(
                Auth::Token,
                Method::DELETE,
                "/api/v1/sources/{id}",
                "Removes an inbound source.",
                &[id],
                &[],
            ),
            remove,
        ),
    ]
}

/// Every source, with its secrets: callers show only [`view`].
pub async fn all(state: &AppState) -> Result<Vec<SourceRecord>, ApiError> {
    Ok(state.registry.sources().await?)
}

/// `GET /api/v1/sources`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let sources: Vec<Value> = all(&state).await?.iter().map(view).collect();
    Ok(Json(json!({"result": "success", "sources": sources})))
}

/// `POST /api/v1/sources`.
pub async fn add(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    Ok((StatusCode::CREATED, Json(json!({"result": "success", "source": view(&record)}))))
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
pub async fn remove(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    remove_source(&state, &id).await?;
    Ok(Json(json!({"result": "success"})))
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
