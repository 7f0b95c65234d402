//! The relay in process: ingest, delivery, retries, the breaker, replay and
//! recover, destination state, graceful shutdown — against scripted loopback
//! receivers and a real SQLite store.

use std::time::Duration;

use chrono::DateTime;
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay, TOKEN};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One generic destination `hook` on `receiver`, signed with Standard Webhooks
/// so every request carries its message id as `webhook-id`.
fn hook(receiver: &Receiver) -> String {
    format!(
        r#"
[destinations.hook.generic]
url = "{}"
signing = {{ scheme = "standard_webhooks", secrets = ["{SECRET}"] }}
"#,
        receiver.url("/hook")
    )
}

/// As [`hook`], with answers that fail a message at once (Standard Webhooks
/// receivers get every other non-2xx answer retried).
fn hook_failing_on(receiver: &Receiver, permanent_statuses: &str) -> String {
    format!("{}permanent_statuses = {permanent_statuses}\n", hook(receiver))
}

/// A short schedule so retries happen within a test; a timeout and a lease of
/// minutes, so that a loaded machine never turns a slow loopback answer into a
/// retry or a second claim.
const FAST: &str = r#"retry_schedule = ["0s", "200ms", "400ms"]
jitter = 0.0
timeout = "30s"
lease = "120s"
poll_interval = "50ms"
"#;

fn alert(title: &str) -> Value {
    json!({"kind": "canary.incident", "title": title, "description": "Port scan <from> \"10.0.0.9\""})
}

async fn wait_for_requests(receiver: &Receiver, count: usize) {
    eventually(Duration::from_secs(120), &format!("{count} requests arrived"), || async {
        receiver.requests().len() >= count
    })
    .await;
}

async fn wait_for_status(relay: &Relay, alert_id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let shown = relay.message_of(alert_id).await;
        if shown["message"]["status"] == status {
            return shown;
        }
        assert!(tokio::time::Instant::now() < deadline, "the message of {alert_id} never became {status}: {shown}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn attempt_times(shown: &Value) -> Vec<DateTime<chrono::Utc>> {
    shown["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|attempt| attempt["started_at"].as_str().expect("time").parse().expect("RFC 3339"))
        .collect()
}

fn attempt_statuses(shown: &Value) -> Vec<Value> {
    shown["attempts"]
        .as_array()
        .map(|attempts| attempts.iter().map(|a| a["http_status"].clone()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_acknowledged_alert_is_delivered_and_its_attempt_logged() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    let stored = relay.ingest(&alert("First")).await;
    assert_eq!((stored[0]["messages"].as_u64(), stored[0]["duplicate"].as_bool()), (Some(1), Some(false)));
    let alert_id = stored[0]["alert_id"].as_str().expect("alert id");

    let shown = wait_for_status(&relay, alert_id, "delivered").await;
    let request = receiver.single();
    let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(body["data"]["title"], "First", "the Standard Webhooks envelope carries the alert");
    assert_eq!(request.header("webhook-id"), shown["message"]["id"].as_str(), "the message id is the webhook-id");
    assert_eq!(attempt_statuses(&shown), [json!(200)]);
    assert_eq!(shown["attempts"][0]["detail"], "ok");

    let metrics = relay.client.get(relay.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(
        metrics.contains(r#"flockrelay_messages_delivered_total{destination="hook",kind="generic"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("flockrelay_delivery_latency_seconds_count"), "{metrics}");
    relay.stop().await;
}

#[tokio::test]
async fn an_array_of_canary_incidents_is_enqueued_in_one_go() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let flock = "[flocks.\"flock:datacenter\"]\nname = \"Datacenter\"\n";
    let relay = Relay::configured(FAST, &format!("{}{flock}", hook(&receiver))).await;
    let incident =
        std::fs::read_to_string(crate::support::root().join("tests/fixtures/canary-incident.json")).expect("fixture");
    let incident: Value = serde_json::from_str(&incident).expect("fixture is JSON");
    let mut second = incident.clone();
    second["IncidentHash"] = json!("another-incident-hash");
    let stored = relay.ingest(&json!([incident, second, alert("Ours")])).await;
    assert_eq!(stored.len(), 3);
    wait_for_requests(&receiver, 3).await;
}

#[tokio::test]
async fn bad_requests_get_a_4xx_naming_the_problem_and_store_nothing() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    let cases: [(&str, u16, &str); 7] = [
        ("{not json", 400, "not valid JSON"),
        (r#"{"title": "no kind"}"#, 400, "kind"),
        // Alerts in an array are counted from 1; README quotes two of these messages.
        (r#"[{"kind": "a", "title": "ok"}, {"kind": "b"}]"#, 400, "alert 2: missing required field `title`"),
        (r#"[{"title": "no kind"}]"#, 400, "alert 1: missing required field `kind`"),
        (r#"{"kind": "a", "title": "t", "flock_id": "flock:x"}"#, 400, "alert 1: unknown flock \"flock:x\""),
        ("[]", 400, "no alert"),
        ("42", 400, "alert object"),
    ];
    for (body, status, needle) in cases {
        let (got, answer) = relay.post_raw("/api/v1/alerts", body).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["result"], "error");
        assert!(answer["message"].as_str().is_some_and(|message| message.contains(needle)), "{body}: {answer}");
    }
    let (status, answer) = relay.post_raw("/api/v1/alerts", vec![b' '; 70_000]).await;
    assert_eq!(status, 413, "{answer}");

    let anonymous = relay.client.post(relay.url("/api/v1/alerts")).body("{}").send().await.expect("answers");
    assert_eq!(anonymous.status(), 401);
    let wrong = relay
        .client
        .post(relay.url(&format!("/api/v1/alerts?auth_token=not-{TOKEN}")))
        .body("{}")
        .send()
        .await
        .expect("answers");
    assert_eq!(wrong.status(), 403);
    let (_, listed) = relay.get("/api/v1/messages", &[]).await;
    assert_eq!(listed["messages"], json!([]), "nothing half-written");
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_repeated_alert_id_or_idempotency_key_is_not_enqueued_twice() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    let with_id = json!({"id": "alert-42", "kind": "k", "title": "t"});
    relay.ingest(&with_id).await;
    let again = relay.ingest(&with_id).await;
    assert_eq!(again[0]["duplicate"], true);

    let post_keyed = |title: &'static str| {
        relay
            .client
            .post(relay.url("/api/v1/alerts"))
            .header("X-Canary-Auth-Token", TOKEN)
            .header("Idempotency-Key", "key-1")
            .body(alert(title).to_string())
            .send()
    };
    let read = |response: reqwest::Response| async move {
        serde_json::from_str::<Value>(&response.text().await.expect("answer")).expect("JSON")
    };
    let first = read(post_keyed("keyed").await.expect("answers")).await;
    let second = read(post_keyed("keyed again").await.expect("answers")).await;
    assert_eq!(second["alerts"][0]["duplicate"], true);
    assert_eq!(second["alerts"][0]["alert_id"], first["alerts"][0]["alert_id"]);
    wait_for_requests(&receiver, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.requests().len(), 2, "one delivery per distinct alert");
}

#[tokio::test]
async fn server_errors_are_retried_on_the_schedule_until_delivered() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    receiver.script([Reply::new(500, "boom"), Reply::new(503, "busy")]);
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    let alert_id = relay.ingest(&alert("retry me")).await[0]["alert_id"].as_str().expect("id").to_owned();
    let shown = wait_for_status(&relay, &alert_id, "delivered").await;
    assert_eq!(attempt_statuses(&shown), [json!(500), json!(503), json!(200)]);
    let started = attempt_times(&shown);
    // Lower bounds only: the schedule's waits (200 ms, then 400 ms) were respected.
    assert!((started[1] - started[0]).num_milliseconds() >= 200, "{started:?}");
    assert!((started[2] - started[1]).num_milliseconds() >= 400, "{started:?}");
    let ids: Vec<_> =
        receiver.requests().iter().map(|request| request.header("webhook-id").map(str::to_owned)).collect();
    assert!(ids.windows(2).all(|pair| pair[0] == pair[1]), "the same webhook-id on every attempt: {ids:?}");
    let stamps: Vec<_> =
        receiver.requests().iter().map(|request| request.header("webhook-timestamp").map(str::to_owned)).collect();
    assert!(stamps.iter().all(Option::is_some));
}

#[tokio::test]
async fn retry_after_is_honoured_when_longer_than_the_schedule() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    receiver.script([Reply::new(429, "slow down").header("retry-after", "1")]);
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    let alert_id = relay.ingest(&alert("throttled")).await[0]["alert_id"].as_str().expect("id").to_owned();
    let shown = wait_for_status(&relay, &alert_id, "delivered").await;
    let times = attempt_times(&shown);
    assert_eq!(times.len(), 2);
    assert!((times[1] - times[0]).num_milliseconds() >= 1_000, "waited for Retry-After: {times:?}");
}

#[tokio::test]
async fn a_permanent_error_fails_at_once_and_a_spent_schedule_fails_too() {
    let receiver = Receiver::start(Reply::new(404, "no such hook")).await;
    let relay = Relay::configured(FAST, &hook_failing_on(&receiver, "[404]")).await;
    let alert_id = relay.ingest(&alert("gone")).await[0]["alert_id"].as_str().expect("id").to_owned();
    let shown = wait_for_status(&relay, &alert_id, "failed").await;
    assert_eq!(attempt_statuses(&shown), [json!(404)]);
    assert!(shown["message"]["last_error"].as_str().is_some_and(|error| error.contains("no such hook")), "{shown}");

    let broken = Receiver::start(Reply::new(500, "down")).await;
    let relay = Relay::configured(FAST, &hook(&broken)).await;
    let alert_id = relay.ingest(&alert("never")).await[0]["alert_id"].as_str().expect("id").to_owned();
    let shown = wait_for_status(&relay, &alert_id, "failed").await;
    assert_eq!(attempt_statuses(&shown).len(), 3, "three attempts on a three-entry schedule: {shown}");
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_retried_then_fail() {
    let slow = Receiver::start(Reply::new(200, "ok")).await;
    // Ten minutes late against a 20 s timeout: only the timeout can end the first attempt.
    slow.script([Reply::new(200, "late").delayed(Duration::from_secs(600))]);
    let relay = Relay::configured(&FAST.replace("timeout = \"30s\"", "timeout = \"20s\""), &hook(&slow)).await;
    let alert_id = relay.ingest(&alert("slow")).await[0]["alert_id"].as_str().expect("id").to_owned();
    let shown = wait_for_status(&relay, &alert_id, "delivered").await;
    assert_eq!(attempt_statuses(&shown), [Value::Null, json!(200)]);
    assert!(shown["attempts"][0]["detail"].as_str().is_some_and(|detail| detail.contains("timed out")), "{shown}");

    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address");
    let config = format!("[destinations.hook.generic]\nurl = \"http://{closed}/hook\"\n");
    let relay = Relay::configured(FAST, &config).await;
    let alert_id = relay.ingest(&alert("refused")).await[0]["alert_id"].as_str().expect("id").to_owned();
    let shown = wait_for_status(&relay, &alert_id, "failed").await;
    assert_eq!(attempt_statuses(&shown), [Value::Null, Value::Null, Value::Null]);
}

#[tokio::test]
async fn the_circuit_breaker_pauses_a_failing_destination_and_closes_after_a_good_trial() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    receiver.script((0..3).map(|_| Reply::new(500, "down")));
    let delivery = r#"retry_schedule = ["0s", "50ms", "50ms", "50ms", "50ms", "50ms"]
jitter = 0.0
timeout = "30s"
lease = "120s"
poll_interval = "50ms"
breaker_threshold = 3
breaker_cooldown = "5s"
"#;
    let relay = Relay::configured(delivery, &hook(&receiver)).await;
    let alert_id = relay.ingest(&alert("breaker")).await[0]["alert_id"].as_str().expect("id").to_owned();
    eventually(Duration::from_secs(120), "the breaker is seen open, in the API and the metrics", || async {
        let (_, listed) = relay.get("/api/v1/destinations", &[]).await;
        let metrics =
            relay.client.get(relay.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
        listed["destinations"][0]["breaker"]["state"] == "open"
            && metrics.contains(r#"flockrelay_breaker_open{destination="hook"} 1"#)
    })
    .await;

    let shown = wait_for_status(&relay, &alert_id, "delivered").await;
    let times = attempt_times(&shown);
    // No request while paused: the fourth attempt (the trial) came a cool-down after the third.
    assert_eq!(times.len(), 4, "{shown}");
    assert!((times[3] - times[2]).num_milliseconds() >= 4_900, "the trial waited for the cool-down: {times:?}");
    let (_, listed) = relay.get("/api/v1/destinations", &[]).await;
    assert_eq!(listed["destinations"][0]["breaker"]["state"], "closed");
}

#[tokio::test]
async fn replay_and_recover_redeliver_with_the_same_webhook_id() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    receiver.script([Reply::new(400, "bad"), Reply::new(400, "bad"), Reply::new(400, "bad")]);
    let relay = Relay::configured(FAST, &hook_failing_on(&receiver, "[400]")).await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut alert_ids = Vec::new();
    for title in ["one", "two", "three"] {
        alert_ids.push(relay.ingest(&alert(title)).await[0]["alert_id"].as_str().expect("id").to_owned());
        wait_for_status(&relay, alert_ids.last().expect("pushed"), "failed").await;
    }
    let first_id = relay.message_of(&alert_ids[0]).await["message"]["id"].as_str().expect("id").to_owned();
    let (status, answer) = relay.post_raw(&format!("/api/v1/messages/{first_id}/replay"), "").await;
    assert_eq!(status, 200, "{answer}");
    wait_for_status(&relay, &alert_ids[0], "delivered").await;
    let (status, _) = relay.post_raw(&format!("/api/v1/messages/{first_id}/replay"), "").await;
    assert_eq!(status, 200, "a delivered message may be replayed too");
    wait_for_requests(&receiver, 5).await;
    let (status, answer) = relay.post_raw("/api/v1/messages/msg_unknown/replay", "").await;
    assert_eq!((status, answer["result"].as_str()), (404, Some("error")));

    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (status, answer) = relay.post_raw(&format!("/api/v1/destinations/hook/recover?since={since}"), "").await;
    assert_eq!((status, answer["recovered"].as_u64()), (200, Some(2)), "{answer}");
    for alert_id in &alert_ids[1..] {
        wait_for_status(&relay, alert_id, "delivered").await;
    }
    let requests = receiver.requests();
    for alert_id in &alert_ids {
        let message_id = relay.message_of(alert_id).await["message"]["id"].as_str().expect("id").to_owned();
        let ids: Vec<_> = requests.iter().filter(|r| r.header("webhook-id") == Some(message_id.as_str())).collect();
        assert!(ids.len() >= 2, "{alert_id}: failed once, delivered again under the same webhook-id");
    }
    let (status, answer) = relay.post_raw("/api/v1/destinations/hook/recover?since=yesterday", "").await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().is_some_and(|message| message.contains("since")));
}

#[tokio::test]
async fn a_disabled_destination_keeps_its_queue_and_a_deleted_one_cancels_it() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    let (status, answer) = relay.post_raw("/api/v1/destinations/hook/disable?reason=maintenance", "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["destination"]["state"], "disabled_by_operator");
    assert_eq!(answer["destination"]["state_reason"], "maintenance");
    // Alerts resolved while it is disabled get no message; those queued before wait.
    let waiting = relay.ingest(&alert("queued before")).await;
    assert_eq!(waiting[0]["messages"], 0);

    let (status, answer) = relay.post_raw("/api/v1/destinations/hook/enable", "").await;
    assert_eq!((status, &answer["destination"]["state"]), (200, &json!("enabled")), "{answer}");
    let alert_id = relay.ingest(&alert("while enabled")).await[0]["alert_id"].as_str().expect("id").to_owned();
    wait_for_status(&relay, &alert_id, "delivered").await;

    let blocked = Receiver::start(Reply::new(500, "down")).await;
    let relay = Relay::configured(
        r#"retry_schedule = ["0s", "1h"]
poll_interval = "50ms"
"#,
        &hook(&blocked),
    )
    .await;
    let alert_id = relay.ingest(&alert("pending")).await[0]["alert_id"].as_str().expect("id").to_owned();
    wait_for_requests(&blocked, 1).await;
    let (status, answer) = relay.post_raw("/api/v1/destinations/hook/disable", "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        relay.message_of(&alert_id).await["message"]["status"],
        "pending",
        "a disabled destination's queue waits"
    );
    assert_eq!(relay.delivery.store().delete_destination("hook").await.expect("deletes"), 1);
    relay.delivery.reload().await.expect("reloads");
    assert_eq!(relay.message_of(&alert_id).await["message"]["status"], "cancelled");
}

#[tokio::test]
async fn shutdown_finishes_in_flight_sends_within_the_grace_period() {
    let receiver = Receiver::start(Reply::new(200, "ok").delayed(Duration::from_millis(700))).await;
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    let alert_id = relay.ingest(&alert("in flight")).await[0]["alert_id"].as_str().expect("id").to_owned();
    wait_for_requests(&receiver, 1).await;
    let store = std::sync::Arc::clone(relay.delivery.store());
    relay.stop().await;
    let filter = flockrelay::store::MessageFilter { alert_id: Some(alert_id), limit: 10, ..Default::default() };
    let messages = store.messages(&filter).await.expect("lists");
    assert_eq!(
        messages[0].status,
        flockrelay::store::MessageStatus::Delivered,
        "the in-flight send finished and was recorded"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics_need_no_token() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = Relay::configured(FAST, &hook(&receiver)).await;
    for path in ["/healthz", "/readyz", "/metrics"] {
        let response = relay.client.get(relay.url(path)).send().await.expect("answers");
        assert_eq!(response.status(), 200, "{path}");
    }
    let metrics = relay.client.get(relay.url("/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(!metrics.contains(SECRET) && !metrics.contains(TOKEN));
}

#[tokio::test]
async fn a_rate_limited_destination_is_paced() {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let config = format!(
        "[destinations.hook]\nrate_limit = 10.0\n\n[destinations.hook.generic]\nurl = \"{}\"\n",
        receiver.url("/hook")
    );
    let relay = Relay::configured(FAST, &config).await;
    let alerts: Vec<Value> = (0..20).map(|n| alert(&format!("paced {n}"))).collect();
    relay.ingest(&Value::Array(alerts)).await;
    eventually(Duration::from_secs(120), "all 20 were delivered", || async {
        let (_, listed) = relay.get("/api/v1/messages?status=delivered&limit=100", &[]).await;
        listed["messages"].as_array().is_some_and(|messages| messages.len() == 20)
    })
    .await;
    let (_, listed) = relay.get("/api/v1/messages?status=delivered&limit=100", &[]).await;
    let mut times: Vec<DateTime<chrono::Utc>> = Vec::new();
    for message in listed["messages"].as_array().expect("messages") {
        let (_, shown) = relay.get(&format!("/api/v1/messages/{}", message["id"].as_str().expect("id")), &[]).await;
        times.push(shown["attempts"][0]["started_at"].as_str().expect("time").parse().expect("RFC 3339"));
    }
    times.sort();
    // A burst of one second's worth (10), then one every 100 ms: at least ~1 s in all.
    let spread = (times[19] - times[0]).num_milliseconds();
    assert!(spread >= 900, "20 messages at 10/s took only {spread} ms");
}

#[tokio::test]
async fn splunk_events_due_together_go_out_in_one_request() {
    let hec = Receiver::start(Reply::new(200, r#"{"text":"Success","code":0}"#)).await;
    let config = format!(
        "[destinations.hec.splunk]\nhost = \"127.0.0.1\"\nport = {}\ntoken = \"hec-token-0123456789\"\nhttps = false\n",
        hec.addr.port()
    );
    let relay = Relay::configured(FAST, &config).await;
    // Five alerts committed in one transaction are due together.
    let alerts: Vec<Value> = (0..5).map(|n| alert(&format!("event {n}"))).collect();
    let stored = relay.ingest(&Value::Array(alerts)).await;
    assert!(stored.iter().all(|alert| alert["messages"] == 1));
    eventually(Duration::from_secs(120), "all five events arrived", || async {
        hec.requests().iter().map(|request| crate::support::json_stream(&request.body).len()).sum::<usize>() >= 5
    })
    .await;
    let requests = hec.requests();
    assert_eq!(requests.len(), 1, "one batched request");
    assert_eq!(requests[0].uri.path(), "/services/collector/event");
    assert_eq!(requests[0].header("authorization"), Some("Splunk hec-token-0123456789"));
}

#[tokio::test]
async fn a_transport_error_never_shows_the_url_and_its_secrets() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address");
    let config = format!("[destinations.hook.generic]\nurl = \"http://{closed}/hook?token=query-secret-123\"\n");
    let relay = Relay::configured(r#"retry_schedule = ["0s"]"#, &config).await;
    let alert_id = relay.ingest(&alert("refused")).await[0]["alert_id"].as_str().expect("id").to_owned();
    let shown = wait_for_status(&relay, &alert_id, "failed").await;
    let detail = shown["attempts"][0]["detail"].as_str().expect("detail");
    assert!(detail.contains("connect"), "{detail}");
    assert!(!shown.to_string().contains("query-secret-123"), "{shown}");
}

/// `retry_schedule` as `config/flockrelay.default.toml` explains it: one entry
/// per attempt; the first attempt is made at once (its entry, here an hour, is
/// not waited for), and the second entry is the wait after the first failure.
#[tokio::test]
async fn the_first_attempt_is_immediate_and_the_second_entry_is_the_wait_after_it_failed() {
    let receiver = Receiver::start(Reply::new(500, "down")).await;
    let relay = Relay::configured(
        "retry_schedule = [\"1h\", \"2h\"]\njitter = 0.0\npoll_interval = \"50ms\"\n",
        &hook(&receiver),
    )
    .await;
    let before = chrono::Utc::now();
    let alert_id = relay.ingest(&alert("schedule")).await[0]["alert_id"].as_str().expect("id").to_owned();
    // The message row alone (status, attempts made, next due time) is one
    // consistent snapshot; its attempt list is read separately.
    let mut shown = relay.message_of(&alert_id).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !(shown["message"]["attempts"] == 1 && shown["message"]["status"] == "pending") {
        assert!(tokio::time::Instant::now() < deadline, "the first attempt was not made at once: {shown}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        shown = relay.message_of(&alert_id).await;
    }
    let next: DateTime<chrono::Utc> =
        shown["message"]["next_attempt_at"].as_str().and_then(|at| at.parse().ok()).expect("a due time");
    let wait = next - before;
    assert!(
        wait > chrono::Duration::minutes(110) && wait < chrono::Duration::minutes(130),
        "the second entry (2h) is the wait before the second attempt, not {wait}: {shown}"
    );
}
