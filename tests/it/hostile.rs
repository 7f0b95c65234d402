//! The hostile matrix: one list of hostile requests — NUL characters in every
//! string field of both alert forms, of every operator query and path
//! parameter, of the management and sources APIs; over-long ids and keys;
//! deeply nested details; invalid UTF-8 and lone surrogates; numbers that do not
//! fit — sent to a relay on SQLite and to a relay on PostgreSQL. Bad input is a
//! 4xx naming the field on every engine: no answer may be a 5xx, and both
//! engines must answer each request with the same status.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{Relay, Setup, TOKEN};
use crate::support::stores::postgres_url;

const SETTINGS: &str = "/api/v1/flock/settings/webhooks";

/// What a probe must get.
#[derive(Debug, Clone)]
enum Expect {
    /// A 4xx whose message contains every needle (the field, the rule).
    Refused(Vec<String>),
    /// This exact status.
    Status(u16),
    /// Anything below 500 (the matrix still compares engines).
    Below500,
}

/// One hostile request.
#[derive(Debug, Clone)]
struct Probe {
    label: String,
    method: Method,
    /// Path and query, already percent-encoded as they go on the wire.
    target: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Option<(&'static str, Vec<u8>)>,
    expect: Expect,
}

impl Probe {
    fn new(label: impl Into<String>, method: Method, target: impl Into<String>, expect: Expect) -> Self {
        Self { label: label.into(), method, target: target.into(), headers: Vec::new(), body: None, expect }
    }

    fn json(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(("application/json", body.into()));
        self
    }

    fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let mut all = vec![("auth_token", TOKEN)];
        all.extend_from_slice(pairs);
        let encoded = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(all).finish();
        self.body = Some(("application/x-www-form-urlencoded", encoded.into_bytes()));
        self
    }

    fn header(mut self, name: &'static str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

fn refused(needles: &[&str]) -> Expect {
    Expect::Refused(needles.iter().map(|needle| (*needle).to_owned()).collect())
}

/// `name=value` pairs, percent-encoded, after `?`.
fn query(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

const NUL: &str = "a\u{0}b";

/// A valid alert of our own form with `path` (dotted) set to `value`.
fn own_alert_with(path: &str, value: Value) -> Value {
    let mut alert = json!({
        "id": "hostile-1", "kind": "ids.alert", "title": "Port scan", "flock_id": "flock:soc",
        "description": "d", "severity": "high", "timestamp": "2026-01-01T00:00:00Z",
        "source": {"ip": "192.0.2.1", "name": "scanner"}, "target": {"name": "fs", "ip": "10.0.0.1", "port": 445, "id": "t"},
        "details": {"rule": "r"}
    });
    set_path(&mut alert, path, value);
    alert
}

/// A valid Canary console incident with `key` set to `value`.
fn canary_alert_with(key: &str, value: Value) -> Value {
    let mut incident = json!({
        "Description": "Port Scan", "Intro": "A port scan.", "IncidentHash": "hash-1", "Timestamp": "2021-05-06 10:14:39 (UTC)",
        "SourceIP": "192.0.2.7", "ReverseDNS": "scanner.example", "CanaryName": "fs-canary", "CanaryIP": "10.0.0.9",
        "CanaryPort": "445", "CanaryID": "000222", "flock_id": "flock:soc", "AlertType": "canary.incident",
        "AdditionalDetails": [["Ports", "22"]], "Memo": "memo", "CanaryLocation": "rack 1"
    });
    set_path(&mut incident, key, value);
    incident
}

fn set_path(document: &mut Value, path: &str, value: Value) {
    let mut node = document;
    let parts: Vec<&str> = path.split('.').collect();
    for (index, part) in parts.iter().enumerate() {
        if index + 1 == parts.len() {
            node[*part] = value;
            return;
        }
        node = &mut node[*part];
    }
}

/// `length` characters that do not compress (PostgreSQL compresses a long
/// index entry before it decides whether it is too large: `iii…` would fit).
fn incompressible(length: usize) -> String {
    let mut text = String::with_capacity(length + 32);
    while text.len() < length {
        text.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    text.truncate(length);
    text
}

/// `{"a": {"a": … "x" …}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    let mut value = json!("x");
    for _ in 0..depth {
        value = json!({ "a": value });
    }
    value
}

fn alerts(label: &str, body: impl Into<Vec<u8>>, expect: Expect) -> Probe {
    Probe::new(format!("alerts: {label}"), Method::POST, "/api/v1/alerts", expect)
        .header("x-canary-auth-token", TOKEN)
        .json(body)
}

fn hook(source: &str, label: &str, body: impl Into<Vec<u8>>, expect: Expect) -> Probe {
    Probe::new(format!("hooks/{source}: {label}"), Method::POST, format!("/hooks/{source}"), expect).json(body)
}

fn operator(method: Method, target: &str, expect: Expect) -> Probe {
    Probe::new(format!("operator: {method} {target}"), method, target.to_owned(), expect)
        .header("x-canary-auth-token", TOKEN)
}

fn canary(path: &str, pairs: &[(&str, &str)], expect: Expect) -> Probe {
    let label = format!("canary: {path} {}", query(pairs));
    Probe::new(label, Method::POST, path.to_owned(), expect).form(pairs)
}

fn canary_get(path: &str, pairs: &[(&str, &str)], expect: Expect) -> Probe {
    let mut all = vec![("auth_token", TOKEN)];
    all.extend_from_slice(pairs);
    Probe::new(format!("canary: GET {path} {}", query(pairs)), Method::GET, format!("{path}?{}", query(&all)), expect)
}

fn source(label: &str, body: Value, expect: Expect) -> Probe {
    Probe::new(format!("sources: {label}"), Method::POST, "/api/v1/sources", expect)
        .header("x-canary-auth-token", TOKEN)
        .json(body.to_string())
}

/// Every hostile request, in the order they are sent.
fn matrix() -> Vec<Probe> {
    let mut probes = Vec::new();
    let long_id = incompressible(3000);

    // ── POST /api/v1/alerts, our own form ───────────────────────────────────
    probes.push(alerts("a valid alert", own_alert_with("id", json!("fine-1")).to_string(), Expect::Status(202)));
    for field in [
        "id",
        "flock_id",
        "kind",
        "severity",
        "title",
        "description",
        "timestamp",
        "source.ip",
        "source.name",
        "target.name",
        "target.ip",
        "target.port",
        "target.id",
        "details.rule",
        "vendor_extra",
    ] {
        let body = own_alert_with(field, json!(NUL)).to_string();
        probes.push(alerts(&format!("NUL in {field}"), body, refused(&[&format!("`{field}`"), "NUL"])));
    }
    let mut key_with_nul = own_alert_with("id", json!("k-1"));
    key_with_nul["details"] = json!({ "a\u{0}b": 1 });
    probes.push(alerts("NUL in a details key", key_with_nul.to_string(), refused(&["`details.", "NUL"])));
    probes.push(alerts(
        "NUL deep in details",
        own_alert_with("details.deep", json!({"list": [1, {"x": NUL}]})).to_string(),
        refused(&["`details.deep.list[1].x`", "NUL"]),
    ));
    probes.push(alerts(
        "NUL in the second alert of an array",
        json!([own_alert_with("id", json!("arr-1")), own_alert_with("title", json!(NUL))]).to_string(),
        refused(&["alert 2: field `title` is invalid: must not contain NUL characters (U+0000)"]),
    ));
    probes.push(alerts(
        "an id of 3000 characters",
        own_alert_with("id", json!(long_id)).to_string(),
        refused(&["`id`", "at most 256 characters"]),
    ));
    probes.push(alerts(
        "an id of 257 characters",
        own_alert_with("id", json!("i".repeat(257))).to_string(),
        refused(&["field `id` is invalid: must be at most 256 characters"]),
    ));
    probes.push(alerts(
        "an id of 256 characters",
        own_alert_with("id", json!("i".repeat(256))).to_string(),
        Expect::Status(202),
    ));
    probes.push(alerts(
        "a numeric id of 300 digits",
        own_alert_with("id", serde_json::from_str::<Value>(&"9".repeat(300)).unwrap_or(json!(0))).to_string(),
        Expect::Below500,
    ));
    probes.push(alerts(
        "a kind of 3000 characters",
        own_alert_with("kind", json!(long_id)).to_string(),
        refused(&["`kind`", "at most 256"]),
    ));
    probes.push(alerts(
        "a flock id of 3000 characters",
        own_alert_with("flock_id", json!(format!("flock:{long_id}"))).to_string(),
        refused(&["`flock_id`", "at most 128"]),
    ));
    probes.push(alerts(
        "a title of 5000 characters",
        own_alert_with("title", json!("t".repeat(5000))).to_string(),
        refused(&["`title`", "at most 4096"]),
    ));
    probes.push(alerts(
        "a source name of 2000 characters",
        own_alert_with("source.name", json!("n".repeat(2000))).to_string(),
        refused(&["`source.name`", "at most 1024"]),
    ));
    probes.push(alerts(
        "details nested 40 deep",
        own_alert_with("details.deep", nested(40)).to_string(),
        refused(&["field `details` is invalid: nests deeper than 32 levels"]),
    ));
    probes.push(alerts(
        "details nested 200 deep",
        own_alert_with("details.deep", nested(200)).to_string(),
        refused(&[]),
    ));
    probes.push(alerts(
        "details nested 28 deep",
        own_alert_with("details.deep", nested(28)).to_string(),
        Expect::Status(202),
    ));
    probes.push(alerts(
        "a text port",
        own_alert_with("target.port", json!("abc")).to_string(),
        refused(&["target.port"]),
    ));
    probes.push(alerts(
        "a port past u16",
        own_alert_with("target.port", json!(18446744073709551615_u64)).to_string(),
        refused(&["target.port"]),
    ));
    probes.push(alerts(
        "a timestamp past year 9999",
        own_alert_with("timestamp", json!(1e300)).to_string(),
        refused(&["timestamp"]),
    ));
    probes.push(alerts(
        "invalid UTF-8",
        b"{\"kind\": \"k\xff\xfe\", \"title\": \"t\"}".to_vec(),
        refused(&["not valid JSON"]),
    ));
    probes.push(alerts(
        "a lone surrogate",
        br#"{"kind": "k", "title": "\ud800"}"#.to_vec(),
        refused(&["not valid JSON"]),
    ));
    probes.push(alerts(
        "a lone low surrogate",
        br#"{"kind": "\udc00x", "title": "t"}"#.to_vec(),
        refused(&["not valid JSON"]),
    ));
    probes.push(alerts("a JSON string body", b"\"just text\"".to_vec(), refused(&[])));
    probes.push(alerts("an empty array", b"[]".to_vec(), refused(&[])));
    probes.push(
        alerts(
            "an Idempotency-Key of 300 characters",
            own_alert_with("id", json!("key-1")).to_string(),
            refused(&["Idempotency-Key"]),
        )
        .header("idempotency-key", "k".repeat(300)),
    );
    probes.push(
        alerts(
            "a non-ASCII Idempotency-Key",
            own_alert_with("id", json!("key-2")).to_string(),
            refused(&["Idempotency-Key"]),
        )
        .header("idempotency-key", b"k\xe9y".to_vec()),
    );
    probes.push(
        alerts(
            "an Idempotency-Key of 255 characters",
            own_alert_with("id", json!("key-3")).to_string(),
            Expect::Status(202),
        )
        .header("idempotency-key", "k".repeat(255)),
    );

    // ── POST /api/v1/alerts, the Canary incident form ───────────────────────
    for field in [
        "Description",
        "Intro",
        "IncidentHash",
        "Timestamp",
        "SourceIP",
        "ReverseDNS",
        "CanaryName",
        "CanaryIP",
        "CanaryPort",
        "CanaryID",
        "flock_id",
        "AlertType",
        "Memo",
        "CanaryLocation",
    ] {
        let body = canary_alert_with(field, json!(NUL)).to_string();
        probes.push(alerts(&format!("Canary: NUL in {field}"), body, refused(&[&format!("`{field}`"), "NUL"])));
    }
    probes.push(alerts(
        "Canary: NUL in AdditionalDetails",
        canary_alert_with("AdditionalDetails", json!([["Ports", NUL]])).to_string(),
        refused(&["`AdditionalDetails[0][1]`", "NUL"]),
    ));
    probes.push(alerts(
        "Canary: an IncidentHash of 3000 characters",
        canary_alert_with("IncidentHash", json!(long_id)).to_string(),
        refused(&["`IncidentHash`", "at most 256"]),
    ));
    probes.push(alerts(
        "Canary: a text CanaryPort",
        canary_alert_with("CanaryPort", json!("http")).to_string(),
        refused(&["CanaryPort"]),
    ));

    // ── POST /hooks/<source> ───────────────────────────────────────────────
    for field in ["Description", "IncidentHash", "SourceIP", "CanaryName", "Intro"] {
        let body = canary_alert_with(field, json!(NUL)).to_string();
        probes.push(hook("lab", &format!("NUL in {field}"), body, refused(&[&format!("`{field}`"), "NUL"])));
    }
    probes.push(hook(
        "lab",
        "an IncidentHash of 3000 characters",
        canary_alert_with("IncidentHash", json!(long_id)).to_string(),
        refused(&["`IncidentHash`", "at most 256"]),
    ));
    probes.push(hook(
        "lab",
        "a valid incident",
        canary_alert_with("IncidentHash", json!("ok-1")).to_string(),
        Expect::Status(202),
    ));
    let flock_event = |name: &str, entity_id: &str| {
        json!({"name": name, "entity": "invitee", "entityId": entity_id, "data": {"x": 1}, "timestamp": 1_700_000_000})
            .to_string()
    };
    // The template puts the name in the id too: the first field checked is named.
    probes.push(hook("flockish", "NUL in the event name", flock_event(NUL, "c1"), refused(&["`id`", "NUL"])));
    probes.push(hook("flockish", "an entity id of 3000 characters", flock_event("e", &long_id), refused(&["at most"])));
    probes.push(hook(
        "flockish",
        "NUL deep in data",
        json!({"name": "e", "data": {"x": [NUL]}, "timestamp": 1}).to_string(),
        refused(&["NUL"]),
    ));
    probes.push(hook("lab", "invalid UTF-8", b"{\"Description\": \"\xff\"}".to_vec(), refused(&["not valid JSON"])));
    probes.push(hook(
        "lab",
        "a lone surrogate",
        br#"{"Description": "\ud800"}"#.to_vec(),
        refused(&["not valid JSON"]),
    ));
    probes.push(hook("%00", "a NUL source id", b"{}".to_vec(), Expect::Status(401)));
    probes.push(hook(&"s".repeat(3000), "a source id of 3000 characters", b"{}".to_vec(), Expect::Status(401)));

    // ── operator API: query and path parameters ─────────────────────────────
    for name in ["alert", "destination", "flock", "status", "since", "until", "limit"] {
        let target = format!("/api/v1/messages?{}", query(&[(name, NUL)]));
        let expect = match name {
            "alert" | "destination" | "flock" => format!("invalid {name}: must not contain NUL characters (U+0000)"),
            _ => name.to_owned(),
        };
        probes.push(operator(Method::GET, &target, refused(&[&expect])));
    }
    for (name, value) in [
        ("alert", long_id.as_str()),
        ("destination", long_id.as_str()),
        ("flock", long_id.as_str()),
        ("limit", "99999999999"),
        ("limit", "-1"),
        ("limit", "abc"),
        ("limit", "1e3"),
        ("since", "99999999999999999999"),
        ("since", "-9223372036854775808"),
        ("until", "1e400"),
    ] {
        let target = format!("/api/v1/messages?{}", query(&[(name, value)]));
        probes.push(operator(Method::GET, &target, refused(&[name])));
    }
    probes.push(operator(
        Method::GET,
        "/api/v1/messages?limit=abc",
        refused(&["Failed to deserialize query string: limit: invalid digit found in string"]),
    ));
    probes.push(operator(Method::GET, "/api/v1/messages?limit=0", Expect::Status(200)));
    probes.push(operator(Method::GET, "/api/v1/messages?limit=4294967295", Expect::Status(200)));
    probes.push(operator(Method::GET, "/api/v1/messages?alert=%FF%FE", Expect::Below500));
    probes.push(operator(Method::GET, "/api/v1/messages/%00", refused(&["id", "NUL"])));
    probes.push(operator(Method::GET, &format!("/api/v1/messages/{long_id}"), refused(&["id", "at most 400"])));
    probes.push(operator(Method::GET, "/api/v1/messages/msg_nonexistent", Expect::Status(404)));
    probes.push(operator(Method::GET, "/api/v1/messages/%FF", Expect::Below500));
    probes.push(operator(Method::POST, "/api/v1/messages/%00/replay", refused(&["id", "NUL"])));
    probes.push(operator(Method::POST, &format!("/api/v1/messages/{long_id}/replay"), refused(&["id", "at most 400"])));
    probes.push(operator(Method::POST, "/api/v1/destinations/%00/recover?since=0", refused(&["id", "NUL"])));
    probes.push(operator(Method::POST, "/api/v1/destinations/sink/recover?since=%00", refused(&["since"])));
    probes.push(operator(Method::POST, "/api/v1/destinations/sink/recover?since=0&until=%00", refused(&["until"])));
    probes.push(operator(Method::DELETE, "/api/v1/sources/%00", refused(&["id", "NUL"])));
    probes.push(operator(Method::DELETE, &format!("/api/v1/sources/{long_id}"), refused(&["id", "at most 400"])));

    // ── the Canary management API ────────────────────────────────────────────
    probes.push(canary(
        "/api/v1/flock/create",
        &[("name", NUL)],
        refused(&["invalid name: must not contain NUL characters (U+0000)"]),
    ));
    probes.push(canary("/api/v1/flock/create", &[("name", &long_id)], refused(&["name"])));
    probes.push(canary("/api/v1/flock/rename", &[("flock_id", NUL), ("name", "x")], refused(&["flock_id", "NUL"])));
    probes.push(canary(
        "/api/v1/flock/rename",
        &[("flock_id", &long_id), ("name", "x")],
        refused(&["invalid flock_id: must be at most 128 characters"]),
    ));
    probes.push(canary("/api/v1/flock/rename", &[("flock_id", "flock:soc"), ("name", NUL)], refused(&["name", "NUL"])));
    probes.push(canary("/api/v1/flock/delete", &[("flock_id", NUL)], refused(&["flock_id", "NUL"])));
    probes.push(canary("/api/v1/flock/create", &[("name", "ok"), ("extra\u{0}", "1")], refused(&["NUL"])));
    probes.push(canary("/api/v1/flock/create", &[("name", "ok"), ("auth_token", NUL)], Expect::Below500));
    for tail in ["enable", "disable", "use_global"] {
        probes.push(canary(&format!("{SETTINGS}/{tail}"), &[("flock_id", NUL)], refused(&["flock_id", "NUL"])));
        probes.push(canary(&format!("{SETTINGS}/{tail}"), &[("flock_id", &long_id)], refused(&["flock_id"])));
    }
    for tail in ["is_enabled", "is_global", "generic", "generic/list", "ms_teams", "slack", "splunk"] {
        probes.push(canary_get(&format!("{SETTINGS}/{tail}"), &[("flock_id", NUL)], refused(&["flock_id", "NUL"])));
    }
    let generic = format!("{SETTINGS}/generic/add");
    let url = "https://hooks.example.com/x";
    probes.push(canary(&generic, &[("flock_id", "flock:soc"), ("url", "https://a\u{0}b.example/")], refused(&["url"])));
    probes.push(canary(
        &generic,
        &[("flock_id", "flock:soc"), ("url", url), ("headers", r#"{"X-A": "a\u0000b"}"#)],
        refused(&["headers"]),
    ));
    probes.push(canary(
        &generic,
        &[("flock_id", "flock:soc"), ("url", url), ("headers", r#"{"X-\u0000": "v"}"#)],
        refused(&["headers"]),
    ));
    let long_url = format!("https://hooks.example.com/{}", incompressible(3000));
    probes.push(canary(&generic, &[("flock_id", "flock:soc"), ("url", &long_url)], refused(&["url", "at most 2048"])));
    let long_header = json!({"X-A": incompressible(5000)}).to_string();
    probes.push(canary(
        &generic,
        &[("flock_id", "flock:soc"), ("url", url), ("headers", &long_header)],
        refused(&["headers", "longer than 4096"]),
    ));
    for (auth, field) in
        [("basic", "username"), ("basic", "password"), ("bearer", "token"), ("client_secret", "client_secret")]
    {
        let mut pairs = vec![("flock_id", "flock:soc"), ("url", url), ("auth_type", auth), (field, NUL)];
        for other in ["username", "password"] {
            if auth == "basic" && other != field {
                pairs.push((other, "fine"));
            }
        }
        probes.push(canary(&generic, &pairs, refused(&[field, "NUL"])));
    }
    probes.push(canary(
        &format!("{SETTINGS}/generic/remove"),
        &[("flock_id", "flock:soc"), ("url", NUL)],
        refused(&["url", "NUL"]),
    ));
    probes.push(canary(
        &format!("{SETTINGS}/generic/test"),
        &[("flock_id", "flock:soc"), ("url", NUL)],
        refused(&["url", "NUL"]),
    ));
    let slack = format!("{SETTINGS}/slack/add");
    let slack_url = "https://hooks.slack.com/services/T0/B0/x";
    for field in ["team", "channel", "configuration_url"] {
        probes.push(canary(
            &slack,
            &[("flock_id", "flock:soc"), ("url", slack_url), (field, NUL)],
            refused(&[field, "NUL"]),
        ));
    }
    probes.push(canary(
        &format!("{SETTINGS}/slack/remove"),
        &[("flock_id", "flock:soc"), ("team", NUL), ("channel", "c")],
        refused(&["team", "NUL"]),
    ));
    let splunk = format!("{SETTINGS}/splunk/add");
    let base =
        [("flock_id", "flock:soc"), ("host", "splunk.example.com"), ("port", "8088"), ("token", "0000-token-0000")];
    for field in ["host", "port", "token", "index", "https"] {
        let mut pairs: Vec<(&str, &str)> = base.iter().copied().filter(|(name, _)| *name != field).collect();
        pairs.push((field, NUL));
        probes.push(canary(&splunk, &pairs, refused(&[field, "NUL"])));
    }
    for port in ["99999999999999999999", "-1", "abc", "0"] {
        let mut pairs: Vec<(&str, &str)> = base.iter().copied().filter(|(name, _)| *name != "port").collect();
        pairs.push(("port", port));
        probes.push(canary(&splunk, &pairs, refused(&["port"])));
    }
    probes.push(canary(
        &format!("{SETTINGS}/ms_teams/add"),
        &[("flock_id", "flock:soc"), ("url", url), ("format", NUL)],
        refused(&["format", "NUL"]),
    ));
    probes.push(
        Probe::new(
            "canary: a JSON body with a lone surrogate",
            Method::POST,
            "/api/v1/flock/create",
            refused(&["not valid JSON"]),
        )
        .header("x-canary-auth-token", TOKEN)
        .json(br#"{"name": "\ud800"}"#.to_vec()),
    );
    probes.push(
        Probe::new("canary: a JSON body with NUL", Method::POST, "/api/v1/flock/create", refused(&["name", "NUL"]))
            .header("x-canary-auth-token", TOKEN)
            .json(br#"{"name": "a\u0000b"}"#.to_vec()),
    );
    probes.push(
        Probe::new("canary: a form body of invalid UTF-8", Method::POST, "/api/v1/flock/create", Expect::Below500)
            .header("x-canary-auth-token", TOKEN)
            .json(Vec::new()),
    );
    if let Some(last) = probes.last_mut() {
        last.body = Some(("application/x-www-form-urlencoded", b"name=%FF%FE\xff".to_vec()));
    }

    // ── the sources API ──────────────────────────────────────────────────────
    let base = json!({"id": "newsrc", "flock": "flock:soc", "scheme": "none"});
    for field in ["id", "flock", "template"] {
        let mut body = base.clone();
        body[field] = json!(NUL);
        let expect = format!("{field}: must not contain NUL characters (U+0000)");
        probes.push(source(&format!("NUL in {field}"), body, refused(&[&expect])));
    }
    for (scheme, field, value) in [
        ("basic", "username", json!(NUL)),
        ("basic", "password", json!(NUL)),
        ("bearer", "token", json!(NUL)),
        ("client_secret", "secret", json!(NUL)),
        ("client_secret", "field", json!(NUL)),
        ("client_secret", "header", json!(NUL)),
        ("standard_webhooks", "secrets", json!([NUL])),
        ("flock_hmac", "secret", json!(NUL)),
    ] {
        let mut body = json!({"id": format!("src-{scheme}"), "flock": "flock:soc", "scheme": scheme});
        body[field] = value;
        probes.push(source(&format!("{scheme}: NUL in {field}"), body, refused(&[field, "NUL"])));
    }
    let mut body = base.clone();
    body["id"] = json!(long_id);
    probes.push(source("an id of 3000 characters", body, refused(&["id"])));
    let mut body = base.clone();
    body["flock"] = json!(long_id);
    probes.push(source("a flock of 3000 characters", body, refused(&["flock"])));
    probes.push(
        Probe::new("sources: invalid UTF-8", Method::POST, "/api/v1/sources", refused(&["not valid JSON"]))
            .header("x-canary-auth-token", TOKEN)
            .json(b"{\"id\": \"\xff\"}".to_vec()),
    );
    probes
}

/// Sends every probe; returns `(status, message)` for each.
async fn run(relay: &Relay, probes: &[Probe]) -> Vec<(u16, String)> {
    let mut answers = Vec::with_capacity(probes.len());
    for probe in probes {
        let url = format!("{}{}", relay.base, probe.target);
        let mut request = relay.client.request(probe.method.clone(), url);
        for (name, value) in &probe.headers {
            let value = reqwest::header::HeaderValue::from_bytes(value).expect("a header value the test can send");
            request = request.header(*name, value);
        }
        if let Some((content_type, body)) = &probe.body {
            request = request.header("content-type", *content_type).body(body.clone());
        }
        let response = request.send().await.unwrap_or_else(|error| panic!("{}: no answer: {error}", probe.label));
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap_or_default();
        let message = match serde_json::from_slice::<Value>(&bytes) {
            Ok(body) => body["message"].as_str().map(str::to_owned).unwrap_or_else(|| body.to_string()),
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        answers.push((status, message));
    }
    answers
}

/// A relay on `store_url` (SQLite when `None`) with a flock, a destination, and
/// two unverified sources (one for each alert form).
async fn relay(receiver: &Receiver, store_url: Option<String>) -> Relay {
    let extra = format!(
        r#"
[flocks."flock:soc"]
name = "SOC"
use_global = false
enabled = true

[destinations.sink]
flock = "flock:soc"
[destinations.sink.generic]
url = "{url}"

[sources.lab]
flock = "flock:soc"
scheme = "none"

[sources.flockish]
flock = "flock:soc"
scheme = "none"
template = "flock_event"
"#,
        url = receiver.url("/sink")
    );
    Relay::with(Setup { delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(), extra, store_url, ..Setup::default() })
        .await
}

/// Checks one engine's answers against the expectations; returns the failures.
fn failures(engine: &str, probes: &[Probe], answers: &[(u16, String)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (probe, (status, message)) in probes.iter().zip(answers) {
        let fine = match &probe.expect {
            _ if *status >= 500 => false,
            Expect::Refused(needles) => {
                (400..500).contains(status) && needles.iter().all(|needle| message.contains(needle.as_str()))
            }
            Expect::Status(expected) => status == expected,
            Expect::Below500 => true,
        };
        if !fine {
            let shown: String = message.chars().take(200).collect();
            let label: String = probe.label.chars().take(120).collect();
            failures.push(format!("{engine}: {label} → {status} {shown:?} (expected {:?})", probe.expect));
        }
    }
    failures
}

#[tokio::test]
async fn both_engines_answer_the_hostile_matrix_with_the_same_4xx_and_never_a_5xx() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let probes = matrix();
    let sqlite = relay(&receiver, None).await;
    let on_sqlite = run(&sqlite, &probes).await;
    let mut problems = failures("sqlite", &probes, &on_sqlite);
    if let Some(url) = postgres_url("hostile::both_engines_answer_the_hostile_matrix").await {
        let postgres = relay(&receiver, Some(url)).await;
        let on_postgres = run(&postgres, &probes).await;
        problems.extend(failures("postgres", &probes, &on_postgres));
        for ((probe, (lite, _)), (pg, message)) in probes.iter().zip(&on_sqlite).zip(&on_postgres) {
            if lite != pg {
                let shown: String = message.chars().take(200).collect();
                let label: String = probe.label.chars().take(120).collect();
                problems.push(format!("engines differ: {label} → sqlite {lite}, postgres {pg} {shown:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// The config file cannot declare a flock that alerts could never name.
#[test]
fn a_flock_id_past_the_limit_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("flockrelay.toml");
    let id = format!("flock:{}", "x".repeat(200));
    std::fs::write(&path, format!("[flocks.\"{id}\"]\nname = \"Long\"\n")).expect("writes");
    let error = flockrelay::config::load(Some(&path)).expect_err("refused").to_string();
    assert!(error.contains(&format!("flocks.\"{id}\": a flock id must be at most 128 characters")), "{error}");
}
