//! Starting and stopping the relay: open the store, apply the config file's
//! flocks, destinations and sources, start the delivery supervisor, serve HTTP on a given
//! listener until `shutdown` resolves, then drain. The listener is injected so
//! tests run the real relay on `127.0.0.1:0`. While serving, a new
//! configuration can be applied ([`super::reload`], SIGHUP).

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use super::listen::{self, ClientLimits, Site};
use super::reload::{Reload, RestartOnly};
use super::{auth, router, AppState};
use crate::catalogue;
use crate::catalogue::registry::Registry;
use crate::config::reachability::unreachable_destinations;
use crate::config::validate::Problem;
use crate::config::Config;
use crate::console::Console;
use crate::delivery::{self, Settings};
use crate::files;
use crate::ingest::inbound::mapping::Mapper;
use crate::ingest::inbound::SchemeName;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::notify::http::HttpSender;
use crate::notify::policy::AddressPolicy;
use crate::outbox::Outbox;
use crate::render::Renderer;
use crate::secret::{mask_url_text, Secret};
use crate::store::key::{self, KeyError, SecretKey};
use crate::store::{self, Store, StoreError};

/// Why the relay could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("templates do not render:\n{}", .0.iter().map(|problem| format!("  - {problem}")).collect::<Vec<_>>().join("\n"))]
    Templates(Vec<Problem>),
    #[error("cannot open the store {url}: {source}")]
    Store { url: String, source: StoreError },
    #[error("{0}")]
    SecretKey(KeyError),
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

/// A relay ready to serve: its delivery service and the HTTP state.
#[derive(Debug, Clone)]
pub struct Relay {
    /// Runs the workers; holds the store and the catalogue snapshot.
    pub delivery: Arc<delivery::Delivery>,
    pub state: AppState,
    /// How long clients may take to send requests.
    pub limits: ClientLimits,
    /// The settings only a restart changes, as the relay started with them.
    pub restart_only: RestartOnly,
}

/// Opens the store and builds the relay; `template_problems` is the result of
/// rendering every destination's template with sample alerts.
pub async fn build(config: &Config, renderer: Renderer, template_problems: Vec<Problem>) -> Result<Relay, ServeError> {
    if !template_problems.is_empty() {
        return Err(ServeError::Templates(template_problems));
    }
    let url = config.store.url.expose();
    let key = secret_key(config)?;
    let store = store::open(url, &key).await.map_err(|source| ServeError::Store { url: mask_url_text(url), source })?;
    assemble(store, Arc::new(Metrics::new()), config, renderer).await
}

/// Builds a relay on an open store: at start, and for a reload (with the
/// running relay's store and metrics). What can fail without touching the
/// store comes first, so that a refused reload changes nothing.
pub async fn assemble(
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    config: &Config,
    renderer: Renderer,
) -> Result<Relay, ServeError> {
    let mapper = Mapper::new(config.templates.dir.as_deref()).map_err(|error| {
        ServeError::Templates(vec![Problem { key: "templates.dir".into(), reason: error.to_string() }])
    })?;
    let tokens = api_tokens(config)?;
    let policy = AddressPolicy::new(&config.delivery.allowed_cidrs, &config.delivery.denied_cidrs)
        .map_err(ServeError::Policy)?;
    let sender = Arc::new(
        HttpSender::with_policy(config.delivery.timeout.0, policy)
            .with_max_retry_after(config.delivery.max_retry_after.0),
    );
    let (flocks, destinations) = catalogue::from_config(config);
    store.apply_config(&flocks, &destinations).await.map_err(ServeError::Catalogue)?;
    let sources = config.sources();
    store.apply_config_sources(&sources).await.map_err(ServeError::Catalogue)?;
    for source in sources.iter().filter(|source| source.enabled && source.scheme.name() == SchemeName::None) {
        tracing::warn!(source = %source.id, "Source accepts unverified requests (scheme none).");
    }
    for problem in unreachable_destinations(config) {
        tracing::warn!(key = %problem.key, reason = %problem.reason, "Destination can never be reached.");
    }
    let settings = Settings::from_config(config);
    let max_alerts_per_commit = settings.max_alerts_per_commit;
    let delivery = delivery::Delivery::new(store, Arc::new(renderer), sender, metrics, settings)
        .await
        .map_err(ServeError::Catalogue)?;
    let state = AppState {
        ingest: Arc::new(Ingest::start(Arc::clone(&delivery), max_alerts_per_commit)),
        outbox: Arc::new(Outbox::new(Arc::clone(&delivery))),
        registry: Arc::new(Registry::new(Arc::clone(&delivery), config.flocks.keys().cloned().collect())),
        delivery: Arc::clone(&delivery),
        tokens: Arc::new(tokens),
        body_limit: config.server.body_limit,
        allow_http: config.delivery.allow_http,
        mapper: Arc::new(mapper),
        console: Arc::new(Console::new(&config.console).map_err(ServeError::Console)?),
        console_enabled: config.console.enabled,
    };
    let limits = ClientLimits {
        header_read_timeout: config.server.header_read_timeout.0,
        body_read_timeout: config.server.body_read_timeout.0,
    };
    Ok(Relay { delivery, state, limits, restart_only: RestartOnly::of(config) })
}

/// Serves until `shutdown` resolves: then stops accepting and stops delivery
/// at once, lets in-flight requests and sends finish within `grace`, closes
/// what is still open, and hands back unfinished leases. No client can make
/// this take longer than `grace` (plus handing back the leases).
pub async fn serve(
    relay: Relay,
    listener: TcpListener,
    grace: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    // Kept open (and silent) while serving: no reloads come.
    let (_no_reloads, reloads) = mpsc::channel(1);
    serve_reloading(relay, listener, grace, shutdown, reloads).await
}

/// As [`serve`], applying every configuration that arrives on `reloads` (a
/// SIGHUP whose file `check` accepted): the new relay takes over the store,
/// the listener and the metrics; the old delivery workers finish their round
/// and stop before the new ones start. A reload that cannot be applied keeps
/// the running relay.
pub async fn serve_reloading(
    mut relay: Relay,
    listener: TcpListener,
    grace: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut reloads: mpsc::Receiver<Reload>,
) -> Result<(), ServeError> {
    let address = listener.local_addr().map_err(ServeError::Http)?;
    // The loop guard: destinations that lead back here are refused.
    relay.delivery.guard_listening(vec![address]);
    tracing::info!(%address, store = relay.delivery.store().backend(), owner = %relay.delivery.owner(), "flockrelay is serving.");
    let mut supervisor = Supervisor::start(&relay.delivery, grace);
    let (publish, site) = watch::channel(Site::new(router(relay.state.clone()), relay.limits));
    let (stop_http, mut http_stopped) = watch::channel(false);
    let http = listen::serve(listener, site, grace, async move {
        // The sender lives until serving ends.
        let _ = http_stopped.wait_for(|stopped| *stopped).await;
    });
    let mut http = std::pin::pin!(http);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut stopping = false;
    loop {
        tokio::select! {
            () = &mut http => break,
            () = &mut shutdown, if !stopping => {
                stopping = true;
                tracing::info!("No longer accepting requests.");
                // Receivers live in the listener and the delivery task, so sending can only fail once they ended.
                let _ = stop_http.send(true);
                supervisor.signal();
            }
            Some(reload) = reloads.recv(), if !stopping => {
                match super::reload::apply(&relay, reload).await {
                    Ok(next) => {
                        next.delivery.guard_listening(vec![address]);
                        supervisor.stop().await?;
                        let _ = publish.send(Site::new(router(next.state.clone()), next.limits));
                        supervisor = Supervisor::start(&next.delivery, grace);
                        relay = next;
                        tracing::info!(owner = %relay.delivery.owner(), "Configuration reloaded.");
                    }
                    Err(error) => {
                        tracing::error!(%error, "Cannot apply the new configuration; keeping the running one.");
                    }
                }
            }
        }
    }
    supervisor.stop().await?;
    tracing::info!("Stopped.");
    Ok(())
}

/// The key that seals secrets in the store (`store.secret_key`, or the key file,
/// generated at first start).
pub fn secret_key(config: &Config) -> Result<SecretKey, ServeError> {
    key::load_or_create(config.store.secret_key.as_ref(), &config.store.secret_key_file).map_err(ServeError::SecretKey)
}

/// The relay's key for commands that read its store (never a new one).
pub fn existing_secret_key(config: &Config) -> Result<SecretKey, ServeError> {
    key::load_existing(config.store.secret_key.as_ref(), &config.store.secret_key_file).map_err(ServeError::SecretKey)
}

/// One generation of the delivery supervisor.
struct Supervisor {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Supervisor {
    fn start(delivery: &Arc<delivery::Delivery>, grace: std::time::Duration) -> Self {
        let (stop, stopped) = watch::channel(false);
        Self { stop, task: tokio::spawn(Arc::clone(delivery).run(stopped, grace)) }
    }

    /// Tells the supervisor to stop (in-flight sends get the grace period).
    fn signal(&self) {
        // The receiver lives in the supervisor task, so sending can only fail once it ended.
        let _ = self.stop.send(true);
    }

    /// Stops the supervisor and waits until it has handed back its leases.
    async fn stop(&mut self) -> Result<(), ServeError> {
        self.signal();
        (&mut self.task).await.map_err(ServeError::Supervisor)
    }
}

/// The configured tokens, or the generated one kept in `server.token_file`.
fn api_tokens(config: &Config) -> Result<Vec<Secret>, ServeError> {
    if !config.server.auth_tokens.is_empty() {
        return Ok(config.server.auth_tokens.clone());
    }
    let path = &config.server.token_file;
    let problem = |reason: String| ServeError::TokenFile { path: path.display().to_string(), reason };
    if path.exists() {
        files::warn_if_loose(path, "The token file");
        let token = std::fs::read_to_string(path).map_err(|error| problem(error.to_string()))?;
        let token = token.trim();
        if token.len() < 16 {
            return Err(problem("holds no usable token (16 characters or more); delete it to get a new one".into()));
        }
        tracing::info!(file = %path.display(), "Using the API token kept in the token file.");
        return Ok(vec![Secret::new(token)]);
    }
    let token = auth::generate();
    files::write_private(path, &token).map_err(|error| problem(error.to_string()))?;
    tracing::warn!(file = %path.display(), "No API token configured: generated one and wrote it to the token file.");
    Ok(vec![Secret::new(token)])
}
