//! `flockrelay serve`: the HTTP server and the delivery workers, on the store the
//! config names (embedded SQLite under ./data by default), until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;

use tokio::sync::mpsc;

use super::check;
use crate::api::reload::Reload;
use crate::api::run::{build, serve_reloading};
use crate::config::Config;
use crate::render::Renderer;

/// Exit code when the relay cannot start or stops abnormally (README's table).
const FAILED: i32 = 1;

/// Serves with a configuration `check` accepted; exits 0 after SIGTERM or
/// Ctrl-C, 1 (with the reason on standard error) when the relay cannot run.
/// SIGHUP reloads the configuration from `path` and the environment.
pub async fn run(path: Option<&Path>, config: Config, renderer: Renderer) -> anyhow::Result<i32> {
    // Before anything else: until a handler is installed, SIGHUP ends the process.
    let reloads = hangups(path.map(Path::to_owned))?;
    match start(&config, renderer, reloads).await {
        Ok(()) => Ok(0),
        Err(error) => {
            eprintln!("error: {error:#}");
            Ok(FAILED)
        }
    }
}

async fn start(config: &Config, renderer: Renderer, reloads: mpsc::Receiver<Reload>) -> anyhow::Result<()> {
    let relay = build(config, renderer, Vec::new()).await?;
    let address: SocketAddr = config.server.listen.parse().context("server.listen")?;
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    serve_reloading(relay, listener, config.server.shutdown_grace.0, shutdown_signal(), reloads).await?;
    Ok(())
}

/// On every SIGHUP: reads the file and the environment again and validates them
/// exactly as `check` does (templates included). A configuration that passes
/// is handed to the server; one that does not is logged with every problem,
/// naming its key, and the running configuration stays.
#[cfg(unix)]
fn hangups(path: Option<std::path::PathBuf>) -> anyhow::Result<mpsc::Receiver<Reload>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;
    let (reloads, received) = mpsc::channel(1);
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading the configuration.");
            let path = path.clone();
            // Reading files and rendering every template is blocking work.
            let validated = tokio::task::spawn_blocking(move || check::validated(path.as_deref())).await;
            match validated {
                Ok(Ok((config, renderer))) => {
                    if reloads.send(Reload { config, renderer }).await.is_err() {
                        break;
                    }
                }
                Ok(Err(refused)) => {
                    tracing::error!(error = %refused, "The new configuration is invalid; keeping the running one.");
                }
                Err(error) => {
                    tracing::error!(%error, "Cannot validate the new configuration; keeping the running one.")
                }
            }
        }
    });
    Ok(received)
}

#[cfg(not(unix))]
fn hangups(_path: Option<std::path::PathBuf>) -> anyhow::Result<mpsc::Receiver<Reload>> {
    Ok(mpsc::channel(1).1)
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
