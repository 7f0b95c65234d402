//! Alert storms against a real relay and recording receivers: a burst to a
//! grouped Slack destination becomes the first alert and one digest while a
//! SIEM-like destination gets every event; repeats are counted, not sent;
//! silences hold alerts back (stored and shown) until they expire; two relays
//! on one PostgreSQL make one group and one digest. Assertions are on content
//! and counts; waits allow minutes.

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{answer, eventually, Relay, Setup, TOKEN};

const PATIENCE: Duration = Duration::from_secs(300);

fn storm_config(slack: &Receiver, siem: &Receiver, grouping: &str, siem_extra: &str) -> String {
    format!(
        r#"
[destinations.chat.slack]
url = "{slack}"
{grouping}

[destinations.siem.generic]
url = "{siem}"
{siem_extra}
"#,
        slack = slack.url("/services/T0/B0/storm"),
        siem = siem.url("/siem"),
    )
}

fn scan(id: &str, ip: &str) -> Value {
    json!({"id": id, "kind": "canary.incident", "title": "SMB login attempt", "source": {"ip": ip},
           "target": {"name": "fileserver-canary"}, "details": {"user": format!("user-{id}")}})
}

fn burst(prefix: &str, count: usize, ip: &str) -> Value {
    Value::Array((0..count).map(|n| scan(&format!("{prefix}{n}"), ip)).collect())
}

fn body(request: &crate::support::receiver::Recorded) -> Value {
    serde_json::from_slice(&request.body).expect("JSON body")
}

fn is_digest(message: &Value) -> bool {
    message["text"].as_str().is_some_and(|text| text.contains("more alert"))
}

async fn messages(relay: &Relay, params: &[(&str, &str)]) -> Vec<Value> {
    let mut query = vec![("limit", "1000")];
    query.extend_from_slice(params);
    let (status, body) = relay.get("/api/v1/messages", &query).await;
    assert_eq!(status, 200, "{body}");
    body["messages"].as_array().cloned().unwrap_or_default()
}

async fn wait_for_requests(receiver: &Receiver, count: usize, what: &str) {
    eventually(PATIENCE, what, || async { receiver.requests().len() >= count }).await;
}

/// Waits until no group is open any more: the last window closed empty, so no
/// further digest can come.
async fn wait_until_groups_end(relay: &Relay) {
    let far = Utc::now() + chrono::Duration::days(365);
    eventually(PATIENCE, "every alert group ended", || async {
        relay.delivery.store().due_groups(far, 10).await.expect("store answers").is_empty()
    })
    .await;
}

async fn metrics(relay: &Relay) -> String {
    relay.client.get(relay.url("/metrics")).send().await.expect("metrics").text().await.expect("text")
}

#[tokio::test]
async fn a_burst_reaches_slack_as_the_first_alert_and_one_digest_and_the_siem_as_every_event() {
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let siem = Receiver::start(Reply::new(200, "")).await;
    let grouping =
        "[destinations.chat.grouping]\ngroup_by = [\"kind\", \"actor.ip\"]\ngroup_interval = \"2s\"\nmax_listed = 5";
    let relay = Relay::with(Setup { extra: storm_config(&slack, &siem, grouping, ""), ..Setup::default() }).await;

    // One request: every alert is stored in one transaction, whatever the machine's speed.
    let answered = relay.ingest(&burst("scan-", 30, "192.0.2.66")).await;
    assert_eq!(answered.len(), 30);

    wait_for_requests(&slack, 2, "Slack received the first alert and a digest").await;
    wait_for_requests(&siem, 30, "the SIEM received every alert").await;
    wait_until_groups_end(&relay).await;

    let sent: Vec<Value> = slack.requests().iter().map(body).collect();
    assert_eq!(sent.len(), 2, "the first alert and one digest, nothing else: {sent:#?}");
    assert!(!is_digest(&sent[0]) && sent[0]["text"].as_str().is_some_and(|text| text.contains("SMB login attempt")));
    let digest = &sent[1];
    // The window runs from the group's first alert to its flush: 2 s as
    // configured, more when a loaded machine flushes late (the wording for a
    // given window is pinned by storm::digest's unit tests).
    let text = digest["text"].as_str().expect("text");
    let window = text
        .strip_prefix("29 more alerts “SMB login attempt” from 192.0.2.66 on fileserver-canary in the last ")
        .and_then(|rest| rest.strip_suffix(" seconds"))
        .and_then(|seconds| seconds.parse::<u64>().ok());
    assert!(window.is_some_and(|seconds| (2..=600).contains(&seconds)), "{digest:#}");
    let blocks = digest["blocks"].as_array().expect("Block Kit");
    assert!(blocks.len() <= 50);
    let listed =
        blocks.iter().filter_map(|block| block["text"]["text"].as_str()).find(|text| text.contains("… and 24 more"));
    assert!(listed.is_some(), "five listed, the rest counted: {digest:#}");

    let mut siem_ids: Vec<String> =
        siem.requests().iter().map(|request| body(request)["id"].as_str().expect("id").to_owned()).collect();
    siem_ids.sort();
    siem_ids.dedup();
    assert_eq!(siem_ids.len(), 30, "the SIEM got every alert once");

    let grouped = messages(&relay, &[("destination", "chat"), ("status", "grouped")]).await;
    assert_eq!(grouped.len(), 29);
    assert!(grouped
        .iter()
        .all(|message| message["last_error"].as_str().is_some_and(|text| text.starts_with("Carried by digest msg_"))));
    let delivered = messages(&relay, &[("destination", "chat"), ("status", "delivered")]).await;
    assert_eq!(delivered.len(), 2);
    let digest_id =
        grouped[0]["last_error"].as_str().and_then(|text| text.strip_prefix("Carried by digest ")).expect("digest id");
    let (status, detail) = relay.get(&format!("/api/v1/messages/{digest_id}"), &[]).await;
    assert_eq!(status, 200, "{detail}");
    let carried = detail["digest_alerts"].as_array().expect("digest_alerts");
    assert_eq!(carried.len(), 29, "the message log shows which alerts the digest carried");
    assert!(!carried.contains(&json!("api:scan-0")), "the first alert went alone");

    let (_, shown) = relay.get("/api/v1/destinations", &[]).await;
    let shown = shown["destinations"].as_array().cloned().unwrap_or_default();
    let chat = shown.iter().find(|destination| destination["id"] == "chat").expect("chat listed");
    let siem_shown = shown.iter().find(|destination| destination["id"] == "siem").expect("siem listed");
    assert_eq!((&chat["grouping"]["group_by"], &chat["silenceable"]), (&json!(["kind", "actor.ip"]), &json!(true)));
    assert_eq!((&siem_shown["grouping"], &siem_shown["silenceable"]), (&Value::Null, &json!(false)));

    let text = metrics(&relay).await;
    assert!(text.contains("flockrelay_alerts_grouped_total{destination=\"chat\",kind=\"slack\"} 29"), "{text}");
    assert!(text.contains("flockrelay_digests_created_total{destination=\"chat\",kind=\"slack\"} 1"), "{text}");
}

#[tokio::test]
async fn repeats_within_the_dedupe_window_and_repeated_incident_ids_are_counted_not_sent() {
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let siem = Receiver::start(Reply::new(200, "")).await;
    let dedupe = "[destinations.siem.dedupe]\nwindow = \"1h\"";
    let relay = Relay::with(Setup { extra: storm_config(&slack, &siem, "", dedupe), ..Setup::default() }).await;

    let mut alerts = Vec::new();
    for id in ["d1", "d2", "d3"] {
        alerts.push(json!({"id": id, "kind": "canary.incident", "title": "Port scan", "source": {"ip": "192.0.2.9"}}));
    }
    alerts.push(json!({"id": "d4", "kind": "canary.incident", "title": "Port scan", "source": {"ip": "192.0.2.10"}}));
    relay.ingest(&Value::Array(alerts)).await;
    let incident = json!({"IncidentHash": "inc-77", "Description": "Canarytoken opened", "Memo": "payroll.xlsx"});
    assert_eq!(relay.ingest(&incident).await[0]["duplicate"], false);
    assert_eq!(relay.ingest(&incident).await[0]["duplicate"], true);

    wait_for_requests(&siem, 3, "the SIEM received d1, d4 and the incident").await;
    let suppressed = messages(&relay, &[("destination", "siem"), ("status", "suppressed")]).await;
    let mut ids: Vec<&str> = suppressed.iter().filter_map(|message| message["alert_id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["api:d2", "api:d3"]);
    assert!(suppressed.iter().all(|message| message["last_error"]
        .as_str()
        .is_some_and(|text| text.starts_with("Duplicate of alert api:d1 (same fingerprint within 60 minutes)"))));
    // Chat has no dedupe: it got all five.
    wait_for_requests(&slack, 5, "Slack received every alert").await;

    let text = metrics(&relay).await;
    assert!(text.contains("flockrelay_alerts_suppressed_total{destination=\"siem\",kind=\"generic\"} 2"), "{text}");
    assert!(text.contains("flockrelay_alerts_suppressed_total{destination=\"\",kind=\"incident\"} 1"), "{text}");
    let delivered_to_siem = messages(&relay, &[("destination", "siem"), ("status", "delivered")]).await;
    assert_eq!(delivered_to_siem.len(), 3);
}

#[tokio::test]
async fn a_silence_holds_alerts_back_from_chat_but_not_from_the_siem_until_it_expires() {
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let siem = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::with(Setup { extra: storm_config(&slack, &siem, "", ""), ..Setup::default() }).await;

    let (status, refused) = relay
        .post_json(
            &format!("/api/v1/silences?auth_token={TOKEN}"),
            &json!({"matchers": [{"field": "source_ip", "value": "x"}], "reason": "r", "author": "a", "duration": "1h"}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["message"].as_str().is_some_and(|text| text.contains("matchers[0].field")), "{refused}");

    let (status, created) = relay
        .post_json(
            &format!("/api/v1/silences?auth_token={TOKEN}"),
            &json!({"matchers": [{"field": "actor.ip", "op": "matches", "value": "192\\.0\\.2\\.\\d+"}],
                    "reason": "pen test", "author": "ana", "duration": "1h"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["silence"]["id"].as_str().expect("silence id").to_owned();
    assert_eq!(created["silence"]["active"], true);

    relay.ingest(&json!([scan("muted", "192.0.2.66"), scan("heard", "198.51.100.7")])).await;
    wait_for_requests(&siem, 2, "the SIEM (never silenced) received both").await;
    wait_for_requests(&slack, 1, "Slack received the unsilenced alert").await;
    let silenced = messages(&relay, &[("destination", "chat"), ("status", "silenced")]).await;
    assert_eq!(silenced.len(), 1);
    assert_eq!(silenced[0]["alert_id"], "api:muted");
    let reason = silenced[0]["last_error"].as_str().expect("reason");
    assert!(reason.starts_with(&format!("Silenced by {id} (pen test, by ana, until ")), "{reason}");

    let (_, listed) = relay.get("/api/v1/silences", &[]).await;
    assert_eq!(listed["silences"].as_array().map(Vec::len), Some(1), "{listed}");
    let expire = relay.client.delete(relay.url(&format!("/api/v1/silences/{id}"))).header("X-Canary-Auth-Token", TOKEN);
    let (status, expired) = answer(expire).await;
    assert_eq!(status, 200, "{expired}");
    assert_eq!(expired["silence"]["active"], false, "{expired}");
    let (_, listed) = relay.get("/api/v1/silences", &[]).await;
    assert_eq!(listed["silences"].as_array().map(Vec::len), Some(0), "{listed}");
    let (_, all) = relay.get("/api/v1/silences", &[("all", "true")]).await;
    assert_eq!(all["silences"][0]["active"], false, "{all}");

    relay.ingest(&json!([scan("after", "192.0.2.66")])).await;
    wait_for_requests(&slack, 2, "Slack received the alert once the silence expired").await;
    let sent = body(&slack.requests()[1]);
    assert!(sent["blocks"].to_string().contains("api:after"), "{sent}");
    assert_eq!(messages(&relay, &[("destination", "chat"), ("status", "silenced")]).await.len(), 1);
    let text = metrics(&relay).await;
    assert!(text.contains("flockrelay_alerts_silenced_total{destination=\"chat\",kind=\"slack\"} 1"), "{text}");
}

#[tokio::test]
async fn two_relays_on_one_postgres_make_one_group_and_one_digest() {
    let Some(store_url) = crate::support::stores::postgres_url("two_relays_on_one_postgres_make_one_group").await
    else {
        return;
    };
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let siem = Receiver::start(Reply::new(200, "")).await;
    // A window of 30 s: the second relay's alerts join the group unless they
    // arrive over a minute after the first relay's (two windows).
    let grouping = "[destinations.chat.grouping]\ngroup_interval = \"30s\"";
    let setup =
        Setup { extra: storm_config(&slack, &siem, grouping, ""), store_url: Some(store_url), ..Setup::default() };
    let first = Relay::with(setup.clone()).await;
    let second = Relay::with(setup).await;
    first.ingest(&burst("one-", 10, "192.0.2.66")).await;
    second.ingest(&burst("two-", 10, "192.0.2.66")).await;

    wait_for_requests(&siem, 20, "the SIEM received every alert").await;
    wait_for_requests(&slack, 2, "Slack received the first alert and a digest").await;
    wait_until_groups_end(&first).await;

    let sent: Vec<Value> = slack.requests().iter().map(body).collect();
    let alone: Vec<&Value> = sent.iter().filter(|message| !is_digest(message)).collect();
    assert_eq!(alone.len(), 1, "one group for both relays: only its first alert went alone: {sent:#?}");
    let digests = messages(&first, &[("destination", "chat"), ("status", "delivered")]).await;
    let mut carried = Vec::new();
    for message in digests.iter().filter(|message| message["alert_id"] != "api:one-0") {
        let id = message["id"].as_str().expect("id");
        let (_, detail) = second.get(&format!("/api/v1/messages/{id}"), &[]).await;
        carried.extend(detail["digest_alerts"].as_array().cloned().unwrap_or_default());
    }
    let total = carried.len();
    carried.sort_by_key(|id| id.as_str().map(str::to_owned));
    carried.dedup();
    assert_eq!((total, carried.len()), (19, 19), "every other alert in exactly one digest");
}

#[tokio::test(flavor = "multi_thread")]
async fn silences_made_with_the_cli_apply_to_the_running_relay() {
    use crate::cli::{flockrelay, run, text};
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let siem = Receiver::start(Reply::new(200, "")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = crate::support::relay::write_config(dir.path(), &storm_config(&slack, &siem, "", ""));
    let relay = Relay::from_file(&path).await;
    let cli = |args: &[&str]| {
        let mut command = flockrelay();
        command.arg("--config").arg(&path).args(args);
        command
    };

    let added = run(
        &mut cli(&[
            "silences",
            "add",
            "--match",
            "actor.ip=192.0.2.66",
            "--match",
            "kind=~canary\\..*",
            "--reason",
            "maintenance window",
            "--author",
            "ops",
            "--duration",
            "2h",
        ]),
        None,
    )
    .await;
    assert!(added.status.success(), "{}", text(&added.stderr));
    let stdout = text(&added.stdout);
    let id = stdout.split_whitespace().next().expect("the silence id").to_owned();
    assert!(id.starts_with("sil_") && stdout.contains("silences matching alerts until"), "{stdout}");

    relay.ingest(&json!([scan("cli-muted", "192.0.2.66")])).await;
    wait_for_requests(&siem, 1, "the SIEM received the alert").await;
    let silenced = messages(&relay, &[("destination", "chat"), ("status", "silenced")]).await;
    assert_eq!(silenced.len(), 1);
    assert!(silenced[0]["last_error"].as_str().is_some_and(|text| text.contains(&id)), "{silenced:?}");

    let listed = run(&mut cli(&["silences", "list", "--json"]), None).await;
    let listed: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["matchers"][1], json!({"field": "kind", "op": "matches", "value": "canary\\..*"}));
    let expired = run(&mut cli(&["silences", "expire", &id]), None).await;
    assert!(expired.status.success(), "{}", text(&expired.stderr));
    let listed = run(&mut cli(&["silences", "list", "--json"]), None).await;
    assert_eq!(serde_json::from_slice::<Value>(&listed.stdout).expect("JSON"), json!([]));
    let all = run(&mut cli(&["silences", "list", "--all"]), None).await;
    assert!(text(&all.stdout).contains(&format!("{id}  expired")), "{}", text(&all.stdout));
    let refused = run(
        &mut cli(&["silences", "add", "--match", "ip=1", "--reason", "r", "--author", "a", "--duration", "1h"]),
        None,
    )
    .await;
    assert_eq!(refused.status.code(), Some(2), "a refused command exits 2, as every other");
    assert!(text(&refused.stderr).contains("matchers[0].field"), "{}", text(&refused.stderr));
}

#[tokio::test]
async fn the_console_creates_lists_and_expires_silences() {
    use crate::support::console::Visitor;
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let siem = Receiver::start(Reply::new(200, "")).await;
    let relay = Relay::with(Setup { extra: storm_config(&slack, &siem, "", ""), ..Setup::default() }).await;
    let mut visitor = Visitor::new(&relay.base);
    visitor.sign_in().await;

    let refused = visitor
        .submit(
            "/silences",
            "/silences/add",
            &[("matchers", "nonsense"), ("reason", "r"), ("author", "a"), ("duration", "1h")],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("field=value or field=~regex"), "{}", refused.body);

    let created = visitor
        .submit(
            "/silences",
            "/silences/add",
            &[
                ("matchers", "target.name=fileserver-canary\nactor.ip=~192\\.0\\.2\\..*"),
                ("reason", "decommissioning"),
                ("author", "sam"),
                ("duration", "2h"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let page = visitor.get("/silences").await;
    assert!(page.body.contains("Silence created.") || page.body.contains("decommissioning"), "{}", page.body);
    let (_, listed) = relay.get("/api/v1/silences", &[]).await;
    let id = listed["silences"][0]["id"].as_str().expect("a silence").to_owned();
    assert!(page.body.contains(&id) && page.body.contains("target.name=fileserver-canary"), "{}", page.body);

    relay.ingest(&json!([scan("console-muted", "192.0.2.5")])).await;
    wait_for_requests(&siem, 1, "the SIEM received the alert").await;
    let silenced = messages(&relay, &[("destination", "chat"), ("status", "silenced")]).await;
    assert_eq!(silenced.len(), 1, "{silenced:?}");

    let expired = visitor.submit("/silences", "/silences/expire", &[("id", &id)]).await;
    assert_eq!(expired.status, 303, "{}", expired.body);
    let (_, listed) = relay.get("/api/v1/silences", &[]).await;
    assert_eq!(listed["silences"], json!([]));
    assert!(visitor.get("/silences").await.body.contains("expired"));
}

/// `flockrelay serve` as a process of its own on `config`, ready to answer.
async fn serve_process(config: &std::path::Path, dir: &std::path::Path) -> (tokio::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("binds").local_addr().expect("address").port();
    let mut command = crate::cli::flockrelay();
    command
        .arg("serve")
        .arg("--config")
        .arg(config)
        .env("FLOCKRELAY_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("relay-{port}.log"))).expect("log file"));
    let child = command.spawn().expect("relay starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually(PATIENCE, "the relay answers /readyz", || {
        let request = client.get(format!("{base}/readyz")).send();
        async move { request.await.is_ok_and(|response| response.status().is_success()) }
    })
    .await;
    (child, base)
}

/// Open groups in the SQLite store at `database`.
async fn open_groups(database: &std::path::Path) -> i64 {
    use sqlx::Connection as _;
    let url = format!("sqlite://{}?mode=ro", database.display());
    let mut connection = sqlx::SqliteConnection::connect(&url).await.expect("opens the database");
    sqlx::query_scalar("SELECT COUNT(*) FROM storm_groups").fetch_one(&mut connection).await.expect("counts")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_relay_killed_mid_window_loses_no_alert_and_sends_one_digest_after_restart() {
    let slack = Receiver::start(Reply::new(200, "ok")).await;
    let siem = Receiver::start(Reply::new(200, "")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    // The kill comes right after the acknowledgement, well inside a 20 s window on
    // any machine; the assertions hold wherever it lands.
    let grouping = "[destinations.chat.grouping]\ngroup_interval = \"20s\"";
    let config = crate::support::relay::write_config(dir.path(), &storm_config(&slack, &siem, grouping, ""));
    // The burst goes in one request (one transaction): room for 30 alerts.
    let text = std::fs::read_to_string(&config).expect("reads the config");
    std::fs::write(&config, text.replace("body_limit = 4096", "body_limit = 65536")).expect("writes the config");
    let (mut first, base) = serve_process(&config, dir.path()).await;
    let client = reqwest::Client::new();
    let acknowledged = client
        .post(format!("{base}/api/v1/alerts"))
        .header("X-Canary-Auth-Token", TOKEN)
        .body(burst("crash-", 30, "192.0.2.66").to_string())
        .send()
        .await
        .expect("relay answers");
    assert_eq!(acknowledged.status(), 202);
    first.start_kill().expect("SIGKILL");
    first.wait().await.expect("killed");

    let (mut second, base) = serve_process(&config, dir.path()).await;
    let database = dir.path().join("relay.db");
    eventually(PATIENCE, "the digest went out and the group ended", || async {
        slack.requests().iter().any(|request| is_digest(&body(request))) && open_groups(&database).await == 0
    })
    .await;
    wait_for_requests(&siem, 30, "the SIEM received every alert").await;

    let digests: Vec<Value> = slack.requests().iter().map(body).filter(is_digest).collect();
    assert_eq!(digests.len(), 1, "one digest, never two: {digests:#?}");
    assert_eq!(
        digests[0]["text"].as_str().map(|text| text.starts_with("29 more alerts “SMB login attempt” from 192.0.2.66")),
        Some(true),
        "{:#}",
        digests[0]
    );
    let request = client
        .get(format!("{base}/api/v1/messages"))
        .query(&[("destination", "chat"), ("status", "grouped"), ("limit", "1000")])
        .header("X-Canary-Auth-Token", TOKEN);
    let (status, grouped) = answer(request).await;
    assert_eq!(status, 200, "{grouped}");
    let carried: std::collections::BTreeSet<&str> = grouped["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter_map(|message| message["last_error"].as_str())
        .collect();
    assert_eq!(grouped["messages"].as_array().map(Vec::len), Some(29));
    assert_eq!(carried.len(), 1, "all carried by the one digest: {carried:?}");
    second.start_kill().expect("stops");
    second.wait().await.expect("stopped");
}
