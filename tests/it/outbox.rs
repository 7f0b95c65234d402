//! The outbox end to end, in process: a relay on 127.0.0.1:0 with one generic
//! destination on a loopback receiver. Concurrent ingest requests share
//! transactions (group commit) and workers record a round while sending the
//! next; neither may lose, repeat or leave unrecorded a single alert.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flockrelay::config;
use flockrelay::render::Renderer;
use flockrelay::server::run::{build, serve};
use flockrelay::store::{MessageFilter, MessageStatus};
use serde_json::Value;

use crate::support::receiver::{Receiver, Reply};

const TOKEN: &str = "outbox-test-token-0123456789";
const ALERTS: usize = 300;

/// Waits for `done` to turn true; panics after a generous deadline.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "{what} did not happen within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn every_acknowledged_alert_is_delivered_once_and_recorded(store_url: &str) {
    let receiver = Receiver::start(Reply::new(200, "")).await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("flockrelay.toml");
    let text = format!(
        "[delivery]\nallow_http = true\n[store]\nurl = \"{store_url}\"\n[server]\nauth_tokens = [\"{TOKEN}\"]\n\
         [destinations.hook.generic]\nurl = \"{}\"\n",
        receiver.url("/hook")
    );
    std::fs::write(&path, text).expect("writes config");
    let config = config::load(Some(&path)).expect("valid config");
    let relay = build(&config, Renderer::built_in().expect("templates"), Vec::new()).await.expect("relay builds");
    let outbox = Arc::clone(&relay.outbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/api/v1/alerts", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(relay, listener, Duration::from_secs(5), async {
        let _ = stopped.await;
    }));

    let client = reqwest::Client::new();
    let mut clients = tokio::task::JoinSet::new();
    for first in 0..20 {
        let (client, url) = (client.clone(), url.clone());
        clients.spawn(async move {
            for index in (first..ALERTS).step_by(20) {
                let alert = serde_json::json!({"id": format!("alert-{index}"), "kind": "test.alert", "title": "t"});
                let response = client
                    .post(&url)
                    .header("x-canary-auth-token", TOKEN)
                    .header("content-type", "application/json")
                    .body(alert.to_string())
                    .send()
                    .await
                    .expect("relay answers");
                assert_eq!(response.status().as_u16(), 202);
            }
        });
    }
    while let Some(joined) = clients.join_next().await {
        joined.expect("client finished");
    }

    eventually("delivery of every alert", async || receiver.requests().len() >= ALERTS).await;
    let delivered = MessageFilter { status: Some(MessageStatus::Delivered), limit: 1_000, ..MessageFilter::default() };
    eventually("recording of every attempt", async || {
        outbox.store.messages(&delivered).await.expect("lists").len() == ALERTS
    })
    .await;
    let ids: Vec<String> = receiver
        .requests()
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
            body["id"].as_str().expect("alert id").to_owned()
        })
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (ALERTS, ALERTS), "each alert delivered exactly once");
    for message in outbox.store.messages(&delivered).await.expect("lists") {
        let (_, attempts) = outbox.store.message(&message.id).await.expect("reads").expect("exists");
        assert_eq!(attempts.len(), 1, "one recorded attempt for {}", message.id);
    }

    let _ = stop.send(());
    server.await.expect("server task").expect("relay stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_every_acknowledged_alert_is_delivered_once_and_recorded() {
    let dir = tempfile::tempdir().expect("temporary directory");
    every_acknowledged_alert_is_delivered_once_and_recorded(&format!("sqlite://{}", dir.path().join("relay.db").display()))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_every_acknowledged_alert_is_delivered_once_and_recorded() {
    let Some(url) = crate::support::stores::postgres_url("outbox::postgres_every_acknowledged_alert_is_delivered_once_and_recorded").await
    else {
        return;
    };
    every_acknowledged_alert_is_delivered_once_and_recorded(&url).await;
}
