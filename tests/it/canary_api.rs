//! The Canary-style management API through real HTTP against a served relay:
//! every endpoint of the seed, every error path, and changes taking effect for
//! the next alert without a restart.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{answer, eventually, Relay, Setup, TOKEN};
use crate::support::stores::postgres_url;

const SETTINGS: &str = "/api/v1/flock/settings/webhooks";

fn path(tail: &str) -> String {
    format!("{SETTINGS}/{tail}")
}

/// Asserts an error answer: the status, `result: error`, and a message
/// containing `needle`.
#[track_caller]
fn assert_error((status, body): &(u16, Value), expected: u16, needle: &str) {
    assert_eq!(*status, expected, "{body}");
    assert_eq!(body["result"], "error", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "message {message:?} should contain {needle:?}");
}

#[track_caller]
fn assert_success((status, body): &(u16, Value)) {
    assert_eq!(*status, 200, "{body}");
    assert_eq!(body["result"], "success", "{body}");
}

async fn create_flock(relay: &Relay, name: &str) -> String {
    let created = relay.post("/api/v1/flock/create", &[("name", name)]).await;
    assert_success(&created);
    created.1["flock_id"].as_str().expect("flock_id is a string").to_owned()
}

/// POSTs one alert of `flock` and returns how many messages it became.
async fn send_alert(relay: &Relay, flock: &str) -> u64 {
    let body = json!({"kind": "canary.incident", "title": "Port scan", "flock_id": flock});
    let request = relay
        .client
        .post(relay.url("/api/v1/alerts"))
        .header("x-canary-auth-token", TOKEN)
        .header("content-type", "application/json")
        .body(body.to_string());
    let (status, answer) = answer(request).await;
    assert_eq!(status, 202, "{answer}");
    answer["alerts"][0]["messages"].as_u64().expect("message count")
}

// ── authentication and parameters ───────────────────────────────────────────

#[tokio::test]
async fn ping_and_tokens_from_the_query_the_header_a_form_or_a_json_body() {
    let relay = Relay::start().await;
    assert_eq!(relay.get("/api/v1/ping", &[]).await, (200, json!({"result": "success"})));
    let header = relay.client.get(relay.url("/api/v1/ping")).header("X-Canary-Auth-Token", TOKEN);
    assert_eq!(answer(header).await, (200, json!({"result": "success"})));
    let form = relay.client.post(relay.url("/api/v1/flock/create")).form(&[("auth_token", TOKEN), ("name", "Form")]);
    assert_success(&answer(form).await);
    assert_success(&relay.post_json("/api/v1/flock/create", &json!({"auth_token": TOKEN, "name": "Json"})).await);
    let listed = relay.get("/api/v1/flocks/list", &[]).await;
    let names: Vec<&str> = listed.1["flocks"].as_object().expect("object").values().filter_map(Value::as_str).collect();
    assert!(names.contains(&"Form") && names.contains(&"Json"), "{listed:?}");
}

#[tokio::test]
async fn a_missing_or_wrong_token_reveals_nothing_else() {
    let relay = Relay::start().await;
    let missing = answer(relay.client.get(relay.url("/api/v1/ping"))).await;
    assert_error(&missing, 401, "missing auth_token");
    let unknown_flock = [("flock_id", "flock:nope")];
    for token in ["wrong-token-0123456789", TOKEN.trim_end_matches('f')] {
        let request =
            relay.client.get(relay.url(&path("is_enabled"))).query(&[("auth_token", token), unknown_flock[0]]);
        let wrong = answer(request).await;
        assert_eq!(wrong, (403, json!({"result": "error", "message": "invalid auth_token"})));
    }
    // Without a token, a body that cannot be read is still only "missing token".
    let garbled =
        relay.client.post(relay.url("/api/v1/flock/create")).header("content-type", "application/json").body("{oops");
    assert_error(&answer(garbled).await, 401, "missing auth_token");
    let no_token_write =
        answer(relay.client.post(relay.url(&path("generic/add"))).form(&[("flock_id", "global"), ("url", "http://x")]))
            .await;
    assert_error(&no_token_write, 401, "missing auth_token");
    let listed = relay.get(&path("generic/list"), &[("flock_id", "global")]).await;
    assert_eq!(listed.1["generic_webhooks"], json!([]), "nothing was added without a token");
}

#[tokio::test]
async fn unreadable_and_conflicting_parameters_are_refused() {
    let relay = Relay::start().await;
    let with_header = |body: &'static str, content_type: &'static str| {
        relay
            .client
            .post(relay.url("/api/v1/flock/create"))
            .header("x-canary-auth-token", TOKEN)
            .header("content-type", content_type)
            .body(body)
    };
    assert_error(&answer(with_header("{oops", "application/json")).await, 400, "body is not valid JSON");
    assert_error(&answer(with_header("[1, 2]", "application/json")).await, 400, "JSON body must be an object");
    assert_error(&answer(with_header("name=x", "text/plain")).await, 415, "unsupported content type");
    let twice =
        relay.client.post(relay.url("/api/v1/flock/create?name=a")).form(&[("auth_token", TOKEN), ("name", "b")]);
    assert_error(&answer(twice).await, 400, "parameter name is given twice");
    assert_error(&relay.post("/api/v1/flock/create", &[]).await, 400, "missing parameter name");
    assert_error(&relay.post("/api/v1/flock/create", &[("name", "   ")]).await, 400, "missing parameter name");
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413() {
    let relay = Relay::start().await;
    let huge = "x".repeat(200 * 1024);
    let request = relay.client.post(relay.url(&path("generic/add"))).form(&[
        ("auth_token", TOKEN),
        ("flock_id", "global"),
        ("url", "http://127.0.0.1:9/hook"),
        ("headers", huge.as_str()),
    ]);
    assert_error(&answer(request).await, 413, "larger than the limit of 65536 bytes");
}

#[tokio::test]
async fn unknown_endpoints_and_methods_answer_json_errors() {
    let relay = Relay::start().await;
    assert_error(&relay.get("/api/v1/flock/settings/webhooks/pager/add", &[]).await, 404, "no such endpoint");
    let wrong_method = answer(relay.client.delete(relay.url("/api/v1/ping")).query(&[("auth_token", TOKEN)])).await;
    assert_error(&wrong_method, 405, "method DELETE is not allowed on /api/v1/ping");
}

/// A plausible value for each required parameter, so that the one under test is
/// the only thing wrong with a request.
fn plausible(name: &str) -> &'static str {
    match name {
        "url" => "https://hooks.example.com/x",
        "host" => "splunk.example.com",
        "port" => "8088",
        "token" => "abc-123-def-456",
        "name" => "Somewhere",
        _ => "flock:default",
    }
}

fn request(relay: &Relay, method: &axum::http::Method, path: &str, params: &[(&str, &str)]) -> reqwest::RequestBuilder {
    if method == axum::http::Method::GET {
        relay.client.get(relay.url(path)).query(params)
    } else {
        relay.client.post(relay.url(path)).form(params)
    }
}

#[tokio::test]
async fn every_endpoint_refuses_a_missing_or_wrong_token_missing_parameters_an_unknown_flock_and_a_huge_body() {
    let relay = Relay::start().await;
    let endpoints = crate::openapi::canary_endpoints();
    assert_eq!(endpoints.len(), 27, "ping, 4 flock endpoints, 5 settings, 5 generic, 4 Teams, 4 Slack, 4 Splunk");
    let huge = "x".repeat(100 * 1024);
    for endpoint in &endpoints {
        let (method, path) = (&endpoint.method, endpoint.path.as_str());
        let required: Vec<(&str, &str)> = endpoint
            .params
            .iter()
            .filter(|param| param.required)
            .map(|param| (param.name.as_str(), plausible(&param.name)))
            .collect();
        let missing = answer(request(&relay, method, path, &required)).await;
        assert_error(&missing, 401, "missing auth_token");
        let mut wrong = vec![("auth_token", "not-the-token-0123456789")];
        wrong.extend(&required);
        assert_eq!(
            answer(request(&relay, method, path, &wrong)).await,
            (403, json!({"result": "error", "message": "invalid auth_token"})),
            "{path}"
        );
        let mut too_big = vec![("auth_token", TOKEN), ("padding", huge.as_str())];
        too_big.extend(&required);
        if *method == axum::http::Method::POST {
            assert_error(&answer(request(&relay, method, path, &too_big)).await, 413, "larger than the limit");
        }
        for param in endpoint.params.iter().filter(|param| param.required) {
            let mut without = vec![("auth_token", TOKEN)];
            without.extend(required.iter().filter(|(name, _)| *name != param.name.as_str()));
            let answer = answer(request(&relay, method, path, &without)).await;
            assert_eq!(answer.0, 400, "{path} without {}: {answer:?}", param.name);
            let message = answer.1["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("missing parameter"), "{path} without {}: {message}", param.name);
        }
        if endpoint.params.iter().any(|param| param.name == "flock_id") {
            let mut unknown = vec![("auth_token", TOKEN), ("flock_id", "flock:nope")];
            unknown.extend(required.iter().filter(|(name, _)| *name != "flock_id"));
            assert_error(&answer(request(&relay, method, path, &unknown)).await, 404, "unknown flock \"flock:nope\"");
        }
        if endpoint.params.iter().any(|param| param.name == "url") {
            let mut bad_url = vec![("auth_token", TOKEN), ("flock_id", "global"), ("url", "::not a url::")];
            bad_url.extend(required.iter().filter(|(name, _)| !matches!(*name, "flock_id" | "url")));
            assert_error(&answer(request(&relay, method, path, &bad_url)).await, 400, "invalid url");
        }
    }
}

#[tokio::test]
async fn hostile_values_never_cause_a_server_error() {
    let relay = Relay::start().await;
    let long = "ä".repeat(3000);
    let hostile: [Value; 12] = [
        json!("\u{0}"),
        json!("a\r\nX-Injected: 1"),
        json!(long),
        json!("99999999999999999999999"),
        json!("-1"),
        json!("global"),
        json!("flock:default"),
        json!("%00%0d%0a"),
        json!("http://[::1"),
        json!({"X-A": {"nested": true}}),
        json!([1, 2, 3]),
        json!(true),
    ];
    for endpoint in crate::openapi::canary_endpoints() {
        for value in &hostile {
            let mut body = serde_json::Map::new();
            body.insert("auth_token".into(), json!(TOKEN));
            for param in &endpoint.params {
                body.insert(param.name.clone(), value.clone());
            }
            let request = if endpoint.method == axum::http::Method::GET {
                relay.client.get(relay.url(&endpoint.path))
            } else {
                relay.client.post(relay.url(&endpoint.path))
            };
            let request = request.header("content-type", "application/json").body(Value::Object(body).to_string());
            let (status, answer) = answer(request).await;
            assert!(status < 500, "{} {} with {value}: {status} {answer}", endpoint.method, endpoint.path);
        }
    }
}

// ── flocks ───────────────────────────────────────────────────────────────────

#[tokio::test]
async fn flocks_are_created_listed_renamed_and_deleted_with_their_webhooks() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay =
        Relay::with(Setup { extra: "[flocks.\"flock:declared\"]\nname = \"Declared\"\n".into(), ..Setup::default() })
            .await;
    let listed = relay.get("/api/v1/flocks/list", &[]).await;
    assert_eq!(
        listed,
        (200, json!({"result": "success", "flocks": {"flock:declared": "Declared", "flock:default": "Default Flock"}}))
    );

    let id = create_flock(&relay, "Datacenter").await;
    assert!(id.starts_with("flock:") && id.len() > "flock:".len(), "{id}");
    assert_eq!(relay.get("/api/v1/flocks/list", &[]).await.1["flocks"][&id], "Datacenter");
    assert_success(&relay.post("/api/v1/flock/rename", &[("flock_id", &id), ("name", "DC-1")]).await);
    assert_eq!(relay.get("/api/v1/flocks/list", &[]).await.1["flocks"][&id], "DC-1");

    assert_success(&relay.post(&path("generic/add"), &[("flock_id", &id), ("url", &hook.url("/a"))]).await);
    assert_success(&relay.post("/api/v1/flock/delete", &[("flock_id", &id)]).await);
    assert!(relay.get("/api/v1/flocks/list", &[]).await.1["flocks"].get(&id).is_none());
    assert_error(&relay.get(&path("generic/list"), &[("flock_id", &id)]).await, 404, "unknown flock");
    let destinations = relay.get("/api/v1/destinations", &[]).await.1;
    assert_eq!(destinations["destinations"], json!([]), "its webhooks went with it");

    assert_error(&relay.post("/api/v1/flock/delete", &[("flock_id", &id)]).await, 404, "unknown flock");
    assert_error(
        &relay.post("/api/v1/flock/rename", &[("flock_id", "flock:nope"), ("name", "x")]).await,
        404,
        "unknown flock \"flock:nope\"",
    );
    assert_error(&relay.post("/api/v1/flock/delete", &[("flock_id", "flock:default")]).await, 409, "always exists");
    assert_error(&relay.post("/api/v1/flock/delete", &[("flock_id", "global")]).await, 400, "invalid flock_id");
    assert_error(
        &relay.post("/api/v1/flock/delete", &[("flock_id", "flock:declared")]).await,
        409,
        "declared in the config file",
    );
    assert_success(&relay.post(&path("enable"), &[("flock_id", "flock:declared")]).await);
    let taken_over = relay.post("/api/v1/flock/delete", &[("flock_id", "flock:declared")]).await;
    assert_error(&taken_over, 409, "declared in the config file");
    assert_error(&relay.post("/api/v1/flock/delete", &[]).await, 400, "missing parameter flock_id");
    assert_error(
        &relay.post("/api/v1/flock/rename", &[("flock_id", "flock:default")]).await,
        400,
        "missing parameter name",
    );
    let long = "n".repeat(101);
    assert_error(
        &relay.post("/api/v1/flock/create", &[("name", &long)]).await,
        400,
        "invalid name: must be at most 100 characters",
    );
}

// ── settings ─────────────────────────────────────────────────────────────────

#[tokio::test]
async fn webhook_settings_follow_the_resolver() {
    let relay = Relay::start().await;
    let flock = create_flock(&relay, "Lab").await;
    let state = |flock: String| {
        let relay = &relay;
        async move {
            let enabled = relay.get(&path("is_enabled"), &[("flock_id", &flock)]).await;
            let global = relay.get(&path("is_global"), &[("flock_id", &flock)]).await;
            assert_eq!(enabled.1.as_object().map(|object| object.len()), Some(2), "{enabled:?}");
            (enabled.1["is_enabled"].as_bool().expect("bool"), global.1["is_global"].as_bool().expect("bool"))
        }
    };
    assert_eq!(state(flock.clone()).await, (true, true), "a new flock follows the enabled global set");
    assert_success(&relay.post(&path("disable"), &[("flock_id", &flock)]).await);
    assert_eq!(state(flock.clone()).await, (false, false));
    assert_success(&relay.post(&path("enable"), &[("flock_id", &flock)]).await);
    assert_eq!(state(flock.clone()).await, (true, false));
    assert_success(&relay.post(&path("use_global"), &[("flock_id", &flock)]).await);
    assert_eq!(state(flock.clone()).await, (true, true));

    assert_success(&relay.post(&path("disable"), &[("flock_id", "global")]).await);
    assert_eq!(state("global".into()).await, (false, true));
    assert_eq!(state(flock.clone()).await, (false, true), "a flock following the global set follows its switch");
    assert_success(&relay.post(&path("enable"), &[("flock_id", &flock)]).await);
    assert_eq!(state(flock.clone()).await, (true, false), "its own set does not");
    assert_eq!(state("flock:default".into()).await, (false, true));

    assert_error(&relay.post(&path("use_global"), &[("flock_id", "global")]).await, 400, "cannot follow itself");
    for endpoint in ["is_enabled", "is_global"] {
        assert_error(
            &relay.get(&path(endpoint), &[("flock_id", "flock:nope")]).await,
            404,
            "unknown flock \"flock:nope\"",
        );
        assert_error(&relay.get(&path(endpoint), &[]).await, 400, "missing parameter flock_id");
    }
    for endpoint in ["enable", "disable", "use_global"] {
        assert_error(&relay.post(&path(endpoint), &[("flock_id", "flock:nope")]).await, 404, "unknown flock");
        assert_error(&relay.post(&path(endpoint), &[]).await, 400, "missing parameter flock_id");
    }
}

#[tokio::test]
async fn changes_take_effect_for_the_next_alert_without_a_restart() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::start().await;
    let flock = create_flock(&relay, "Ops").await;
    assert_eq!(send_alert(&relay, &flock).await, 0, "the global set is empty");

    assert_success(&relay.post(&path("generic/add"), &[("flock_id", &flock), ("url", &hook.url("/ops"))]).await);
    assert_eq!(send_alert(&relay, &flock).await, 0, "the flock still follows the global set");
    assert_success(&relay.post(&path("enable"), &[("flock_id", &flock)]).await);
    assert_eq!(send_alert(&relay, &flock).await, 1, "the flock's own webhook now receives");
    eventually(Duration::from_secs(120), "the alert reached the webhook", || async { hook.requests().len() == 1 })
        .await;
    assert_eq!(hook.single().uri.path(), "/ops");

    assert_success(&relay.post(&path("disable"), &[("flock_id", &flock)]).await);
    assert_eq!(send_alert(&relay, &flock).await, 0);
    assert_success(&relay.post(&path("enable"), &[("flock_id", &flock)]).await);
    assert_success(&relay.post(&path("generic/remove"), &[("flock_id", &flock), ("url", &hook.url("/ops"))]).await);
    assert_eq!(send_alert(&relay, &flock).await, 0, "a removed webhook receives nothing");

    assert_success(&relay.post(&path("generic/add"), &[("flock_id", "global"), ("url", &hook.url("/global"))]).await);
    assert_success(&relay.post(&path("use_global"), &[("flock_id", &flock)]).await);
    assert_eq!(send_alert(&relay, &flock).await, 1, "back on the global set");
}

#[tokio::test]
async fn changes_persist_across_a_restart() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::start().await;
    let flock = create_flock(&relay, "Persistent").await;
    assert_success(&relay.post(&path("enable"), &[("flock_id", &flock)]).await);
    assert_success(&relay.post(&path("generic/add"), &[("flock_id", &flock), ("url", &hook.url("/p"))]).await);
    assert_success(&relay.post(&path("disable"), &[("flock_id", "global")]).await);
    let store_url = relay.store_url.clone();
    let dir = relay.stop().await;

    let again = Relay::with(Setup { store_url: Some(store_url), ..Setup::default() }).await;
    assert_eq!(again.get("/api/v1/flocks/list", &[]).await.1["flocks"][&flock], "Persistent");
    assert_eq!(
        again.get(&path("is_enabled"), &[("flock_id", "global")]).await.1["is_enabled"],
        false,
        "the API's switch wins over the file"
    );
    assert_eq!(again.get(&path("is_global"), &[("flock_id", &flock)]).await.1["is_global"], false);
    let urls = again.get(&path("generic"), &[("flock_id", &flock)]).await.1;
    assert_eq!(urls["generic_webhooks"], json!([hook.url("/p")]));
    assert_eq!(send_alert(&again, &flock).await, 1);
    drop(dir);
}

// ── generic ──────────────────────────────────────────────────────────────────

#[tokio::test]
async fn generic_webhooks_are_added_listed_tested_and_removed() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::start().await;
    let flock = create_flock(&relay, "Generic").await;
    let url = hook.url("/hooks/alerts?team=soc");
    let headers = r#"{"X-Api-Key": "key-0123456789", "Authorization": "Bearer tok-abcdefghijkl"}"#;
    assert_success(
        &relay.post(&path("generic/add"), &[("flock_id", &flock), ("url", &url), ("headers", headers)]).await,
    );
    assert_success(&relay.post(&path("generic/add"), &[("flock_id", &flock), ("url", &hook.url("/plain"))]).await);

    let (status, listed) = relay.get(&path("generic/list"), &[("flock_id", &flock)]).await;
    assert_eq!(status, 200);
    assert_eq!(listed["result"], "success");
    assert_eq!(listed["webhooks_enabled"], true);
    let webhooks = listed["generic_webhooks"].as_array().expect("array");
    assert_eq!(webhooks.len(), 2);
    let with_headers = webhooks.iter().find(|webhook| webhook["url"] == url.as_str()).expect("listed");
    assert_eq!(with_headers["header_names"], json!(["Authorization", "X-Api-Key"]));
    assert!(with_headers["webhook_id"].as_str().is_some_and(|id| id.starts_with("generic:")), "{with_headers}");
    let plain = webhooks.iter().find(|webhook| webhook["url"] == hook.url("/plain").as_str()).expect("listed");
    assert_eq!(plain["header_names"], json!([]));
    let text = listed.to_string();
    assert!(
        !text.contains("key-0123456789") && !text.contains("tok-abcdefghijkl"),
        "header values are write-only: {text}"
    );
    let operator = relay.get("/api/v1/destinations", &[]).await.1.to_string();
    assert!(!operator.contains("key-0123456789") && !operator.contains("tok-abcdefghijkl"), "{operator}");

    let deprecated = relay.get(&path("generic"), &[("flock_id", &flock)]).await;
    assert_eq!(deprecated.1["generic_webhooks"].as_array().map(Vec::len), Some(2));
    assert_eq!(deprecated.1["webhooks_enabled"], true);

    let tested = relay.post(&path("generic/test"), &[("flock_id", &flock), ("url", &url)]).await;
    assert_eq!(tested, (200, json!({"result": "success", "webhook": url})));
    let request = hook.single();
    assert_eq!(request.header("x-api-key"), Some("key-0123456789"), "the test goes through the configured webhook");
    assert_eq!(request.header("authorization"), Some("Bearer tok-abcdefghijkl"));
    let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(body["kind"], "flockrelay.test");

    assert_error(
        &relay.post(&path("generic/add"), &[("flock_id", &flock), ("url", &url)]).await,
        409,
        "already has a generic webhook with this url",
    );
    assert_success(&relay.post(&path("generic/remove"), &[("flock_id", &flock), ("url", &url)]).await);
    assert_error(
        &relay.post(&path("generic/remove"), &[("flock_id", &flock), ("url", &url)]).await,
        404,
        "no generic webhook with this url",
    );
    assert_error(
        &relay.post(&path("generic/test"), &[("flock_id", &flock), ("url", &url)]).await,
        404,
        "no generic webhook with this url",
    );
    let left = relay.get(&path("generic/list"), &[("flock_id", &flock)]).await.1;
    assert_eq!(left["generic_webhooks"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn generic_tests_report_the_channels_answer() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::start().await;
    let url = hook.url("/answers");
    assert_success(&relay.post(&path("generic/add"), &[("flock_id", "global"), ("url", &url)]).await);
    hook.script([Reply::new(404, "no such hook"), Reply::new(500, "receiver broke")]);
    let test_path = path("generic/test");
    let params = [("flock_id", "global"), ("url", url.as_str())];
    assert_error(
        &relay.post(&test_path, &params).await,
        400,
        "the test notification was not delivered: HTTP 404: no such hook",
    );
    assert_error(&relay.post(&test_path, &params).await, 400, "HTTP 500: receiver broke");
    assert_eq!(relay.post(&test_path, &params).await, (200, json!({"result": "success", "webhook": url})));
    assert_eq!(hook.requests().len(), 3, "one request per test, no retries");
}

#[tokio::test]
async fn generic_add_validates_urls_headers_and_credentials() {
    let relay = Relay::start().await;
    let add = |params: Vec<(&'static str, &'static str)>| {
        let relay = &relay;
        async move {
            let mut all = vec![("flock_id", "global")];
            all.extend(params);
            relay.post(&path("generic/add"), &all).await
        }
    };
    assert_error(&add(vec![]).await, 400, "missing parameter url");
    assert_error(&add(vec![("url", "not a url")]).await, 400, "invalid url");
    assert_error(&add(vec![("url", "example.com/hook")]).await, 400, "invalid url: is not a URL");
    assert_error(
        &add(vec![("url", "ftp://example.com/hook")]).await,
        400,
        "invalid url: scheme `ftp` is not supported",
    );
    assert_error(
        &add(vec![("url", "https://example.com/a\r\nHost: evil")]).await,
        400,
        "invalid url: must not contain spaces or control characters",
    );
    assert_error(&add(vec![("url", "http://169.254.169.254/latest")]).await, 400, "cloud metadata address");
    assert_error(&add(vec![("url", "https://example.com/a#frag")]).await, 400, "fragment");
    let hook = |headers: &'static str| vec![("url", "https://example.com/h"), ("headers", headers)];
    assert_error(
        &add(hook(r#"{"X-Evil": "a\r\nInjected: 1"}"#)).await,
        400,
        "invalid headers: \"X-Evil\" value must not contain CR, LF or NUL",
    );
    assert_error(&add(hook(r#"{"X-Evil\r\nInjected": "a"}"#)).await, 400, "is not a valid header name");
    assert_error(&add(hook(r#"{"Connection": "close"}"#)).await, 400, "\"Connection\" is set by the relay itself");
    assert_error(&add(hook(r#"{"Transfer-Encoding": "chunked"}"#)).await, 400, "set by the relay itself");
    assert_error(&add(hook(r#"{"X-A": 1}"#)).await, 400, "the value of \"X-A\" must be a string");
    assert_error(&add(hook(r#"["X-A"]"#)).await, 400, "invalid headers: must be a JSON object");
    assert_error(&add(hook("X-A: 1")).await, 400, "invalid headers: must be a JSON object");
    assert_error(&add(hook(r#"{"X-A": "1", "x-a": "2"}"#)).await, 400, "given twice");

    let url = ("url", "https://example.com/auth");
    let long_100: &'static str = Box::leak("p".repeat(100).into_boxed_str());
    let long_101: &'static str = Box::leak("p".repeat(101).into_boxed_str());
    let long_250: &'static str = Box::leak("s".repeat(250).into_boxed_str());
    let long_251: &'static str = Box::leak("s".repeat(251).into_boxed_str());
    assert_error(
        &add(vec![url, ("auth_type", "basic"), ("username", "relay"), ("password", long_101)]).await,
        400,
        "invalid password: must be 1 to 100 characters",
    );
    assert_error(
        &add(vec![url, ("auth_type", "basic"), ("username", long_101), ("password", "pw")]).await,
        400,
        "invalid username: must be 1 to 100 characters",
    );
    assert_error(
        &add(vec![url, ("auth_type", "basic"), ("username", "a:b"), ("password", "pw")]).await,
        400,
        "invalid username: must not contain `:`",
    );
    assert_error(
        &add(vec![url, ("auth_type", "basic"), ("username", "relay")]).await,
        400,
        "missing parameter password",
    );
    assert_error(
        &add(vec![url, ("auth_type", "client_secret"), ("client_secret", long_251)]).await,
        400,
        "invalid client_secret: must be 1 to 250 characters",
    );
    assert_error(&add(vec![url, ("password", "pw")]).await, 400, "invalid auth_type");
    assert_error(&add(vec![url, ("auth_type", "digest")]).await, 400, "invalid auth_type");
    assert_error(
        &add(vec![url, ("auth_type", "bearer"), ("token", "t0k3n"), ("headers", r#"{"Authorization": "Basic x"}"#)])
            .await,
        400,
        "conflicts with auth_type",
    );
    assert_success(&add(vec![url, ("auth_type", "basic"), ("username", "relay"), ("password", long_100)]).await);
    assert_success(
        &add(vec![("url", "https://example.com/secret"), ("auth_type", "client_secret"), ("client_secret", long_250)])
            .await,
    );
    let listed = relay.get(&path("generic/list"), &[("flock_id", "global")]).await.1.to_string();
    assert!(!listed.contains(long_100) && !listed.contains(long_250), "credentials are write-only");
    assert_error(&relay.post(&path("generic/add"), &[("flock_id", "flock:nope"), url]).await, 404, "unknown flock");
}

#[tokio::test]
async fn https_is_required_unless_the_config_allows_http() {
    let relay = Relay::with(Setup { https_only: true, ..Setup::default() }).await;
    let plain = relay.post(&path("generic/add"), &[("flock_id", "global"), ("url", "http://example.com/hook")]).await;
    assert_error(&plain, 400, "invalid url: must use https (set delivery.allow_http = true");
    assert_success(
        &relay.post(&path("generic/add"), &[("flock_id", "global"), ("url", "https://example.com/hook")]).await,
    );
    let splunk = [
        ("flock_id", "global"),
        ("host", "splunk.example.com"),
        ("port", "8088"),
        ("token", "abc-123-def-456"),
        ("https", "false"),
    ];
    assert_error(
        &relay.post(&path("splunk/add"), &splunk).await,
        400,
        "invalid https: plain HTTP to a HEC needs delivery.allow_http",
    );
}

#[tokio::test]
async fn json_bodies_may_carry_headers_as_an_object() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::start().await;
    let body = json!({
        "auth_token": TOKEN, "flock_id": "global", "url": hook.url("/json"),
        "headers": {"X-Team": "blue"},
    });
    assert_success(&relay.post_json(&path("generic/add"), &body).await);
    let listed = relay.get(&path("generic/list"), &[("flock_id", "global")]).await.1;
    assert_eq!(listed["generic_webhooks"][0]["header_names"], json!(["X-Team"]));
}

// ── Microsoft Teams ──────────────────────────────────────────────────────────

#[tokio::test]
async fn ms_teams_webhooks_are_added_listed_tested_and_removed() {
    let teams = Receiver::start(Reply::new(202, "")).await;
    let relay = Relay::start().await;
    let flock = create_flock(&relay, "Teams").await;
    let url = teams.url("/workflows/1/triggers/manual/paths/invoke?sig=abc");
    assert_success(&relay.post(&path("ms_teams/add"), &[("flock_id", &flock), ("url", &url)]).await);
    assert_error(
        &relay.post(&path("ms_teams/add"), &[("flock_id", &flock), ("url", &url)]).await,
        409,
        "already has a ms_teams webhook",
    );
    assert_error(
        &relay
            .post(&path("ms_teams/add"), &[("flock_id", &flock), ("url", "https://x.example/"), ("format", "html")])
            .await,
        400,
        "invalid format",
    );
    assert_error(&relay.post(&path("ms_teams/add"), &[("flock_id", &flock)]).await, 400, "missing parameter url");
    assert_error(
        &relay.post(&path("ms_teams/add"), &[("flock_id", &flock), ("url", "teams")]).await,
        400,
        "invalid url",
    );

    let listed = relay.get(&path("ms_teams"), &[("flock_id", &flock)]).await;
    assert_eq!(listed, (200, json!({"ms_teams_webhooks": [url], "result": "success", "webhooks_enabled": true})));

    assert_eq!(
        relay.post(&path("ms_teams/test"), &[("flock_id", &flock), ("url", &url)]).await,
        (200, json!({"result": "success", "webhook": url}))
    );
    let card: Value = serde_json::from_slice(&teams.single().body).expect("JSON");
    assert_eq!(card["type"], "message");
    teams.script([Reply::new(404, "Webhook not found"), Reply::new(500, "")]);
    assert_error(
        &relay.post(&path("ms_teams/test"), &[("flock_id", &flock), ("url", &url)]).await,
        400,
        "HTTP 404: Webhook not found",
    );
    assert_error(&relay.post(&path("ms_teams/test"), &[("flock_id", &flock), ("url", &url)]).await, 400, "HTTP 500");

    assert_success(&relay.post(&path("ms_teams/remove"), &[("flock_id", &flock), ("url", &url)]).await);
    assert_error(
        &relay.post(&path("ms_teams/remove"), &[("flock_id", &flock), ("url", &url)]).await,
        404,
        "no ms_teams webhook",
    );
    assert_error(&relay.post(&path("ms_teams/remove"), &[("flock_id", &flock)]).await, 400, "missing parameter url");
    assert_error(
        &relay.post(&path("ms_teams/test"), &[("flock_id", "flock:nope"), ("url", &url)]).await,
        404,
        "unknown flock",
    );
    assert_eq!(relay.get(&path("ms_teams"), &[("flock_id", &flock)]).await.1["ms_teams_webhooks"], json!([]));
}

// ── Slack ────────────────────────────────────────────────────────────────────

#[tokio::test]
async fn slack_webhooks_are_added_listed_tested_and_removed_by_team_and_channel_or_url() {
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::start().await;
    let flock = create_flock(&relay, "Slack").await;
    let soc = slack.url("/services/T000/B000/XXXXXXXXXXXXXXXX");
    let ops = slack.url("/services/T000/B001/YYYYYYYYYYYYYYYY");
    let add = [
        ("flock_id", flock.as_str()),
        ("url", soc.as_str()),
        ("team", "Example SOC"),
        ("channel", "#soc"),
        ("configuration_url", "https://example.slack.com/apps/A1"),
    ];
    assert_success(&relay.post(&path("slack/add"), &add).await);
    assert_success(&relay.post(&path("slack/add"), &[("flock_id", &flock), ("url", &ops)]).await);
    assert_error(&relay.post(&path("slack/add"), &add).await, 409, "already has a slack webhook");
    assert_error(
        &relay
            .post(
                &path("slack/add"),
                &[("flock_id", &flock), ("url", "https://x.example/"), ("configuration_url", "javascript:alert(1)")],
            )
            .await,
        400,
        "invalid configuration_url",
    );

    let mut listed = relay.get(&path("slack"), &[("flock_id", &flock)]).await;
    if let Some(webhooks) = listed.1["slack_webhooks"].as_array_mut() {
        webhooks.sort_by_key(|webhook| webhook["url"].as_str().map(str::to_owned));
    }
    assert_eq!(
        listed,
        (
            200,
            json!({
                "result": "success",
                "slack_webhooks": [
                    {"channel": "#soc", "configuration_url": "https://example.slack.com/apps/A1", "team": "Example SOC", "url": soc},
                    {"channel": "", "configuration_url": "", "team": "", "url": ops},
                ],
                "webhooks_enabled": true,
            })
        )
    );

    assert_eq!(
        relay.post(&path("slack/test"), &[("flock_id", &flock), ("url", &soc)]).await,
        (200, json!({"result": "success", "webhook": soc}))
    );
    slack.script([Reply::new(404, "channel_not_found"), Reply::new(500, "rollup_error")]);
    assert_error(
        &relay.post(&path("slack/test"), &[("flock_id", &flock), ("url", &soc)]).await,
        400,
        "HTTP 404: channel_not_found",
    );
    assert_error(
        &relay.post(&path("slack/test"), &[("flock_id", &flock), ("url", &soc)]).await,
        400,
        "HTTP 500: rollup_error",
    );
    let secret_part = "XXXXXXXXXXXXXXXX";
    let failed = relay
        .post(&path("slack/test"), &[("flock_id", &flock), ("url", &slack.url("/services/T000/B002/ZZZZZZZZZZZZZZZZ"))])
        .await;
    assert_error(&failed, 404, "no slack webhook with this url");

    assert_error(
        &relay.post(&path("slack/remove"), &[("flock_id", &flock), ("team", "Example SOC")]).await,
        400,
        "missing parameter",
    );
    assert_error(
        &relay.post(&path("slack/remove"), &[("flock_id", &flock), ("team", "Other"), ("channel", "soc")]).await,
        404,
        "no Slack webhook",
    );
    assert_success(
        &relay.post(&path("slack/remove"), &[("flock_id", &flock), ("team", "Example SOC"), ("channel", "soc")]).await,
    );
    assert_success(&relay.post(&path("slack/remove"), &[("flock_id", &flock), ("url", &ops)]).await);
    assert_error(
        &relay.post(&path("slack/remove"), &[("flock_id", &flock), ("url", &ops)]).await,
        404,
        "no Slack webhook",
    );
    let left = relay.get(&path("slack"), &[("flock_id", &flock)]).await.1;
    assert_eq!(left["slack_webhooks"], json!([]));
    assert!(!left.to_string().contains(secret_part));
}

// ── Splunk ───────────────────────────────────────────────────────────────────

#[tokio::test]
async fn a_splunk_hec_is_set_shown_masked_replaced_tested_and_removed() {
    let hec = Receiver::start(Reply::new(200, r#"{"text":"Success","code":0}"#)).await;
    let relay = Relay::start().await;
    let flock = create_flock(&relay, "Splunk").await;
    assert_eq!(
        relay.get(&path("splunk"), &[("flock_id", &flock)]).await,
        (200, json!({"result": "success", "splunk_webhook": null, "webhooks_enabled": true}))
    );
    assert_error(&relay.post(&path("splunk/test"), &[("flock_id", &flock)]).await, 404, "has no Splunk HEC");
    assert_error(&relay.post(&path("splunk/remove"), &[("flock_id", &flock)]).await, 404, "has no Splunk HEC");

    let port = hec.addr.port().to_string();
    let token = "9a8b7c6d-0000-1111-2222-333344445555";
    let add = |port: &str, token: &str| {
        let params: Vec<(String, String)> =
            [("flock_id", flock.as_str()), ("host", "127.0.0.1"), ("port", port), ("token", token), ("https", "false")]
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect();
        let relay = &relay;
        async move {
            let borrowed: Vec<(&str, &str)> =
                params.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
            relay.post(&path("splunk/add"), &borrowed).await
        }
    };
    assert_success(&add("9", "old-token-000000000000").await);
    assert_success(&add(&port, token).await);
    let shown = relay.get(&path("splunk"), &[("flock_id", &flock)]).await;
    assert_eq!(
        shown,
        (
            200,
            json!({
                "result": "success",
                "splunk_webhook": {"host": "127.0.0.1", "port": port, "token": "********5555"},
                "webhooks_enabled": true,
            })
        )
    );
    let destinations = relay.get("/api/v1/destinations", &[]).await.1;
    assert_eq!(destinations["destinations"].as_array().map(Vec::len), Some(1), "adding again replaced the HEC");
    assert!(!destinations.to_string().contains(token));

    assert_eq!(relay.post(&path("splunk/test"), &[("flock_id", &flock)]).await, (200, json!({"result": "success"})));
    let event = hec.single();
    assert_eq!(event.uri.path(), "/services/collector/event");
    assert_eq!(event.header("authorization"), Some(format!("Splunk {token}").as_str()));
    hec.script([
        Reply::new(404, r#"{"text":"The requested URL was not found on this server.","code":404}"#),
        Reply::new(403, r#"{"text":"Invalid token","code":4}"#),
        Reply::new(500, ""),
    ]);
    assert_error(&relay.post(&path("splunk/test"), &[("flock_id", &flock)]).await, 400, "not found on this server");
    assert_error(&relay.post(&path("splunk/test"), &[("flock_id", &flock)]).await, 400, "Invalid token");
    assert_error(&relay.post(&path("splunk/test"), &[("flock_id", &flock)]).await, 400, "HTTP 500");

    assert_success(&relay.post(&path("splunk/remove"), &[("flock_id", &flock)]).await);
    assert_eq!(relay.get(&path("splunk"), &[("flock_id", &flock)]).await.1["splunk_webhook"], Value::Null);

    for (name, value, needle) in [
        ("port", "0", "invalid port"),
        ("port", "http", "invalid port"),
        ("port", "70000", "invalid port"),
        ("token", "has space", "invalid token"),
        ("host", "splunk.example.com/path", "invalid host"),
        ("host", "169.254.169.254", "cloud metadata"),
        ("https", "maybe", "invalid https"),
    ] {
        let mut params = vec![
            ("flock_id", flock.as_str()),
            ("host", "splunk.example.com"),
            ("port", "8088"),
            ("token", "abc-123-def-456"),
        ];
        params.retain(|(existing, _)| *existing != name);
        params.push((name, value));
        assert_error(&relay.post(&path("splunk/add"), &params).await, 400, needle);
    }
    for missing in ["host", "port", "token"] {
        let mut params = vec![
            ("flock_id", flock.as_str()),
            ("host", "splunk.example.com"),
            ("port", "8088"),
            ("token", "abc-123-def-456"),
        ];
        params.retain(|(existing, _)| *existing != missing);
        assert_error(&relay.post(&path("splunk/add"), &params).await, 400, &format!("missing parameter {missing}"));
    }
}

// ── the config file's destinations ───────────────────────────────────────────

#[tokio::test]
async fn webhooks_declared_in_the_config_file_are_listed_but_not_removed_or_replaced() {
    let extra = r#"
[flocks."flock:dc"]
name = "Datacenter"
use_global = false

[destinations.dc_hook]
flock = "flock:dc"
[destinations.dc_hook.generic]
url = "https://automation.example.com/hooks/dc"
headers = { "X-Source" = "file-secret-value" }

[destinations.dc_hec]
flock = "flock:dc"
[destinations.dc_hec.splunk]
host = "splunk.example.com"
token = "0000-1111-2222-3333"
"#;
    let relay = Relay::with(Setup { extra: extra.into(), ..Setup::default() }).await;
    let listed = relay.get(&path("generic/list"), &[("flock_id", "flock:dc")]).await.1;
    assert_eq!(
        listed["generic_webhooks"],
        json!([{"header_names": ["X-Source"], "url": "https://automation.example.com/hooks/dc", "webhook_id": "dc_hook"}])
    );
    let remove = relay
        .post(&path("generic/remove"), &[("flock_id", "flock:dc"), ("url", "https://automation.example.com/hooks/dc")])
        .await;
    assert_error(&remove, 409, "declared in the config file");
    let dup = relay
        .post(&path("generic/add"), &[("flock_id", "flock:dc"), ("url", "https://automation.example.com/hooks/dc")])
        .await;
    assert_error(&dup, 409, "already has a generic webhook");
    let hec = [("flock_id", "flock:dc"), ("host", "other.example.com"), ("port", "8088"), ("token", "abc-123-def-456")];
    assert_error(&relay.post(&path("splunk/add"), &hec).await, 409, "declared in the config file (dc_hec)");
    assert_error(
        &relay.post(&path("splunk/remove"), &[("flock_id", "flock:dc")]).await,
        409,
        "declared in the config file",
    );
    assert_eq!(
        relay.get(&path("splunk"), &[("flock_id", "flock:dc")]).await.1["splunk_webhook"]["token"],
        "********3333"
    );
}

// ── the address policy ──────────────────────────────────────────────────────

#[tokio::test]
async fn the_address_policy_refuses_denied_addresses_at_add_and_at_test() {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let relay =
        Relay::with(Setup { delivery: "denied_cidrs = [\"127.0.0.0/8\", \"::1\"]".into(), ..Setup::default() }).await;
    let literal = relay.post(&path("generic/add"), &[("flock_id", "global"), ("url", &hook.url("/x"))]).await;
    assert_error(
        &literal,
        400,
        "invalid url: the address policy refuses it: 127.0.0.1 is in delivery.denied_cidrs (127.0.0.0/8)",
    );

    let by_name = format!("http://localhost:{}/x", hook.addr.port());
    assert_success(&relay.post(&path("generic/add"), &[("flock_id", "global"), ("url", &by_name)]).await);
    let tested = relay.post(&path("generic/test"), &[("flock_id", "global"), ("url", &by_name)]).await;
    assert_error(
        &tested,
        400,
        "the address policy refuses localhost: 127.0.0.1 is in delivery.denied_cidrs (127.0.0.0/8)",
    );
    assert!(hook.requests().is_empty(), "nothing reached the denied address");
}

// ── the seed, end to end, on each store ─────────────────────────────────────

/// The seed's requests in order, as its examples make them (GET with query
/// parameters, POST with form bodies).
async fn the_seed_session(relay: &Relay) {
    let hook = Receiver::start(Reply::new(200, "")).await;
    let flock = create_flock(relay, "Seed").await;
    let f = ("flock_id", flock.as_str());
    assert_eq!(relay.get(&path("is_enabled"), &[f]).await, (200, json!({"is_enabled": true, "result": "success"})));
    assert_eq!(relay.get(&path("is_global"), &[f]).await, (200, json!({"is_global": true, "result": "success"})));
    assert_eq!(relay.post(&path("disable"), &[f]).await, (200, json!({"result": "success"})));
    assert_eq!(relay.post(&path("enable"), &[f]).await, (200, json!({"result": "success"})));
    let url = hook.url("/generic");
    let u = ("url", url.as_str());
    assert_eq!(relay.post(&path("generic/add"), &[f, u]).await, (200, json!({"result": "success"})));
    assert_eq!(
        relay.get(&path("generic"), &[f]).await,
        (200, json!({"generic_webhooks": [url], "result": "success", "webhooks_enabled": true}))
    );
    let listed = relay.get(&path("generic/list"), &[f]).await.1;
    let id = listed["generic_webhooks"][0]["webhook_id"].clone();
    assert_eq!(
        listed,
        json!({"generic_webhooks": [{"header_names": [], "url": url, "webhook_id": id}], "result": "success", "webhooks_enabled": true})
    );
    assert_eq!(relay.post(&path("generic/test"), &[f, u]).await, (200, json!({"result": "success", "webhook": url})));
    assert_eq!(relay.post(&path("generic/remove"), &[f, u]).await, (200, json!({"result": "success"})));
    assert_eq!(relay.post(&path("use_global"), &[f]).await, (200, json!({"result": "success"})));
    assert_eq!(relay.post("/api/v1/flock/delete", &[f]).await, (200, json!({"result": "success"})));
}

#[tokio::test]
async fn the_seed_session_on_sqlite() {
    the_seed_session(&Relay::start().await).await;
}

#[tokio::test]
async fn the_seed_session_on_postgres() {
    let Some(store_url) = postgres_url("canary_api::the_seed_session_on_postgres").await else {
        return;
    };
    the_seed_session(&Relay::with(Setup { store_url: Some(store_url), ..Setup::default() }).await).await;
}
