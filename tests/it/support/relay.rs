//! The real relay served in-process on `127.0.0.1:0` (the library's `build` and
//! `serve`, as `flockrelay serve` runs them), with a config file written to a
//! temporary directory, and a small JSON client for its API.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use flockrelay::api::run::{build, serve};
use flockrelay::config;
use flockrelay::delivery::Delivery;
use flockrelay::render::Renderer;
use serde_json::Value;
use tokio::sync::oneshot;

/// The API token every test relay accepts.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// The secret key of every relay [`Relay::with`] starts, so that relays sharing
/// a store (a restart, two instances on one database) can read its secrets.
/// [`write_config`] keeps the key in a file in the test's directory instead.
pub const TEST_SECRET_KEY: &str = "dGVzdCBrZXkgb2YgdGhlIGZsb2NrcmVsYXkgc3VpdGU=";

/// A served relay; stops when dropped.
pub struct Relay {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    /// The database URL, so a second relay can open the same store.
    pub store_url: String,
    /// The running delivery service: its store and catalogue, for tests that
    /// change destinations behind the API's back.
    pub delivery: Arc<Delivery>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// What a test relay is started with.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Extra keys of the `[delivery]` table.
    pub delivery: String,
    /// `false` leaves `delivery.allow_http` at its default (off).
    pub https_only: bool,
    /// Extra tables (flocks, destinations).
    pub extra: String,
    /// A store URL; a SQLite file in a temporary directory when unset.
    pub store_url: Option<String>,
}

impl Relay {
    /// A relay with `allow_http = true`, a SQLite store and [`TOKEN`].
    pub async fn start() -> Self {
        Self::with(Setup::default()).await
    }

    pub async fn with(setup: Setup) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let store_url =
            setup.store_url.clone().unwrap_or_else(|| format!("sqlite://{}", dir.path().join("relay.db").display()));
        // Defaults for keys the setup does not set itself (TOML refuses repeats).
        // Test receivers listen on loopback, which the default policy refuses.
        // Timeouts and grace of minutes: a loaded machine must not turn a loopback
        // request into a timeout, or a drain into an abandoned send.
        let defaults = [
            ("timeout", "\"30s\""),
            ("retry_schedule", "[\"1s\"]"),
            ("jitter", "0.0"),
            ("allowed_cidrs", "[\"127.0.0.0/8\"]"),
        ];
        let mut delivery = format!("allow_http = {}\n", !setup.https_only);
        for (key, value) in defaults {
            if !setup.delivery.lines().any(|line| line.trim_start().starts_with(&format!("{key} ="))) {
                delivery.push_str(&format!("{key} = {value}\n"));
            }
        }
        let text = format!(
            "[delivery]\n{delivery}{}\n\n\
             [store]\nurl = \"{store_url}\"\nsecret_key = \"{TEST_SECRET_KEY}\"\n\n\
             [server]\nauth_tokens = [\"{TOKEN}\"]\nbody_limit = 65536\nshutdown_grace = \"60s\"\ntoken_file = \"{}\"\n\n{}\n",
            setup.delivery,
            dir.path().join("auth_token").display(),
            setup.extra,
        );
        let path: PathBuf = dir.path().join("flockrelay.toml");
        std::fs::write(&path, text).expect("writes the config file");
        let mut relay = Self::from_file(&path).await;
        relay._dir = Some(dir);
        relay
    }

    /// A relay on a config file the caller wrote (see [`write_config`]); the
    /// caller keeps its directory, so a restart finds the same store.
    pub async fn from_file(path: &Path) -> Self {
        let config = config::load(Some(path)).unwrap_or_else(|error| panic!("test config is valid: {error}"));
        let renderer = Renderer::new(config.templates.dir.as_deref()).expect("templates load");
        let relay = build(&config, renderer, Vec::new()).await.unwrap_or_else(|error| panic!("relay builds: {error}"));
        let delivery = Arc::clone(&relay.delivery);
        let grace = config.server.shutdown_grace.0;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
        let base = format!("http://{}", listener.local_addr().expect("has an address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            serve(relay, listener, grace, shutdown).await.expect("relay serves");
        });
        let store_url = config.store.url.expose().to_owned();
        Self {
            base,
            client: reqwest::Client::new(),
            store_url,
            delivery,
            stop: Some(stop),
            task: Some(task),
            _dir: None,
        }
    }

    /// Stops serving and waits until the relay has drained (its store closed
    /// to new work), keeping the temporary directory for a successor.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("relay task ends");
        }
        self._dir.take()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path?auth_token=…&params`.
    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let mut query = vec![("auth_token", TOKEN)];
        query.extend_from_slice(params);
        answer(self.client.get(self.url(path)).query(&query)).await
    }

    /// `POST path` with a form body holding `auth_token` and `params`.
    pub async fn post(&self, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let mut form = vec![("auth_token", TOKEN)];
        form.extend_from_slice(params);
        answer(self.client.post(self.url(path)).form(&form)).await
    }

    /// A relay with `delivery` added to its `[delivery]` table and `extra`
    /// (flocks, destinations) after it.
    pub async fn configured(delivery: &str, extra: &str) -> Self {
        Self::with(Setup { delivery: delivery.to_owned(), extra: extra.to_owned(), ..Setup::default() }).await
    }

    /// `POST path` with a raw body and the token in the header.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let request = self
            .client
            .post(self.url(path))
            .header("X-Canary-Auth-Token", TOKEN)
            .header("content-type", "application/json")
            .body(body);
        answer(request).await
    }

    /// Posts alerts (a JSON value) and returns the 202 answer's alert entries.
    pub async fn ingest(&self, alerts: &Value) -> Vec<Value> {
        let (status, body) = self.post_raw("/api/v1/alerts", alerts.to_string()).await;
        assert_eq!(status, 202, "{body}");
        body["alerts"].as_array().cloned().expect("alerts in the answer")
    }

    /// The stored message of an alert (its only one), with its attempts.
    pub async fn message_of(&self, alert_id: &str) -> Value {
        let (status, body) = self.get("/api/v1/messages", &[("alert", alert_id)]).await;
        assert_eq!(status, 200, "{body}");
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        assert_eq!(messages.len(), 1, "{body}");
        let id = messages[0]["id"].as_str().expect("message id").to_owned();
        self.get(&format!("/api/v1/messages/{id}"), &[]).await.1
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).expect("serializes"));
        answer(request).await
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Sends a request and reads the status and the JSON answer (every answer of
/// the API is JSON).
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the relay answers");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("reads the answer");
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("answer {status} is not JSON ({error}): {}", String::from_utf8_lossy(&bytes)));
    (status, value)
}

/// Writes `dir/relay.toml`: HTTP and loopback (127.0.0.0/8) allowed, the store in `dir`, the test token, a
/// 4 KiB body limit, then `extra` (destinations, flocks, sources …).
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("relay.toml");
    let text = format!(
        "[delivery]\nallow_http = true\nallowed_cidrs = [\"127.0.0.0/8\"]\n\n[store]\nurl = \"sqlite://{store}\"\nsecret_key_file = \"{key}\"\n\n[server]\nlisten = \"127.0.0.1:0\"\nauth_tokens = [\"{TOKEN}\"]\ntoken_file = \"{token}\"\nbody_limit = 4096\n\n{extra}",
        store = dir.join("relay.db").display(),
        token = dir.join("token").display(),
        key = dir.join("secret_key").display(),
    );
    std::fs::write(&path, text).expect("writes the config file");
    path
}

/// Polls `check` every 20 ms until it holds or `limit` passes; panics naming `what`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
