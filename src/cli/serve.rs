//! `flockrelay serve`: the HTTP server and the delivery workers, on the store the
//! config names (embedded SQLite under ./data by default), until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;

use crate::config::Config;
use crate::render::Renderer;
use crate::server::run::{build, serve};

/// Exit code when the relay cannot start or stops abnormally (README's table).
const FAILED: i32 = 1;

/// Serves with a configuration `check` accepted; exits 0 after SIGTERM or
/// Ctrl-C, 1 (with the reason on standard error) when the relay cannot run.
pub async fn run(_path: Option<&Path>, config: Config, renderer: Renderer) -> anyhow::Result<i32> {
    match start(&config, renderer).await {
        Ok(()) => Ok(0),
        Err(error) => {
            eprintln!("error: {error:#}");
            Ok(FAILED)
        }
    }
}

async fn start(config: &Config, renderer: Renderer) -> anyhow::Result<()> {
    let relay = build(config, renderer, Vec::new()).await?;
    let address: SocketAddr = config.server.listen.parse().context("server.listen")?;
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    serve(relay, listener, config.server.shutdown_grace.0, shutdown_signal()).await?;
    Ok(())
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
