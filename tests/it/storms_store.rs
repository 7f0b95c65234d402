//! The storm store on both engines: two flushers racing for one due group (two
//! connections pools; on PostgreSQL like two relays) make exactly one digest,
//! carrying every collected alert once; a quiet window ends the group.

use std::sync::Arc;

use chrono::{DateTime, TimeZone as _, Utc};
use flockrelay::alert::Alert;
use flockrelay::notify::generic::config::GenericSettings;
use flockrelay::notify::{Channel, ChannelKind};
use flockrelay::store::key::SecretKey;
use flockrelay::store::storm::Closing;
use flockrelay::store::{self, MessageFilter, MessageStatus, NewAlert, NewMessage, Store};
use flockrelay::storm::{Grouping, StormSettings};
use serde_json::json;

use crate::support::destination;

fn at(second: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + second, 0).single().expect("valid time")
}

fn grouped_destination() -> flockrelay::destination::Destination {
    let mut hook = destination(
        "hook",
        Channel::Generic(GenericSettings {
            url: "https://hooks.example/x".parse().expect("valid URL"),
            headers: Default::default(),
            auth: None,
            signing: None,
            permanent_statuses: Vec::new(),
        }),
    );
    let grouping: Grouping = serde_json::from_value(json!({"group_interval": "1m"})).expect("grouping");
    hook.storm = StormSettings { grouping: Some(grouping), ..StormSettings::default() };
    hook
}

fn burst(count: usize) -> Vec<NewAlert> {
    let hook = grouped_destination();
    (0..count)
        .map(|n| {
            let alert = Alert::from_value(
                json!({"id": format!("a{n}"), "kind": "canary.incident", "title": "Port scan", "source": {"ip": "192.0.2.1"}}),
                at(0),
            )
            .expect("valid alert");
            NewAlert {
                id: alert.id.clone(),
                idempotency_key: None,
                flock_id: alert.flock_id.clone(),
                kind: alert.kind.clone(),
                received_at: at(0),
                hops: 0,
                messages: vec![NewMessage {
                    id: format!("msg_a{n}"),
                    destination_id: hook.id.clone(),
                    kind: ChannelKind::Generic,
                    body: "{}".to_owned(),
                    error: None,
                    storm: flockrelay::storm::plan(&hook, &alert).map(Box::new),
                }],
            }
        })
        .collect()
}

fn digest(closing: &Closing) -> Option<NewMessage> {
    Some(NewMessage {
        id: format!("msg_digest_{}", uuid::Uuid::now_v7().simple()),
        destination_id: closing.destination_id.clone(),
        kind: ChannelKind::Generic,
        body: format!("{{\"count\":{}}}", closing.members.len()),
        error: None,
        storm: None,
    })
}

async fn racing_flushers_make_one_digest(first: Arc<dyn Store>, second: Arc<dyn Store>) {
    let stored = first.enqueue(&burst(12)).await.expect("stored");
    let held: usize = stored.iter().map(|enqueued| enqueued.held.len()).sum();
    assert_eq!(held, 11, "the first alert goes out, the others are collected");
    let pending = MessageFilter { status: Some(MessageStatus::Pending), limit: 100, ..MessageFilter::default() };
    assert_eq!(first.messages(&pending).await.expect("lists").len(), 1);
    assert!(first.due_groups(at(59), 10).await.expect("due").is_empty(), "the window is still open");

    let due = first.due_groups(at(3600), 10).await.expect("due");
    assert_eq!(due.len(), 1);
    let group = &due[0];
    let (a, b) =
        tokio::join!(first.flush_group(group, at(3600), &digest), second.flush_group(group, at(3600), &digest));
    let made: Vec<String> = [a.expect("flushes"), b.expect("flushes")]
        .into_iter()
        .flatten()
        .filter_map(|flushed| flushed.message_id)
        .collect();
    assert_eq!(made.len(), 1, "exactly one digest: {made:?}");
    let mut carried = first.digest_alerts(&made[0]).await.expect("members");
    carried.sort();
    let mut expected: Vec<String> = (1..12).map(|n| format!("a{n}")).collect();
    expected.sort();
    assert_eq!(carried, expected);

    // The next window brought nothing: the group ends, no second digest.
    let later = at(3600 + 120);
    let due = first.due_groups(later, 10).await.expect("due");
    let ended = first.flush_group(&due[0], later, &digest).await.expect("flushes").expect("due");
    assert_eq!(ended.message_id, None);
    assert!(first.due_groups(at(i64::from(u32::MAX)), 10).await.expect("due").is_empty());
}

#[tokio::test]
async fn racing_flushers_make_one_digest_on_sqlite() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    let key = SecretKey::generate();
    let first = store::open(&url, &key).await.expect("opens");
    let second = store::open(&url, &key).await.expect("opens");
    racing_flushers_make_one_digest(first, second).await;
}

#[tokio::test]
async fn racing_flushers_make_one_digest_on_postgres() {
    let Some(url) = crate::support::stores::postgres_url("racing_flushers_make_one_digest_on_postgres").await else {
        return;
    };
    let key = SecretKey::generate();
    let first = store::open(&url, &key).await.expect("opens");
    let second = store::open(&url, &key).await.expect("opens");
    racing_flushers_make_one_digest(first, second).await;
}
