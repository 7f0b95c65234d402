//! The route table and the OpenAPI 3 document made from it.
//!
//! Every route the server answers is a [`Route`]: the handler together with its
//! [`Endpoint`] description (method, path, parameters, answer fields, how it is
//! authenticated). Routers are built from these tables only, and
//! `GET /api/openapi.json` is generated from the same tables, so the document
//! cannot leave a route out; a test checks it against the served router.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::Method;
use axum::routing::{self, MethodRouter};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::AppState;

/// How a route is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `auth_token` in the query or `X-Canary-Auth-Token`, checked by middleware.
    Token,
    /// `auth_token` in the query, the form or JSON body, or the header (the
    /// Canary-style endpoints read parameters from all of them).
    Canary,
    /// No token (health, metrics, this document).
    Open,
}

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// The query string (GET) or the query string, form or JSON body (POST) for
    /// [`Auth::Canary`] endpoints.
    Param,
    /// The query string only.
    Query,
    /// A `{name}` segment of the path.
    Path,
}

/// One documented parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub location: In,
    pub required: bool,
    pub description: &'static str,
}

/// A required Canary-style parameter.
pub const fn required(name: &'static str, description: &'static str) -> Param {
    Param { name, location: In::Param, required: true, description }
}

/// An optional Canary-style parameter.
pub const fn optional(name: &'static str, description: &'static str) -> Param {
    Param { name, location: In::Param, required: false, description }
}

/// The `flock_id` parameter every settings endpoint takes.
pub const FLOCK_ID: Param = required("flock_id", "A flock id (`flock:…`), or `global` for the console-wide set.");

/// What an endpoint is, for routing and for the document.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: Method,
    /// The axum path (`/api/v1/messages/{id}`), which is also OpenAPI's syntax.
    pub path: &'static str,
    pub summary: &'static str,
    pub auth: Auth,
    pub params: Vec<Param>,
    /// Fields of the success answer besides `result`, with their JSON type
    /// (`string`, `boolean`, `integer`, `object`, `array`).
    pub answer: &'static [(&'static str, &'static str)],
    /// Status of a successful answer.
    pub success: u16,
    /// What a JSON document body holds, for endpoints that take one whole.
    pub json_body: Option<&'static str>,
}

impl Endpoint {
    /// An endpoint answering 200 on success, with no JSON document body.
    pub fn new(
        auth: Auth,
        method: Method,
        path: &'static str,
        summary: &'static str,
        params: &[Param],
        answer: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self { method, path, summary, auth, params: params.to_vec(), answer, success: 200, json_body: None }
    }

    /// A Canary-style endpoint: token from anywhere, 200 on success.
    pub fn canary(
        method: Method,
        path: &'static str,
        summary: &'static str,
        params: &[Param],
        answer: &'static [(&'static str, &'static str)],
    ) -> Self {
        Self::new(Auth::Canary, method, path, summary, params, answer)
    }
}

/// A handler with its description.
pub struct Route {
    pub endpoint: Endpoint,
    pub handler: MethodRouter<AppState>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.endpoint.method, self.endpoint.path)
    }
}

impl Route {
    /// Pairs an endpoint with its handler, routed by the endpoint's method.
    pub fn new<H, T>(endpoint: Endpoint, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        let handler = match endpoint.method {
            Method::POST => routing::post(handler),
            Method::PUT => routing::put(handler),
            Method::DELETE => routing::delete(handler),
            _ => routing::get(handler),
        };
        Self { endpoint, handler }
    }
}

/// A router of `routes`, merging handlers that share a path.
pub fn into_router(routes: Vec<Route>) -> Router<AppState> {
    let mut by_path: BTreeMap<&'static str, MethodRouter<AppState>> = BTreeMap::new();
    for route in routes {
        let handler = match by_path.remove(route.endpoint.path) {
            Some(existing) => existing.merge(route.handler),
            None => route.handler,
        };
        by_path.insert(route.endpoint.path, handler);
    }
    by_path.into_iter().fold(Router::new(), |router, (path, handler)| router.route(path, handler))
}

/// `GET /api/openapi.json`.
pub fn routes() -> Vec<Route> {
    vec![Route::new(
        Endpoint {
            method: Method::GET,
            path: "/api/openapi.json",
            summary: "This OpenAPI 3 document of the whole HTTP API.",
            auth: Auth::Open,
            params: Vec::new(),
            answer: &[],
            success: 200,
            json_body: None,
        },
        serve,
    )]
}

async fn serve() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(|| document(&super::endpoints())).clone())
}

fn schema_of(kind: &str) -> Value {
    match kind {
        "array" => json!({"type": "array", "items": {}}),
        "object" => json!({"type": "object"}),
        other => json!({"type": other}),
    }
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters = Vec::new();
    let mut body = Map::new();
    let mut body_required = Vec::new();
    for param in &endpoint.params {
        let location = match (param.location, &endpoint.method) {
            (In::Path, _) => "path",
            (In::Query, _) | (In::Param, &Method::GET) => "query",
            (In::Param, _) => "body",
        };
        if location == "body" {
            body.insert(param.name.to_owned(), json!({"type": "string", "description": param.description}));
            if param.required {
                body_required.push(param.name);
            }
        } else {
            parameters.push(json!({
                "name": param.name, "in": location, "required": param.required || location == "path",
                "description": param.description, "schema": {"type": "string"},
            }));
        }
    }
    let mut answer = Map::new();
    answer.insert("result".into(), json!({"type": "string", "enum": ["success"]}));
    for (name, kind) in endpoint.answer {
        answer.insert((*name).to_owned(), schema_of(kind));
    }
    let mut responses = Map::new();
    responses.insert(
        endpoint.success.to_string(),
        json!({"description": "Success.", "content": {"application/json": {"schema": {"type": "object", "properties": answer}}}}),
    );
    if endpoint.auth != Auth::Open {
        responses.insert("400".into(), error_response("A parameter is missing or invalid; the message names it."));
        responses.insert("401".into(), error_response("No auth_token."));
        responses.insert("403".into(), error_response("Wrong auth_token."));
        responses.insert("404".into(), error_response("Unknown flock or webhook."));
        responses.insert("409".into(), error_response("Already there, or declared in the config file."));
        responses.insert("413".into(), error_response("The body is larger than server.body_limit."));
        responses.insert("503".into(), error_response("The store is unavailable."));
    }
    let mut operation = json!({"summary": endpoint.summary, "responses": responses});
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if !body.is_empty() {
        let schema = json!({"type": "object", "properties": body, "required": body_required});
        operation["requestBody"] = json!({
            "description": "Parameters may also be given in the query string.",
            "content": {"application/x-www-form-urlencoded": {"schema": schema}, "application/json": {"schema": schema}},
        });
    }
    if let Some(description) = endpoint.json_body {
        operation["requestBody"] = json!({
            "description": description, "required": true,
            "content": {"application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}}},
        });
    }
    operation["security"] = match endpoint.auth {
        Auth::Open => json!([]),
        Auth::Token => json!([{"header": []}, {"query": []}]),
        Auth::Canary => json!([{"header": []}, {"query": []}, {"body": []}]),
    };
    operation
}

/// The OpenAPI 3.0 document describing `endpoints`.
pub fn document(endpoints: &[Endpoint]) -> Value {
    let mut paths: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    for endpoint in endpoints {
        paths
            .entry(endpoint.path)
            .or_default()
            .insert(endpoint.method.as_str().to_ascii_lowercase(), operation(endpoint));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "flockrelay",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Alerts in, notifications out: ingest, the operator API, and the Canary-style \
                management API for flocks and their webhooks. Canary-style endpoints read their \
                parameters from the query string, a form-encoded body or a JSON body, and answer \
                {\"result\": \"success\", …} or a 4xx with {\"result\": \"error\", \"message\": …}.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "header": {"type": "apiKey", "in": "header", "name": "X-Canary-Auth-Token"},
                "query": {"type": "apiKey", "in": "query", "name": "auth_token"},
                "body": {"type": "apiKey", "in": "query", "name": "auth_token",
                         "description": "Canary-style endpoints also accept auth_token in a form or JSON body."},
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["result", "message"],
                    "properties": {"result": {"type": "string", "enum": ["error"]}, "message": {"type": "string"}},
                },
            },
        },
    })
}
