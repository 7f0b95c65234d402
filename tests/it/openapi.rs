//! `/api/openapi.json` stays true: every route of the server is documented, and
//! every documented operation is answered by the served router, with answers
//! that the document's own schemas accept.

use serde_json::{json, Value};

use crate::support::relay::{answer, Relay, Setup, TOKEN};

/// Every endpoint of `seeds/canary-flock-webhooks-api.txt`, plus ours around it.
const SEED: [(&str, &str); 22] = [
    ("get", "/api/v1/flock/settings/webhooks/is_enabled"),
    ("get", "/api/v1/flock/settings/webhooks/is_global"),
    ("post", "/api/v1/flock/settings/webhooks/disable"),
    ("post", "/api/v1/flock/settings/webhooks/enable"),
    ("post", "/api/v1/flock/settings/webhooks/use_global"),
    ("post", "/api/v1/flock/settings/webhooks/generic/add"),
    ("get", "/api/v1/flock/settings/webhooks/generic"),
    ("get", "/api/v1/flock/settings/webhooks/generic/list"),
    ("post", "/api/v1/flock/settings/webhooks/generic/remove"),
    ("post", "/api/v1/flock/settings/webhooks/generic/test"),
    ("post", "/api/v1/flock/settings/webhooks/ms_teams/add"),
    ("get", "/api/v1/flock/settings/webhooks/ms_teams"),
    ("post", "/api/v1/flock/settings/webhooks/ms_teams/remove"),
    ("post", "/api/v1/flock/settings/webhooks/ms_teams/test"),
    ("get", "/api/v1/flock/settings/webhooks/slack"),
    ("post", "/api/v1/flock/settings/webhooks/slack/remove"),
    ("post", "/api/v1/flock/settings/webhooks/slack/test"),
    ("post", "/api/v1/flock/settings/webhooks/splunk/add"),
    ("get", "/api/v1/flock/settings/webhooks/splunk"),
    ("post", "/api/v1/flock/settings/webhooks/splunk/remove"),
    ("post", "/api/v1/flock/settings/webhooks/splunk/test"),
    ("get", "/api/v1/ping"),
];

/// One documented parameter of a Canary-style operation.
#[derive(Debug, Clone)]
pub struct DocParam {
    pub name: String,
    pub required: bool,
}

/// A Canary-style operation of the document, with its parameters (query
/// parameters of a GET, the body's properties of a POST).
#[derive(Debug, Clone)]
pub struct CanaryEndpoint {
    pub method: axum::http::Method,
    pub path: String,
    pub params: Vec<DocParam>,
}

/// The document the server's routes are registered with.
pub fn generated() -> Value {
    serde_json::to_value(flockrelay::api::document()).expect("the document serializes")
}

/// Every `(method, path, operation)` of a document.
pub fn operations(document: &Value) -> Vec<(String, String, Value)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            operations.push((method.clone(), path.clone(), operation.clone()));
        }
    }
    operations
}

/// The Canary-style operations of the generated document.
pub fn canary_endpoints() -> Vec<CanaryEndpoint> {
    let document = generated();
    let mut endpoints = Vec::new();
    for (method, path, operation) in operations(&document) {
        if operation["tags"][0] != "canary" {
            continue;
        }
        let mut params: Vec<DocParam> = operation["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|param| param["in"] == "query")
            .map(|param| DocParam {
                name: param["name"].as_str().expect("name").to_owned(),
                required: param["required"] == true,
            })
            .collect();
        let body = &operation["requestBody"]["content"]["application/json"]["schema"];
        if let Some(reference) = body["$ref"].as_str() {
            let schema = document.pointer(reference.trim_start_matches('#')).expect("the body's schema is there");
            let required: Vec<&Value> = schema["required"].as_array().into_iter().flatten().collect();
            for name in schema["properties"].as_object().expect("properties").keys() {
                params.push(DocParam { name: name.clone(), required: required.contains(&&json!(name)) });
            }
        }
        let method = method.to_ascii_uppercase().parse().expect("a method");
        endpoints.push(CanaryEndpoint { method, path, params });
    }
    endpoints
}

async fn document(relay: &Relay) -> Value {
    let (status, document) = answer(relay.client.get(relay.url("/api/openapi.json"))).await;
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.1.0");
    document
}

/// A validator of `schema`, which may `$ref` the document's components.
fn compile(document: &Value, schema: &Value, what: &str) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Some(object) = root.as_object_mut() {
        object.insert("components".into(), document["components"].clone());
    }
    jsonschema::validator_for(&root).unwrap_or_else(|error| panic!("{what}: not a valid JSON Schema: {error}"))
}

/// Validates `instance` against `schema` (which may `$ref` the document's components).
fn check(document: &Value, schema: &Value, instance: &Value, what: &str) {
    if let Err(error) = compile(document, schema, what).validate(instance) {
        panic!("{what}: {instance} does not match its documented schema: {error}");
    }
}

#[tokio::test]
async fn every_route_of_the_server_is_in_the_document() {
    let relay = Relay::start().await;
    let served = document(&relay).await;
    assert_eq!(served, generated(), "the served document is the one the routes are registered with");
    let operations = operations(&served);
    assert!(operations.len() >= SEED.len() + 10, "every route is registered with its documentation");
    for (method, path, operation) in &operations {
        assert!(operation["summary"].is_string(), "{method} {path} has no summary");
        assert!(operation["responses"].is_object(), "{method} {path} has no responses");
        let tag = operation["tags"][0].as_str().unwrap_or_default();
        assert!(["canary", "operator", "open"].contains(&tag), "{method} {path} has no known tag");
        let security = operation["security"].as_array().map_or(0, Vec::len);
        assert_eq!(security > 0, tag != "open", "{method} {path}: its token requirement is documented");
    }
    let mut ids: Vec<&str> =
        operations.iter().filter_map(|(_, _, operation)| operation["operationId"].as_str()).collect();
    assert_eq!(ids.len(), operations.len(), "every operation has an operationId");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), operations.len(), "operationIds are unique");
    for (method, path) in SEED {
        assert!(served["paths"][path][method].is_object(), "seed endpoint {method} {path} is missing");
    }
    for name in ["header", "query", "body"] {
        assert!(served["components"]["securitySchemes"][name].is_object(), "security scheme {name}");
    }
    for (name, schema) in served["components"]["schemas"].as_object().expect("schemas") {
        compile(&served, schema, name);
    }
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let relay = Relay::start().await;
    let document = document(&relay).await;
    for (method, path, operation) in operations(&document) {
        let url = relay.url(&path.replace("{id}", "x").replace("{source_id}", "x"));
        let request = match method.as_str() {
            "get" => relay.client.get(&url),
            "post" => relay.client.post(&url),
            "delete" => relay.client.delete(&url),
            other => panic!("unexpected method {other}"),
        };
        let response = request.header("x-canary-auth-token", TOKEN).send().await.expect("answers");
        let status = response.status().as_u16();
        let json = response.headers().get("content-type").is_some_and(|value| value.as_bytes() == b"application/json");
        let body = response.text().await.expect("reads");
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(!body.contains("no such endpoint"), "{method} {path} is documented but not routed: {body}");
        assert!(status < 500 || path == "/readyz", "{method} {path} answered {status}: {body}");
        let documented = &operation["responses"][status.to_string()];
        assert!(documented.is_object(), "{method} {path}: status {status} is not documented: {body}");
        if json {
            let schema = &documented["content"]["application/json"]["schema"];
            let answer: Value = serde_json::from_str(&body).expect("a JSON answer");
            check(&document, schema, &answer, &format!("{method} {path} {status}"));
        }
    }
}

#[tokio::test]
async fn answers_match_their_documented_schemas() {
    let extra = "[destinations.hook]\n[destinations.hook.generic]\nurl = \"https://hooks.example.com/x\"\n\n\
                 [destinations.hec]\n[destinations.hec.splunk]\nhost = \"splunk.example.com\"\ntoken = \"0123456789abcdef\"\n";
    let relay = Relay::with(Setup { extra: extra.into(), ..Setup::default() }).await;
    let document = document(&relay).await;
    let get = |path: &str, query: &[(&str, &str)]| {
        relay.client.get(relay.url(path)).query(query).header("x-canary-auth-token", TOKEN)
    };
    let global = [("flock_id", "global")];
    for (path, query) in [
        ("/api/v1/ping", &[][..]),
        ("/api/v1/flocks/list", &[][..]),
        ("/api/v1/flock/settings/webhooks/is_enabled", &global[..]),
        ("/api/v1/flock/settings/webhooks/is_global", &global[..]),
        ("/api/v1/flock/settings/webhooks/generic", &global[..]),
        ("/api/v1/flock/settings/webhooks/generic/list", &global[..]),
        ("/api/v1/flock/settings/webhooks/ms_teams", &global[..]),
        ("/api/v1/flock/settings/webhooks/slack", &global[..]),
        ("/api/v1/flock/settings/webhooks/splunk", &global[..]),
        ("/api/v1/destinations", &[][..]),
        ("/api/v1/messages", &[][..]),
        ("/api/v1/sources", &[][..]),
        ("/api/v1/silences", &[][..]),
    ] {
        let (status, answer) = answer(get(path, query)).await;
        assert_eq!(status, 200, "{path}: {answer}");
        let schema = &document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        check(&document, schema, &answer, path);
    }
    // The schemas are strict enough to catch a wrong answer.
    let listed = &document["paths"]["/api/v1/flocks/list"]["get"]["responses"]["200"]["content"]["application/json"];
    let wrong = json!({"result": "ok", "flocks": {"flock:a": 1}});
    assert!(compile(&document, &listed["schema"], "flocks/list").validate(&wrong).is_err());
    let path = "/api/v1/destinations/{id}/disable";
    let disabled =
        relay.client.post(relay.url("/api/v1/destinations/hook/disable")).header("x-canary-auth-token", TOKEN);
    let (status, answer) = answer(disabled).await;
    assert_eq!(status, 200, "{answer}");
    let schema = &document["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
    check(&document, schema, &answer, path);
}
