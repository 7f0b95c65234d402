//! The real relay, in process: `flockrelay::server::run::{build, serve}` on
//! 127.0.0.1:0 with a config file written to a temporary directory (SQLite store
//! in the same directory, so a restart finds the same database).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flockrelay::config;
use flockrelay::render::Renderer;
use flockrelay::server::run::{build, serve, ServeError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The API token every test relay accepts.
pub const TOKEN: &str = "hooks-test-token-0123456789";

/// A running relay; [`Relay::stop`] shuts it down and waits for it.
pub struct Relay {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), ServeError>>,
}

/// Writes `dir/relay.toml`: HTTP allowed, the store in `dir`, the test token,
/// any free loopback port (for `flockrelay serve`; in process the listener is
/// injected), then `extra` (destinations, flocks, sources …). Returns its path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("relay.toml");
    let text = format!(
        "[delivery]\nallow_http = true\n\n[store]\nurl = \"sqlite://{store}\"\n\n[server]\nlisten = \"127.0.0.1:0\"\nauth_tokens = [\"{TOKEN}\"]\ntoken_file = \"{token}\"\nbody_limit = 4096\n\n{extra}",
        store = dir.join("relay.db").display(),
        token = dir.join("token").display(),
    );
    std::fs::write(&path, text).expect("writes the config file");
    path
}

impl Relay {
    /// Starts the relay on the config file at `path`.
    pub async fn start(path: &Path) -> Self {
        let config = config::load(Some(path)).unwrap_or_else(|error| panic!("test config: {error}"));
        let renderer = Renderer::new(config.templates.dir.as_deref()).expect("templates load");
        let relay = build(&config, renderer, Vec::new()).await.unwrap_or_else(|error| panic!("relay builds: {error}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
        let addr = listener.local_addr().expect("has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(relay, listener, Duration::from_secs(2), async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop), task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts down (as on SIGTERM) and waits until it has stopped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = (&mut self.task).await.expect("relay task ends");
        served.expect("relay stops cleanly");
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `check` until it returns `Some`, failing after `deadline`.
pub async fn eventually<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
