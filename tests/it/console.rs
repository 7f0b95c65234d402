//! The operator console over plain HTTP, as a browser without JavaScript uses
//! it: sessions, sign-in, CSRF, security headers, and that its forms give the
//! API's answers. (`browser.rs` drives the same console in real Chromium.)

use serde_json::json;

use crate::support::console::{Page, Visitor};
use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{Relay, Setup, TOKEN};

const PAGES: [&str; 9] = [
    "/",
    "/flocks",
    "/destinations",
    "/messages",
    "/messages/msg_x",
    "/sources",
    "/silences",
    "/destinations/preview?id=x",
    "/console/overview.json",
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn console_relay(console: &str) -> Relay {
    Relay::with(Setup {
        delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(),
        extra: format!("[console]\n{console}\n"),
        ..Setup::default()
    })
    .await
}

/// What makes a page break the CSP or run script it did not load: inline
/// script, inline style, event handler attributes.
fn inline_code(page: &Page) -> Vec<String> {
    let body = page.body.to_ascii_lowercase();
    let mut found = Vec::new();
    let mut rest = body.as_str();
    while let Some(start) = rest.find("<script") {
        let tag_end = rest[start..].find('>').map_or(rest.len(), |end| start + end);
        let tag = &rest[start..tag_end];
        if !tag.contains("src=") || !rest[tag_end..].trim_start_matches('>').starts_with("</script>") {
            found.push(tag.to_owned());
        }
        rest = &rest[tag_end..];
    }
    for marker in ["<style", " style=", " onclick=", " onload=", " onerror=", " onsubmit=", "javascript:"] {
        if body.contains(marker) {
            found.push(marker.to_owned());
        }
    }
    found
}

#[tokio::test]
async fn every_page_without_a_session_redirects_to_sign_in() {
    let relay = Relay::start().await;
    let mut visitor = Visitor::new(&relay.base);
    for path in PAGES {
        let page = visitor.get(path).await;
        assert_eq!(page.status, 303, "{path}: {}", page.body);
        let location = page.location().expect("a redirect");
        assert!(location.starts_with("/sign-in?next="), "{path} → {location}");
    }
    let post = visitor.post("/flocks/create", &[("name", "Intruders")]).await;
    assert_eq!(post.status, 303, "a POST without a session is not carried out");
    assert_eq!(relay.get("/api/v1/flocks/list", &[]).await.1["flocks"].as_object().map(|flocks| flocks.len()), Some(1));
    let sign_in = visitor.get("/sign-in?next=%2Fmessages%3Fstatus%3Dfailed").await;
    assert_eq!(sign_in.status, 200);
    assert!(sign_in.body.contains("value=\"&#x2F;messages?status=failed\""), "{}", sign_in.body);
}

#[tokio::test]
async fn the_json_api_keeps_its_token_and_a_console_cookie_does_not_open_it() {
    let relay = Relay::start().await;
    let mut visitor = Visitor::new(&relay.base);
    visitor.sign_in().await;
    let cookie = visitor.cookie().expect("a session cookie").to_owned();
    let response =
        relay.client.get(relay.url("/api/v1/messages")).header("cookie", cookie).send().await.expect("answers");
    assert_eq!(response.status().as_u16(), 401, "the API needs its token");
    assert_eq!(relay.get("/api/v1/messages", &[]).await.0, 200);
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_and_signing_out_ends_the_session() {
    let relay = Relay::start().await;
    let mut visitor = Visitor::new(&relay.base);
    let form = visitor.get("/sign-in").await;
    let cookie = form.header("set-cookie").expect("an anonymous session for the form").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP without a proxy: {cookie}");
    let anonymous = visitor.cookie().expect("cookie").to_owned();
    let signed_in = visitor.post("/sign-in", &[("csrf_token", &form.csrf()), ("token", TOKEN)]).await;
    assert_eq!(signed_in.status, 303);
    let cookie = signed_in.header("set-cookie").expect("a new session").to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert_ne!(visitor.cookie(), Some(anonymous.as_str()), "signing in starts a new session id");
    let session = visitor.cookie().expect("cookie").to_owned();
    assert_eq!(visitor.get("/").await.status, 200);

    let out = visitor.submit("/", "/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), Some("/sign-in?notice=signed_out"));
    let mut replay = Visitor::new(&relay.base);
    let stale = relay.client.get(relay.url("/")).header("cookie", session).send().await.expect("answers");
    assert_eq!(stale.status().as_u16(), 200, "reqwest follows the redirect to the sign-in page");
    assert!(stale.url().path().starts_with("/sign-in"), "the old session is gone: {}", stale.url());
    assert_eq!(replay.get("/").await.status, 303);
}

#[tokio::test]
async fn behind_an_https_proxy_the_cookie_is_secure() {
    let relay = Relay::start().await;
    let response =
        relay.client.get(relay.url("/sign-in")).header("x-forwarded-proto", "https").send().await.expect("answers");
    let cookie = response.headers().get("set-cookie").and_then(|value| value.to_str().ok()).expect("cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let always = console_relay("secure_cookies = \"always\"").await;
    let response = always.client.get(always.url("/sign-in")).send().await.expect("answers");
    let cookie = response.headers().get("set-cookie").and_then(|value| value.to_str().ok()).expect("cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_token_is_refused_without_saying_why_and_counted() {
    let relay = Relay::start().await;
    let mut visitor = Visitor::new(&relay.base);
    for token in ["wrong-token-0123456789abcdef", "", "test-token"] {
        let page = visitor.sign_in_with(token).await;
        assert_eq!(page.status, 401, "{}", page.body);
        assert!(page.body.contains("Sign-in failed. Check the API token and try again."), "{}", page.body);
        assert!(!page.body.contains(token) || token.is_empty(), "the token is not echoed");
    }
    assert_eq!(visitor.get("/").await.status, 303, "still not signed in");
    let metrics = relay.client.get(relay.url("/metrics")).send().await.expect("answers").text().await.expect("text");
    assert!(
        metrics.contains("flockrelay_requests_rejected_total{reason=\"console_sign_in\"} 3"),
        "failures are counted:\n{metrics}"
    );
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_address() {
    let relay = console_relay("sign_in_per_minute = 3").await;
    let mut visitor = Visitor::new(&relay.base);
    for _ in 0..3 {
        assert_eq!(visitor.sign_in_with("wrong-token-0123456789abcdef").await.status, 401);
    }
    let limited = visitor.sign_in_with(TOKEN).await;
    assert_eq!(limited.status, 429, "even the right token waits: {}", limited.body);
    assert!(limited.body.contains("Too many sign-in attempts"), "{}", limited.body);
    assert_eq!(visitor.get("/").await.status, 303);
}

#[tokio::test]
async fn a_form_without_or_with_a_wrong_csrf_token_is_refused() {
    let relay = Relay::start().await;
    let mut visitor = Visitor::new(&relay.base);
    visitor.sign_in().await;
    let flocks = || async { relay.get("/api/v1/flocks/list", &[]).await.1["flocks"].as_object().map(|f| f.len()) };
    let missing = visitor.post("/flocks/create", &[("name", "No token")]).await;
    assert_eq!(missing.status, 403, "{}", missing.body);
    assert!(missing.body.contains("CSRF"), "{}", missing.body);
    let wrong = visitor.post("/flocks/create", &[("csrf_token", "0123abcd"), ("name", "Wrong token")]).await;
    assert_eq!(wrong.status, 403);
    assert_eq!(flocks().await, Some(1), "nothing was created");

    let mut other = Visitor::new(&relay.base);
    other.sign_in().await;
    let foreign = other.get("/flocks").await.csrf();
    let crossed = visitor.post("/flocks/create", &[("csrf_token", &foreign), ("name", "Crossed")]).await;
    assert_eq!(crossed.status, 403, "another session's token does not do");

    let done = visitor.submit("/flocks", "/flocks/create", &[("name", "Datacenter")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some("/flocks?notice=flock_created"));
    assert_eq!(flocks().await, Some(2));

    let sign_in = visitor.post("/sign-in", &[("token", TOKEN)]).await;
    assert_eq!(sign_in.status, 403, "the sign-in form is protected too");
}

#[tokio::test]
async fn every_console_answer_carries_the_security_headers_and_no_inline_code() {
    let relay = Relay::start().await;
    let mut visitor = Visitor::new(&relay.base);
    let sign_in = visitor.get("/sign-in").await;
    let redirect = Visitor::new(&relay.base).get("/").await;
    visitor.sign_in().await;
    let mut pages = vec![("/sign-in", sign_in), ("/ (no session)", redirect)];
    for path in [
        "/",
        "/flocks",
        "/destinations",
        "/messages",
        "/sources",
        "/silences",
        "/console/console.css",
        "/console/console.js",
    ] {
        pages.push((path, visitor.get(path).await));
    }
    for (path, page) in &pages {
        assert!(page.status == 200 || path.contains("no session"), "{path}: {} {}", page.status, page.body);
        assert_eq!(page.header("content-security-policy"), Some(CSP), "{path}");
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert_eq!(page.header("referrer-policy"), Some("same-origin"), "{path}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"), "{path}");
        if page.header("content-type").is_some_and(|kind| kind.starts_with("text/html")) {
            assert_eq!(inline_code(page), Vec::<String>::new(), "{path} has inline code:\n{}", page.body);
            assert_eq!(page.header("cache-control"), Some("no-store"), "{path}");
        }
    }
    assert!(pages.iter().any(|(path, page)| *path == "/console/console.js"
        && page.header("content-type") == Some("text/javascript; charset=utf-8")));
}

#[tokio::test]
async fn a_console_form_answers_with_the_apis_own_message() {
    let relay = Relay::start().await;
    let mut visitor = Visitor::new(&relay.base);
    visitor.sign_in().await;
    let cases: [&[(&str, &str)]; 4] = [
        &[("flock_id", "global"), ("url", "not a url")],
        &[("flock_id", "flock:nope"), ("url", "http://127.0.0.1:9/x")],
        &[("flock_id", "global"), ("url", "http://127.0.0.1:9/x"), ("headers", "[1]")],
        &[
            ("flock_id", "global"),
            ("url", "http://127.0.0.1:9/x"),
            ("auth_type", "basic"),
            ("username", "a:b"),
            ("password", "p"),
        ],
    ];
    for fields in cases {
        let (status, api) = relay.post("/api/v1/flock/settings/webhooks/generic/add", fields).await;
        let message = api["message"].as_str().expect("an error message").to_owned();
        let mut form = vec![("kind", "generic")];
        form.extend_from_slice(fields);
        let page = visitor.submit("/destinations", "/destinations/add", &form).await;
        assert_eq!(page.status, status, "{message}");
        let escaped = message
            .replace('&', "&amp;")
            .replace('"', "&quot;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\'', "&#x27;");
        assert!(page.body.contains(&escaped), "the page says {escaped:?}:\n{}", page.body);
    }
    let (status, flock) = relay.post("/api/v1/flock/create", &[("name", "Campaigns")]).await;
    assert_eq!(status, 200);
    let flock = flock["flock_id"].as_str().expect("id").to_owned();
    let page = visitor.submit("/flocks", "/flocks/delete", &[("flock_id", "flock:default")]).await;
    let (_, api) = relay.post("/api/v1/flock/delete", &[("flock_id", "flock:default")]).await;
    assert_eq!(page.status, 409);
    assert!(page.body.contains(api["message"].as_str().expect("message")), "{}", page.body);
    let deleted = visitor.submit("/flocks", "/flocks/delete", &[("flock_id", &flock)]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
}

#[tokio::test]
async fn the_message_list_pages_by_keyset_through_every_message_once() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::with(Setup {
        delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(),
        extra: format!("[destinations.hook]\ngeneric = {{ url = \"{}\" }}\n", receiver.url("/hook")),
        ..Setup::default()
    })
    .await;
    let alerts: Vec<_> =
        (0..120).map(|index| json!({"id": format!("a{index:03}"), "kind": "test", "title": "t"})).collect();
    relay.ingest(&json!(alerts)).await;
    let mut visitor = Visitor::new(&relay.base);
    visitor.sign_in().await;
    let mut seen = std::collections::BTreeSet::new();
    let mut next = Some("/messages?destination=hook".to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        let page = visitor.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        pages += 1;
        for chunk in page.body.split("href=\"/messages/").skip(1) {
            let id = chunk.split('"').next().expect("an id").replace("%5F", "_");
            assert!(seen.insert(id.clone()), "{id} shown twice");
        }
        next = page
            .body
            .split("<a href=\"")
            .filter_map(|chunk| chunk.split_once("\" rel=\"next\">"))
            .map(|(href, _)| href.replace("&amp;", "&").replace("&#x2F;", "/"))
            .next();
        assert!(pages < 10, "the pages end");
    }
    assert_eq!(pages, 3, "50 + 50 + 20");
    assert_eq!(seen.len(), 120);

    // The API pages the same way.
    let mut api_seen = std::collections::BTreeSet::new();
    let mut before = String::new();
    for expected in [50, 50, 20] {
        let (status, page) =
            relay.get("/api/v1/messages", &[("destination", "hook"), ("limit", "50"), ("before", &before)]).await;
        assert_eq!(status, 200, "{page}");
        let messages = page["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), expected);
        api_seen.extend(messages.iter().map(|message| message["id"].as_str().expect("id").to_owned()));
        before = page["next_before"].as_str().unwrap_or_default().to_owned();
    }
    assert!(before.is_empty(), "the last page has no next one");
    assert_eq!(api_seen, seen, "the same messages as the console's pages");
    let bad = visitor.get("/messages?before=nonsense").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("invalid before: is not a position in the message list"), "{}", bad.body);
    let filtered = visitor.get("/messages?status=nonsense").await;
    assert_eq!(filtered.status, 400);
    assert!(filtered.body.contains("status must be one of pending"), "{}", filtered.body);
}

#[tokio::test]
async fn a_switched_off_console_answers_404_and_the_api_still_works() {
    let relay = console_relay("enabled = false").await;
    let response = relay.client.get(relay.url("/")).send().await.expect("answers");
    assert_eq!(response.status().as_u16(), 404);
    let response = relay.client.get(relay.url("/sign-in")).send().await.expect("answers");
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(relay.get("/api/v1/ping", &[]).await.0, 200);
}

#[tokio::test]
async fn hostile_alert_text_is_escaped_in_every_page_that_shows_it() {
    let receiver = Receiver::start(Reply::new(500, "<script>answer()</script>")).await;
    let relay = Relay::with(Setup {
        delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(),
        extra: format!("[destinations.hook]\ngeneric = {{ url = \"{}\" }}\n", receiver.url("/hook")),
        ..Setup::default()
    })
    .await;
    let hostile = "<script>window.pwned=1</script> \"quoted\" 'single' {{ 7*7 }}";
    relay.ingest(&json!([{"id": "<img src=x onerror=alert(1)>", "kind": "test", "title": hostile}])).await;
    crate::support::relay::eventually(std::time::Duration::from_secs(120), "the first attempt is recorded", || async {
        relay.get("/api/v1/messages", &[("destination", "hook")]).await.1["messages"][0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    let mut visitor = Visitor::new(&relay.base);
    visitor.sign_in().await;
    let list = visitor.get("/messages").await;
    let id = list
        .body
        .split("href=\"/messages/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a message link")
        .to_owned();
    for page in [list, visitor.get(&format!("/messages/{id}")).await] {
        assert_eq!(page.status, 200);
        for raw in ["<script>window", "<script>answer", "<img src=x"] {
            assert!(!page.body.contains(raw), "{raw} is markup in:\n{}", page.body);
        }
    }
    let message = visitor.get(&format!("/messages/{id}")).await;
    assert!(
        message.body.contains("&lt;script&gt;window.pwned=1&lt;&#x2F;script&gt;"),
        "shown as text:\n{}",
        message.body
    );
    assert!(message.body.contains("{{ 7*7 }}"), "never evaluated");
}
