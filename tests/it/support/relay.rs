//! The real relay, in process, on `127.0.0.1:0`, with its store in a temporary
//! directory: config text in, a client that knows the URL and token out.

use std::sync::Arc;
use std::time::Duration;

use flockrelay::outbox::Outbox;
use flockrelay::render::Renderer;
use flockrelay::server::run::{build, serve, ServeError};
use serde_json::Value;
use tokio::sync::oneshot;

/// The API token every test relay accepts.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A running relay; shuts down when dropped.
pub struct TestRelay {
    pub url: String,
    pub outbox: Arc<Outbox>,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
    _dir: tempfile::TempDir,
}

/// Settings every test relay gets; `extra` (TOML) comes after them and may add
/// destinations, flocks and other sections, but not repeat these tables.
fn base_config(dir: &std::path::Path, store_url: Option<&str>) -> String {
    let store = store_url.map_or_else(|| format!("sqlite://{}", dir.join("relay.db").display()), str::to_owned);
    format!(
        r#"
[store]
url = "{store}"

[server]
listen = "127.0.0.1:0"
auth_tokens = ["{TOKEN}"]
body_limit = 65536
shutdown_grace = "5s"
"#
    )
}

impl TestRelay {
    /// Starts a relay with the store in a new temporary directory; `delivery`
    /// is the body of the `[delivery]` table, `extra` the rest of the config.
    pub async fn start(delivery: &str, extra: &str) -> Self {
        Self::start_on(None, delivery, extra).await
    }

    /// The same on a given store URL (PostgreSQL tests).
    pub async fn start_on(store_url: Option<&str>, delivery: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let text = format!("{}\n[delivery]\nallow_http = true\n{delivery}\n{extra}", base_config(dir.path(), store_url));
        let path = dir.path().join("flockrelay.toml");
        std::fs::write(&path, text).expect("writes config");
        let config = flockrelay::config::load(Some(&path)).expect("test config is valid");
        let renderer = Renderer::new(None).expect("templates parse");
        let relay = build(&config, renderer, Vec::new()).await.expect("relay builds");
        let outbox = Arc::clone(&relay.outbox);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
        let url = format!("http://{}", listener.local_addr().expect("has an address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let grace = config.server.shutdown_grace.0;
        let task = tokio::spawn(serve(relay, listener, grace, async move {
            let _ = stopped.await;
        }));
        Self { url, outbox, client: reqwest::Client::new(), stop: Some(stop), task: Some(task), _dir: dir }
    }

    /// Stops accepting, drains and waits for the relay to end.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("relay task ends"),
            None => Ok(()),
        }
    }

    /// POST with the token; returns status and JSON answer.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.url))
            .header("X-Canary-Auth-Token", TOKEN)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("relay answers");
        answer(response).await
    }

    /// GET with the token.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .header("X-Canary-Auth-Token", TOKEN)
            .send()
            .await
            .expect("relay answers");
        answer(response).await
    }

    /// Posts alerts (a JSON value) and returns the 202 answer's alert entries.
    pub async fn ingest(&self, alerts: &Value) -> Vec<Value> {
        let (status, body) = self.post("/api/v1/alerts", alerts.to_string()).await;
        assert_eq!(status, 202, "{body}");
        body["alerts"].as_array().cloned().expect("alerts in the answer")
    }

    /// The stored message of an alert (its only one).
    pub async fn message_of(&self, alert_id: &str) -> Value {
        let (status, body) = self.get(&format!("/api/v1/messages?alert={alert_id}")).await;
        assert_eq!(status, 200, "{body}");
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        assert_eq!(messages.len(), 1, "{body}");
        let id = messages[0]["id"].as_str().expect("message id").to_owned();
        let (_, shown) = self.get(&format!("/api/v1/messages/{id}")).await;
        shown
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("answer body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
