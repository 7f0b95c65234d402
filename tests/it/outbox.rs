//! The outbox end to end, in process: a relay on 127.0.0.1:0 with one generic
//! destination on a loopback receiver. Concurrent ingest requests share
//! transactions (group commit, several at once on PostgreSQL) and workers
//! record a round while sending the next; neither may lose, repeat or leave
//! unrecorded a single alert.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use flockrelay::store::{MessageFilter, MessageStatus};
use serde_json::{json, Value};

use crate::support::receiver::{Receiver, Reply};
use crate::support::relay::{eventually, Relay, Setup};

const ALERTS: usize = 300;
const CLIENTS: usize = 20;

/// The alert id of every request the receiver got (the generic body carries it).
fn delivered_alert_ids(receiver: &Receiver) -> Vec<String> {
    receiver
        .requests()
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
            body["id"].as_str().expect("alert id").to_owned()
        })
        .collect()
}

async fn every_acknowledged_alert_is_delivered_once_and_recorded(store_url: Option<String>) {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let extra = format!("[destinations.hook.generic]\nurl = \"{}\"\n", receiver.url("/hook"));
    let relay = Arc::new(Relay::with(Setup { extra, store_url, ..Setup::default() }).await);

    let mut clients = tokio::task::JoinSet::new();
    for first in 0..CLIENTS {
        let relay = Arc::clone(&relay);
        clients.spawn(async move {
            for index in (first..ALERTS).step_by(CLIENTS) {
                let answer =
                    relay.ingest(&json!({"id": format!("alert-{index}"), "kind": "test.alert", "title": "t"})).await;
                assert_eq!(answer.len(), 1);
            }
        });
    }
    while let Some(joined) = clients.join_next().await {
        joined.expect("client finished");
    }

    let limit = Duration::from_secs(60);
    eventually(limit, "every alert is delivered", || async { receiver.requests().len() >= ALERTS }).await;
    let store = Arc::clone(relay.delivery.store());
    let delivered = MessageFilter { status: Some(MessageStatus::Delivered), limit: 1_000, ..MessageFilter::default() };
    eventually(limit, "every attempt is recorded", || async {
        store.messages(&delivered).await.expect("lists").len() == ALERTS
    })
    .await;
    let ids = delivered_alert_ids(&receiver);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (ALERTS, ALERTS), "each alert delivered exactly once");
    for message in store.messages(&delivered).await.expect("lists") {
        let (_, attempts) = store.message(&message.id).await.expect("reads").expect("exists");
        assert_eq!(attempts.len(), 1, "one recorded attempt for {}", message.id);
    }

    let relay = Arc::into_inner(relay).expect("no client holds the relay any more");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_acknowledged_alert_is_delivered_once_and_recorded() {
    every_acknowledged_alert_is_delivered_once_and_recorded(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_acknowledged_alert_is_delivered_once_and_recorded() {
    let Some(url) = crate::support::stores::postgres_url(
        "outbox::postgres_every_acknowledged_alert_is_delivered_once_and_recorded",
    )
    .await
    else {
        return;
    };
    every_acknowledged_alert_is_delivered_once_and_recorded(Some(url)).await;
}

/// PostgreSQL restarts or fails over: every connection the relay holds is cut.
/// The relay does not ping connections before use, so the first statements on
/// dead connections fail; an ingest request then gets a 503 (the client sends
/// it again) and never a 202 for an alert that was not stored. The pool replaces
/// the dead connections, ingest answers 202 again, and every acknowledged alert
/// is delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_cut_under_the_relay_are_replaced() {
    use sqlx::Connection as _;
    let test = "outbox::postgres_connections_cut_under_the_relay_are_replaced";
    let Some(url) = crate::support::stores::postgres_url(test).await else {
        return;
    };
    let database = url::Url::parse(&url).expect("valid URL").path().trim_start_matches('/').to_owned();
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let extra = format!("[destinations.hook.generic]\nurl = \"{}\"\n", receiver.url("/hook"));
    let relay = Relay::with(Setup { extra, store_url: Some(url), ..Setup::default() }).await;
    let before = relay.ingest(&json!({"id": "before", "kind": "test.alert", "title": "t"})).await;

    let server = std::env::var(crate::support::stores::PG_URL_VAR).expect("set when a database was made");
    let mut admin = sqlx::PgConnection::connect(&server).await.expect("connects as admin");
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(&database)
    .fetch_all(&mut admin)
    .await
    .expect("terminates the relay's connections");
    assert!(!cut.is_empty(), "the relay held connections");

    let mut acknowledged = vec![before[0]["alert_id"].as_str().expect("alert id").to_owned()];
    let mut refused = 0;
    for index in 0..40 {
        let id = format!("after-{index}");
        let (status, body) =
            relay.post_raw("/api/v1/alerts", json!({"id": id, "kind": "test.alert", "title": "t"}).to_string()).await;
        match status {
            202 => acknowledged.push(body["alerts"][0]["alert_id"].as_str().expect("alert id").to_owned()),
            503 => refused += 1,
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    eprintln!("{refused} of 40 requests refused with 503 after the cut");
    assert!(acknowledged.len() > 30, "ingest recovers: {refused} of 40 refused");

    let limit = Duration::from_secs(60);
    eventually(limit, "every acknowledged alert is delivered", || async {
        let delivered: HashSet<String> = delivered_alert_ids(&receiver).into_iter().collect();
        acknowledged.iter().all(|id| delivered.contains(id))
    })
    .await;
    relay.stop().await;
}

/// Senders retry: the same alerts arrive from several clients at once, in
/// different orders, so concurrent groups (several at once on PostgreSQL)
/// insert the same ids against each other. Every request is acknowledged, and
/// each alert is stored and delivered once.
async fn the_same_alerts_from_many_clients_at_once_are_kept_once(store_url: Option<String>) {
    const IDS: usize = 20;
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let extra = format!("[destinations.hook.generic]\nurl = \"{}\"\n", receiver.url("/hook"));
    let relay = Arc::new(Relay::with(Setup { extra, store_url, ..Setup::default() }).await);
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..8 {
        let relay = Arc::clone(&relay);
        clients.spawn(async move {
            let mut fresh = 0;
            for step in 0..IDS {
                // Each client walks the ids from its own starting point, half of them backwards.
                let index = if client % 2 == 0 { (client + step) % IDS } else { (client + IDS - step) % IDS };
                let answer =
                    relay.ingest(&json!({"id": format!("shared-{index}"), "kind": "test.alert", "title": "t"})).await;
                if answer[0]["duplicate"] == json!(false) {
                    fresh += 1;
                }
            }
            fresh
        });
    }
    let mut fresh = 0;
    while let Some(joined) = clients.join_next().await {
        fresh += joined.expect("client finished");
    }
    assert_eq!(fresh, IDS, "each id is new to exactly one request");

    let limit = Duration::from_secs(60);
    let store = Arc::clone(relay.delivery.store());
    let delivered = MessageFilter { status: Some(MessageStatus::Delivered), limit: 1_000, ..MessageFilter::default() };
    eventually(limit, "every message is delivered and recorded", || async {
        store.messages(&delivered).await.expect("lists").len() == IDS
    })
    .await;
    let all = store.messages(&MessageFilter { limit: 1_000, ..MessageFilter::default() }).await.expect("lists");
    assert_eq!(all.len(), IDS, "one message per alert");
    let ids = delivered_alert_ids(&receiver);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (IDS, IDS), "each alert delivered once: {ids:?}");
    Arc::into_inner(relay).expect("no client holds the relay any more").stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_the_same_alerts_from_many_clients_at_once_are_kept_once() {
    the_same_alerts_from_many_clients_at_once_are_kept_once(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_the_same_alerts_from_many_clients_at_once_are_kept_once() {
    let Some(url) = crate::support::stores::postgres_url(
        "outbox::postgres_the_same_alerts_from_many_clients_at_once_are_kept_once",
    )
    .await
    else {
        return;
    };
    the_same_alerts_from_many_clients_at_once_are_kept_once(Some(url)).await;
}
