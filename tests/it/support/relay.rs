//! The real relay served in-process on `127.0.0.1:0` (the library's `build` and
//! `serve`, as `flockrelay serve` runs them), with a config file written to a
//! temporary directory, and a small JSON client for its API.

use std::path::PathBuf;
use std::time::Duration;

use flockrelay::config;
use flockrelay::render::Renderer;
use flockrelay::server::run::{build, serve};
use serde_json::Value;
use tokio::sync::oneshot;

/// The API token every test relay accepts.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// A served relay; stops when dropped.
pub struct Relay {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    /// The database URL, so a second relay can open the same store.
    pub store_url: String,
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
        let text = format!(
            "[delivery]\nallow_http = {}\ntimeout = \"5s\"\nretry_schedule = [\"1s\"]\njitter = 0.0\n{}\n\n\
             [store]\nurl = \"{store_url}\"\n\n\
             [server]\nauth_tokens = [\"{TOKEN}\"]\nbody_limit = 65536\ntoken_file = \"{}\"\n\n{}\n",
            !setup.https_only,
            setup.delivery,
            dir.path().join("auth_token").display(),
            setup.extra,
        );
        let path: PathBuf = dir.path().join("flockrelay.toml");
        std::fs::write(&path, text).expect("writes the config file");
        let config = config::load(Some(&path)).unwrap_or_else(|error| panic!("test config is valid: {error}"));
        let relay = build(&config, Renderer::built_in().expect("built-in templates"), Vec::new())
            .await
            .unwrap_or_else(|error| panic!("relay builds: {error}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
        let base = format!("http://{}", listener.local_addr().expect("has an address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            serve(relay, listener, Duration::from_secs(1), shutdown).await.expect("relay serves");
        });
        Self { base, client: reqwest::Client::new(), store_url, stop: Some(stop), task: Some(task), _dir: Some(dir) }
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

/// Waits (polling, up to 10 s) until `condition` holds; panics naming `what`.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
