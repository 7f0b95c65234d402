//! `/api/openapi.json` stays true: every route of the server is documented, and
//! every documented operation is answered by the served router.

use serde_json::Value;

use crate::support::relay::{answer, Relay, TOKEN};

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

async fn document(relay: &Relay) -> Value {
    let (status, document) = answer(relay.client.get(relay.url("/api/openapi.json"))).await;
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.0.3");
    document
}

#[tokio::test]
async fn every_route_of_the_server_is_in_the_document() {
    let relay = Relay::start().await;
    let document = document(&relay).await;
    let endpoints = flockrelay::api::endpoints();
    assert!(endpoints.len() >= SEED.len() + 10, "the route table lists every route");
    for endpoint in &endpoints {
        let method = endpoint.method.as_str().to_ascii_lowercase();
        let operation = &document["paths"][endpoint.path][&method];
        assert!(operation["summary"].is_string(), "{method} {} is not documented", endpoint.path);
        assert!(operation["responses"].is_object(), "{method} {} has no responses", endpoint.path);
    }
    for (method, path) in SEED {
        assert!(document["paths"][path][method].is_object(), "seed endpoint {method} {path} is missing");
    }
    let operations: usize = document["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|path| path.as_object().map_or(0, |ops| ops.len()))
        .sum();
    assert_eq!(operations, endpoints.len(), "the document has no operation the table lacks");
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let relay = Relay::start().await;
    let document = document(&relay).await;
    for (path, operations) in document["paths"].as_object().expect("paths") {
        for method in operations.as_object().expect("operations").keys() {
            let url = relay.url(&path.replace("{id}", "x").replace("{source_id}", "x"));
            let request = match method.as_str() {
                "get" => relay.client.get(&url),
                "post" => relay.client.post(&url),
                "delete" => relay.client.delete(&url),
                other => panic!("unexpected method {other}"),
            };
            let response = request.header("x-canary-auth-token", TOKEN).send().await.expect("answers");
            let status = response.status().as_u16();
            let body = response.text().await.expect("reads");
            assert_ne!(status, 405, "{method} {path}: {body}");
            assert!(!body.contains("no such endpoint"), "{method} {path} is documented but not routed: {body}");
            assert!(status < 500 || path == "/readyz", "{method} {path} answered {status}: {body}");
        }
    }
}
