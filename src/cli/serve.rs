//! `flockrelay serve`: the HTTP server and the delivery workers, on the store the
//! config names (embedded SQLite under ./data by default).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use tokio::sync::watch;

use super::check::template_problems;
use crate::catalogue;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::notify::http::HttpSender;
use crate::outbox::{Outbox, Settings};
use crate::render::Renderer;
use crate::secret::{redact_url_password, Secret};
use crate::server::{auth, router, AppState};
use crate::store;

pub async fn run(config: &Config, renderer: Renderer) -> anyhow::Result<i32> {
    let problems = template_problems(config, &renderer);
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|problem| format!("  - {problem}")).collect();
        bail!("templates do not render:\n{}", list.join("\n"));
    }
    let url = config.store.url.expose();
    let store = store::open(url).await.with_context(|| format!("cannot open the store {}", redact_url_password(url)))?;
    let (flocks, destinations) = catalogue::from_config(config);
    store.apply_config(&flocks, &destinations).await.context("cannot apply the config file's flocks and destinations")?;
    let tokens = api_tokens(config)?;
    let metrics = Arc::new(Metrics::new());
    let sender = Arc::new(HttpSender::new(config.delivery.timeout.0));
    let outbox = Outbox::new(store, Arc::new(renderer), sender, metrics, Settings::from_config(config))
        .await
        .context("cannot load flocks and destinations from the store")?;
    let address: SocketAddr = config.server.listen.parse().context("server.listen")?;
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let (stop, stopped) = watch::channel(false);
    let delivery = tokio::spawn(Arc::clone(&outbox).run(stopped, config.server.shutdown_grace.0));
    let state = AppState { outbox: Arc::clone(&outbox), tokens: Arc::new(tokens), body_limit: config.server.body_limit };
    tracing::info!(%address, store = outbox.store.backend(), owner = %outbox.owner, "flockrelay is serving.");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    tracing::info!("No longer accepting requests.");
    // The receiver lives in the delivery task; it cannot be gone before it ends.
    let _ = stop.send(true);
    delivery.await.context("the delivery supervisor ended abnormally")?;
    tracing::info!("Stopped.");
    Ok(0)
}

/// The configured tokens, or the generated one kept in `server.token_file`.
fn api_tokens(config: &Config) -> anyhow::Result<Vec<Secret>> {
    if !config.server.auth_tokens.is_empty() {
        return Ok(config.server.auth_tokens.clone());
    }
    let path = &config.server.token_file;
    if path.exists() {
        let token = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let token = token.trim();
        if token.len() < 16 {
            bail!("{} holds no usable token (16 characters or more); delete it to get a new one", path.display());
        }
        tracing::info!(file = %path.display(), "Using the API token kept in the token file.");
        return Ok(vec![Secret::new(token)]);
    }
    let token = auth::generate();
    write_private(path, &token)?;
    tracing::warn!(file = %path.display(), "No API token configured: generated one and wrote it to the token file.");
    Ok(vec![Secret::new(token)])
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(directory) = path.parent().filter(|directory| !directory.as_os_str().is_empty()) {
        std::fs::create_dir_all(directory).with_context(|| format!("cannot create {}", directory.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, format!("{contents}\n").as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "Cannot listen for Ctrl-C.");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "Cannot listen for SIGTERM.");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down."),
        () = terminate => tracing::info!("SIGTERM: shutting down."),
    }
}
