//! Starting and stopping the relay: open the store, apply the config file's
//! flocks, destinations and sources, start the delivery supervisor, serve HTTP on a given
//! listener until `shutdown` resolves, then drain. The listener is injected so
//! tests run the real relay on `127.0.0.1:0`.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::{auth, router, AppState};
use crate::catalogue;
use crate::config::validate::Problem;
use crate::config::Config;
use crate::console::Console;
use crate::metrics::Metrics;
use crate::notify::http::HttpSender;
use crate::notify::policy::AddressPolicy;
use crate::outbox::{Outbox, Settings};
use crate::render::Renderer;
use crate::secret::{redact_url_password, Secret};
use crate::sources::mapping::Mapper;
use crate::sources::SchemeName;
use crate::store::{self, StoreError};

/// Why the relay could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("templates do not render:\n{}", .0.iter().map(|problem| format!("  - {problem}")).collect::<Vec<_>>().join("\n"))]
    Templates(Vec<Problem>),
    #[error("cannot open the store {url}: {source}")]
    Store { url: String, source: StoreError },
    #[error("cannot apply the config file's flocks, destinations and sources: {0}")]
    Catalogue(StoreError),
    #[error("the address policy is invalid: {0}")]
    Policy(String),
    #[error("token file {path}: {reason}")]
    TokenFile { path: String, reason: String },
    #[error(transparent)]
    Console(crate::console::ConsoleError),
    #[error("the HTTP server failed: {0}")]
    Http(std::io::Error),
    #[error("the delivery supervisor ended abnormally: {0}")]
    Supervisor(tokio::task::JoinError),
}

/// A relay ready to serve: its outbox and the HTTP state.
#[derive(Debug, Clone)]
pub struct Relay {
    pub outbox: Arc<Outbox>,
    pub state: AppState,
}

/// Opens the store and builds the relay; `template_problems` is the result of
/// rendering every destination's template with sample alerts.
pub async fn build(config: &Config, renderer: Renderer, template_problems: Vec<Problem>) -> Result<Relay, ServeError> {
    if !template_problems.is_empty() {
        return Err(ServeError::Templates(template_problems));
    }
    let url = config.store.url.expose();
    let store = store::open(url).await.map_err(|source| ServeError::Store { url: redact_url_password(url), source })?;
    let (flocks, destinations) = catalogue::from_config(config);
    store.apply_config(&flocks, &destinations).await.map_err(ServeError::Catalogue)?;
    let sources = config.sources();
    store.apply_config_sources(&sources).await.map_err(ServeError::Catalogue)?;
    for source in sources.iter().filter(|source| source.enabled && source.scheme.name() == SchemeName::None) {
        tracing::warn!(source = %source.id, "Source accepts unverified requests (scheme none).");
    }
    let mapper = Mapper::new(config.templates.dir.as_deref()).map_err(|error| {
        ServeError::Templates(vec![Problem { key: "templates.dir".into(), reason: error.to_string() }])
    })?;
    let tokens = api_tokens(config)?;
    let metrics = Arc::new(Metrics::new());
    let policy = AddressPolicy::new(&config.delivery.allowed_cidrs, &config.delivery.denied_cidrs)
        .map_err(ServeError::Policy)?;
    let sender = Arc::new(HttpSender::with_policy(config.delivery.timeout.0, policy));
    let outbox = Outbox::new(store, Arc::new(renderer), sender, metrics, Settings::from_config(config))
        .await
        .map_err(ServeError::Catalogue)?;
    let state = AppState {
        outbox: Arc::clone(&outbox),
        tokens: Arc::new(tokens),
        body_limit: config.server.body_limit,
        allow_http: config.delivery.allow_http,
        declared_flocks: Arc::new(config.flocks.keys().cloned().collect()),
        mapper: Arc::new(mapper),
        console: Arc::new(Console::new(&config.console).map_err(ServeError::Console)?),
        console_enabled: config.console.enabled,
    };
    Ok(Relay { outbox, state })
}

/// Serves until `shutdown` resolves: then stops accepting, lets in-flight sends
/// finish within `grace`, and hands back unfinished leases.
pub async fn serve(
    relay: Relay,
    listener: TcpListener,
    grace: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (stop, stopped) = watch::channel(false);
    let delivery = tokio::spawn(Arc::clone(&relay.outbox).run(stopped, grace));
    let address = listener.local_addr().map_err(ServeError::Http)?;
    tracing::info!(%address, store = relay.outbox.store.backend(), owner = %relay.outbox.owner, "flockrelay is serving.");
    // The peer address is kept so that API changes are logged with who made them.
    let app = router(relay.state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    tracing::info!("No longer accepting requests.");
    // The receiver lives in the delivery task, so sending can only fail once it ended.
    let _ = stop.send(true);
    let drained = delivery.await;
    served.map_err(ServeError::Http)?;
    drained.map_err(ServeError::Supervisor)?;
    tracing::info!("Stopped.");
    Ok(())
}

/// The configured tokens, or the generated one kept in `server.token_file`.
fn api_tokens(config: &Config) -> Result<Vec<Secret>, ServeError> {
    if !config.server.auth_tokens.is_empty() {
        return Ok(config.server.auth_tokens.clone());
    }
    let path = &config.server.token_file;
    let problem = |reason: String| ServeError::TokenFile { path: path.display().to_string(), reason };
    if path.exists() {
        let token = std::fs::read_to_string(path).map_err(|error| problem(error.to_string()))?;
        let token = token.trim();
        if token.len() < 16 {
            return Err(problem("holds no usable token (16 characters or more); delete it to get a new one".into()));
        }
        tracing::info!(file = %path.display(), "Using the API token kept in the token file.");
        return Ok(vec![Secret::new(token)]);
    }
    let token = auth::generate();
    write_private(path, &token).map_err(|error| problem(error.to_string()))?;
    tracing::warn!(file = %path.display(), "No API token configured: generated one and wrote it to the token file.");
    Ok(vec![Secret::new(token)])
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    if let Some(directory) = path.parent().filter(|directory| !directory.as_os_str().is_empty()) {
        std::fs::create_dir_all(directory)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, format!("{contents}\n").as_bytes())
}
