//! `flockrelay serve`: the HTTP server and the delivery workers, on the store the
//! config names (embedded SQLite under ./data by default), until SIGTERM or Ctrl-C.

use std::net::SocketAddr;

use anyhow::Context as _;

use super::check::template_problems;
use crate::config::Config;
use crate::render::Renderer;
use crate::server::run::{build, serve};

pub async fn run(config: &Config, renderer: Renderer) -> anyhow::Result<i32> {
    let problems = template_problems(config, &renderer);
    let relay = build(config, renderer, problems).await?;
    let address: SocketAddr = config.server.listen.parse().context("server.listen")?;
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    serve(relay, listener, config.server.shutdown_grace.0, shutdown_signal()).await?;
    Ok(0)
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
