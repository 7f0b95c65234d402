//! Ids are namespaced by origin: an API client, each inbound source and the CLI
//! have their own id and idempotency spaces, so one origin can never suppress
//! another's alert — on SQLite and on PostgreSQL.

use std::time::Duration;

use chrono::Utc;
use flockrelay::signing::standard_webhooks::SigningKey;
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{answer, eventually, Relay, Setup, TOKEN};
use crate::support::stores::postgres_url;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BEARER: &str = "console-bearer-0123456789";

/// A relay whose flock `flock:soc` delivers to `receiver`, with a Canary console
/// source (`console`, bearer) and a Standard Webhooks source (`svix`).
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

[sources.console]
flock = "flock:soc"
scheme = "bearer"
token = "{BEARER}"

[sources.svix]
flock = "flock:soc"
scheme = "standard_webhooks"
secrets = ["{SECRET}"]
"#,
        url = receiver.url("/sink")
    );
    Relay::with(Setup { delivery: "allowed_cidrs = [\"127.0.0.0/8\"]".into(), extra, store_url, ..Setup::default() })
        .await
}

/// `POST /api/v1/alerts` with an optional `Idempotency-Key`; the one alert entry.
async fn post_alert(relay: &Relay, alert: &Value, key: Option<&str>) -> Value {
    let mut request = relay
        .client
        .post(relay.url("/api/v1/alerts"))
        .header("x-canary-auth-token", TOKEN)
        .header("content-type", "application/json")
        .body(alert.to_string());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let (status, body) = answer(request).await;
    assert_eq!(status, 202, "{body}");
    body["alerts"][0].clone()
}

/// The Canary console's webhook for incident `hash`, as the `console` source gets it.
async fn post_console_incident(relay: &Relay, hash: &str) -> Value {
    let incident =
        json!({"Description": "Port Scan", "IncidentHash": hash, "CanaryName": "fs-canary", "Intro": "A scan."});
    let request = relay
        .client
        .post(relay.url("/hooks/console"))
        .header("authorization", format!("Bearer {BEARER}"))
        .header("content-type", "application/json")
        .body(incident.to_string());
    let (status, body) = answer(request).await;
    assert_eq!(status, 202, "{body}");
    body
}

/// A Standard Webhooks event with `webhook-id` `id`, signed, to the `svix` source.
async fn post_svix_event(relay: &Relay, id: &str) -> Value {
    let body = json!({"type": "qr_code.scanned", "data": {"code": "c"}}).to_string();
    let timestamp = Utc::now().timestamp();
    let signature = SigningKey::from_secret(SECRET).expect("valid secret").sign(id, timestamp, body.as_bytes());
    let request = relay
        .client
        .post(relay.url("/hooks/svix"))
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header("content-type", "application/json")
        .body(body);
    let (status, answer) = answer(request).await;
    assert_eq!(status, 202, "{answer}");
    answer
}

/// The alert ids (generic bodies' `id`) the receiver got, waiting for `n`.
async fn relayed_ids(receiver: &Receiver, n: usize) -> Vec<String> {
    eventually(Duration::from_secs(120), &format!("{n} alerts are relayed"), || async {
        receiver.requests().len() >= n
    })
    .await;
    receiver
        .requests()
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
            body["id"].as_str().expect("alert id").to_owned()
        })
        .collect()
}

/// `GET /api/v1/messages?alert=…`: the alert ids of the messages found.
async fn filtered(relay: &Relay, alert: &str) -> Vec<String> {
    let (status, body) = relay.get("/api/v1/messages", &[("alert", alert)]).await;
    assert_eq!(status, 200, "{body}");
    let mut ids: Vec<String> = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|message| message["alert_id"].as_str().expect("alert id").to_owned())
        .collect();
    ids.sort();
    ids
}

/// Runs `scenario` on SQLite, then on PostgreSQL.
macro_rules! on_both_engines {
    ($sqlite:ident, $postgres:ident, $scenario:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $scenario(None).await;
        }

        #[tokio::test]
        async fn $postgres() {
            let Some(url) = postgres_url(concat!("namespaces::", stringify!($postgres))).await else {
                return;
            };
            $scenario(Some(url)).await;
        }
    };
}

/// The attack of issue 10: an API client posts `console:INC-42` first; the
/// genuine console webhook for INC-42 must still be relayed.
async fn an_api_alert_cannot_suppress_a_webhook(store_url: Option<String>) {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = relay(&receiver, store_url).await;
    let planted = json!({"id": "console:INC-42", "kind": "canary.incident", "title": "fake", "flock_id": "flock:soc"});
    let posted = post_alert(&relay, &planted, None).await;
    let genuine = post_console_incident(&relay, "INC-42").await;
    assert_eq!(genuine["duplicate"], false, "the genuine webhook is not a duplicate: {genuine}");
    assert_eq!(posted["alert_id"], "api:console:INC-42");
    assert_eq!(genuine["alert_id"], "hook:console:INC-42");
    let mut ids = relayed_ids(&receiver, 2).await;
    ids.sort();
    assert_eq!(ids, ["api:console:INC-42", "hook:console:INC-42"]);

    // Nor can a client post the webhook's namespaced id itself.
    let spoofed = json!({"id": "hook:console:INC-43", "kind": "k", "title": "t", "flock_id": "flock:soc"});
    assert_eq!(post_alert(&relay, &spoofed, None).await["alert_id"], "api:hook:console:INC-43");
    assert_eq!(post_console_incident(&relay, "INC-43").await["duplicate"], false);
}

on_both_engines!(
    sqlite_an_api_alert_cannot_suppress_a_webhook,
    postgres_an_api_alert_cannot_suppress_a_webhook,
    an_api_alert_cannot_suppress_a_webhook
);

/// The same raw id through the API and a webhook: two alerts, both relayed,
/// each found by its shown id, the API one also by the id as posted.
async fn the_same_raw_id_from_the_api_and_a_webhook_is_two_alerts(store_url: Option<String>) {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = relay(&receiver, store_url).await;
    let alert = json!({"id": "INC-7", "kind": "canary.incident", "title": "ours", "flock_id": "flock:soc"});
    let posted = post_alert(&relay, &alert, None).await;
    let hooked = post_console_incident(&relay, "INC-7").await;
    assert_eq!((posted["alert_id"].clone(), posted["duplicate"].clone()), (json!("api:INC-7"), json!(false)));
    assert_eq!((hooked["alert_id"].clone(), hooked["duplicate"].clone()), (json!("hook:console:INC-7"), json!(false)));
    assert_eq!(relayed_ids(&receiver, 2).await.len(), 2);

    // Each origin's repeat is still recognised, in its own space.
    assert_eq!(post_alert(&relay, &alert, None).await["duplicate"], true);
    assert_eq!(post_console_incident(&relay, "INC-7").await["duplicate"], true);

    assert_eq!(filtered(&relay, "INC-7").await, ["api:INC-7"], "the id as posted finds the API alert");
    assert_eq!(filtered(&relay, "api:INC-7").await, ["api:INC-7"]);
    assert_eq!(filtered(&relay, "hook:console:INC-7").await, ["hook:console:INC-7"]);
    assert!(filtered(&relay, "console:INC-7").await.is_empty(), "the old webhook id form names nothing");
}

on_both_engines!(
    sqlite_the_same_raw_id_from_the_api_and_a_webhook_is_two_alerts,
    postgres_the_same_raw_id_from_the_api_and_a_webhook_is_two_alerts,
    the_same_raw_id_from_the_api_and_a_webhook_is_two_alerts
);

/// An API client's `Idempotency-Key` can neither match nor pre-empt a webhook's
/// `webhook-id`, whatever it looks like, and each origin still de-duplicates.
async fn idempotency_keys_are_kept_apart_by_origin(store_url: Option<String>) {
    let receiver = Receiver::start(Reply::new(200, "ok")).await;
    let relay = relay(&receiver, store_url).await;
    let alert = |title: &str| json!({"kind": "k", "title": title, "flock_id": "flock:soc"});
    // Without an id, only the key can make a repeat a duplicate.
    let first = post_alert(&relay, &alert("one"), Some("msg_shared")).await;
    assert_eq!(first["duplicate"], false);
    assert_eq!(post_alert(&relay, &alert("one again"), Some("msg_shared")).await["duplicate"], true);
    let planted = post_alert(&relay, &alert("planted"), Some("hook:svix:msg_planted")).await;
    assert_eq!(planted["duplicate"], false);

    for id in ["msg_shared", "msg_planted"] {
        let event = post_svix_event(&relay, id).await;
        assert_eq!(event["duplicate"], false, "{id}: {event}");
        assert_eq!(event["alert_id"], format!("hook:svix:{id}"));
        assert_eq!(post_svix_event(&relay, id).await["duplicate"], true, "{id}: the sender's retry");
    }
    assert_eq!(relayed_ids(&receiver, 4).await.len(), 4);
}

on_both_engines!(
    sqlite_idempotency_keys_are_kept_apart_by_origin,
    postgres_idempotency_keys_are_kept_apart_by_origin,
    idempotency_keys_are_kept_apart_by_origin
);

/// Rows of a database written by the previous version (schema 4): alert ids as
/// sent (API) or `<source>:<id>` (webhooks), keys namespaced or not.
const OLD_ALERTS: [(&str, Option<&str>, &str); 7] = [
    ("INC-1", None, "flock:soc"),
    // An API alert shaped like a webhook's id, in another flock than the source's.
    ("console:INC-42", None, "flock:other"),
    ("console:INC-9", None, "flock:soc"),
    ("svix:msg_1", Some("hook:svix:msg_1"), "flock:gone"),
    ("api:literal", Some("api:key-1"), "flock:soc"),
    ("lit", Some("raw-key"), "flock:soc"),
    ("console:INC-10", Some("console:wid-10"), "flock:soc"),
];

/// What migration 6 makes of [`OLD_ALERTS`]: (id, key), sorted by id.
const NEW_ALERTS: [(&str, Option<&str>); 7] = [
    ("api:INC-1", None),
    ("api:api:literal", Some("api:key-1")),
    ("api:console:INC-42", None),
    ("api:lit", Some("api:raw-key")),
    ("hook:console:INC-10", Some("hook:console:wid-10")),
    ("hook:console:INC-9", None),
    ("hook:svix:msg_1", Some("hook:svix:msg_1")),
];

fn new_alert(id: &str, key: Option<&str>, message: &str) -> flockrelay::store::NewAlert {
    flockrelay::store::NewAlert {
        id: id.to_owned(),
        idempotency_key: key.map(str::to_owned),
        flock_id: "flock:soc".to_owned(),
        kind: "k".to_owned(),
        received_at: Utc::now(),
        hops: 0,
        messages: vec![flockrelay::store::NewMessage {
            id: message.to_owned(),
            destination_id: "sink".to_owned(),
            kind: flockrelay::notify::ChannelKind::Generic,
            body: "{}".to_owned(),
            error: None,
            storm: None,
        }],
    }
}

/// Opens a database of schema 4 holding [`OLD_ALERTS`] (one message each, plus
/// one whose alert row is gone) and a `console` source in `flock:soc`: every
/// alert and message moves into its origin's namespace, old senders' retries
/// are still recognised, and the old attack alert no longer shadows the
/// console's genuine one.
async fn upgrading_moves_old_ids_into_their_namespaces(url: &str, version: i64) {
    use sqlx::{Connection as _, Row as _};
    let mut old = crate::support::schema::write_version(url, version).await;
    let console = json!({"id": "console", "flock": "flock:soc", "enabled": true, "scheme": "bearer", "token": BEARER});
    sqlx::query(
        "INSERT INTO sources (id, flock_id, scheme, spec, origin, updated_at) VALUES ('console', 'flock:soc', 'bearer', $1, 'config', 0)",
    )
    .bind(console.to_string())
    .execute(&mut old)
    .await
    .expect("stores an old source");
    let orphan = ("console:gone", "flock:soc");
    let messages = OLD_ALERTS.iter().map(|(id, _, flock)| (*id, *flock)).chain([orphan]);
    for (index, (alert_id, flock)) in messages.enumerate() {
        sqlx::query(
            "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, next_attempt_at) \
             VALUES ($1, $2, 'sink', $3, 'generic', 'failed', '{}', $4, $4)",
        )
        .bind(format!("msg_old_{index}"))
        .bind(alert_id)
        .bind(flock)
        .bind(i64::try_from(index).expect("small") + 1)
        .execute(&mut old)
        .await
        .expect("stores an old message");
    }
    for (id, key, flock) in OLD_ALERTS {
        sqlx::query(
            "INSERT INTO alerts (id, idempotency_key, flock_id, kind, received_at, messages) VALUES ($1, $2, $3, 'k', 0, 1)",
        )
        .bind(id)
        .bind(key)
        .bind(flock)
        .execute(&mut old)
        .await
        .expect("stores an old alert");
    }
    old.close().await.expect("closes");

    let store =
        flockrelay::store::open(url, &flockrelay::store::key::SecretKey::generate()).await.expect("opens and upgrades");
    let mut check = sqlx::AnyConnection::connect(url).await.expect("connects");
    let rows =
        sqlx::query("SELECT id, idempotency_key FROM alerts ORDER BY id").fetch_all(&mut check).await.expect("reads");
    let alerts: Vec<(String, Option<String>)> =
        rows.iter().map(|row| (row.get::<String, _>(0), row.get::<Option<String>, _>(1))).collect();
    let expected: Vec<(String, Option<String>)> =
        NEW_ALERTS.iter().map(|(id, key)| ((*id).to_owned(), key.map(str::to_owned))).collect();
    assert_eq!(alerts, expected);
    let rows =
        sqlx::query("SELECT alert_id FROM messages ORDER BY created_at").fetch_all(&mut check).await.expect("reads");
    let message_alerts: Vec<String> = rows.iter().map(|row| row.get::<String, _>(0)).collect();
    assert_eq!(
        message_alerts,
        [
            "api:INC-1",
            "api:console:INC-42",
            "hook:console:INC-9",
            "hook:svix:msg_1",
            "api:api:literal",
            "api:lit",
            "hook:console:INC-10",
            "hook:console:gone"
        ]
    );
    check.close().await.expect("closes");

    // The operator finds an old API alert by the id it was posted with.
    let filter = |alert: &str| flockrelay::store::MessageFilter {
        alert_id: Some(alert.to_owned()),
        limit: 10,
        ..Default::default()
    };
    let found = store.messages(&filter("INC-1")).await.expect("lists");
    assert_eq!(found.iter().map(|message| message.id.as_str()).collect::<Vec<_>>(), ["msg_old_0"]);

    // Retries of old alerts are recognised in their new spaces; the console's
    // genuine INC-42 is no longer shadowed by the API alert that borrowed its id.
    let retries = [
        new_alert("api:INC-1", None, "msg_new_1"),
        new_alert("hook:console:INC-9", None, "msg_new_2"),
        new_alert("api:fresh", Some("api:raw-key"), "msg_new_3"),
        new_alert("hook:svix:other", Some("hook:svix:msg_1"), "msg_new_4"),
        new_alert("hook:console:INC-42", None, "msg_new_5"),
    ];
    let stored = store.enqueue(&retries).await.expect("enqueues");
    let duplicates: Vec<(&str, bool)> =
        stored.iter().map(|enqueued| (enqueued.alert_id.as_str(), enqueued.duplicate)).collect();
    assert_eq!(
        duplicates,
        [
            ("api:INC-1", true),
            ("hook:console:INC-9", true),
            ("api:lit", true),
            ("hook:svix:msg_1", true),
            ("hook:console:INC-42", false)
        ]
    );
}

#[tokio::test]
async fn sqlite_upgrade_moves_old_ids_into_their_namespaces() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("relay.db").display());
    upgrading_moves_old_ids_into_their_namespaces(&url, 4).await;
}

#[tokio::test]
async fn postgres_upgrade_moves_old_ids_into_their_namespaces() {
    let Some(url) = postgres_url("namespaces::postgres_upgrade_moves_old_ids_into_their_namespaces").await else {
        return;
    };
    upgrading_moves_old_ids_into_their_namespaces(&url, 4).await;
}
