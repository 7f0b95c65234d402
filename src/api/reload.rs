//! Reloading the configuration while serving (SIGHUP, as Alertmanager does).
//!
//! The caller validates the new file exactly as `flockrelay check` does
//! (templates included) and sends only a configuration that passed; an invalid
//! one never gets here and the running one stays. A reload applies, as a start
//! would: the file's flocks, destinations and sources (stored states such as a
//! channel's 410 verdict are kept), templates and mapping templates, every
//! `[delivery]` setting (schedule, timeouts, concurrency, breaker, address
//! policy), `[store] retention` and `max_alerts_per_commit`, and `[server]`
//! tokens, body limit and client timeouts. The delivery workers restart: those
//! running finish their round first; circuit breakers start closed again.
//!
//! Only a restart changes what the process was started on: `server.listen`
//! (the socket is open), `store.url` (the database is open) and
//! `server.shutdown_grace`; a reload that changes them logs a warning naming
//! them and keeps the running values.

use std::sync::Arc;

use super::run::{assemble, Relay, ServeError};
use crate::config::{Config, Seconds};
use crate::render::Renderer;
use crate::secret::Secret;

/// A configuration `check` accepted, with its templates, to apply now.
#[derive(Debug)]
pub struct Reload {
    pub config: Config,
    pub renderer: Renderer,
}

/// The settings only a restart changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartOnly {
    listen: String,
    store_url: Secret,
    shutdown_grace: Seconds,
}

impl RestartOnly {
    /// The restart-only settings of `config`.
    pub fn of(config: &Config) -> Self {
        Self {
            listen: config.server.listen.clone(),
            store_url: config.store.url.clone(),
            shutdown_grace: config.server.shutdown_grace,
        }
    }

    /// The keys whose values differ between `self` and `other`.
    pub fn changed(&self, other: &Self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        if self.listen != other.listen {
            keys.push("server.listen");
        }
        if self.store_url != other.store_url {
            keys.push("store.url");
        }
        if self.shutdown_grace != other.shutdown_grace {
            keys.push("server.shutdown_grace");
        }
        keys
    }
}

/// Builds the relay the new configuration describes on the running relay's
/// store and metrics. The running relay is untouched when this fails.
pub async fn apply(running: &Relay, reload: Reload) -> Result<Relay, ServeError> {
    let changed = running.restart_only.changed(&RestartOnly::of(&reload.config));
    if !changed.is_empty() {
        tracing::warn!(
            keys = changed.join(", "),
            "Changed settings that apply only at the next start; keeping the running values."
        );
    }
    let store = Arc::clone(running.delivery.store());
    let metrics = Arc::clone(running.delivery.metrics());
    let next = assemble(store, metrics, &reload.config, reload.renderer).await?;
    Ok(Relay { restart_only: running.restart_only.clone(), ..next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_settings_only_a_restart_changes() {
        let config = crate::config::load(None).expect("defaults load");
        let running = RestartOnly::of(&config);
        assert!(running.changed(&running.clone()).is_empty());
        let mut next = config.clone();
        next.server.listen = "127.0.0.1:9999".into();
        next.store.url = Secret::new("postgres://relay@db/relay");
        next.delivery.timeout = Seconds(std::time::Duration::from_secs(3));
        assert_eq!(running.changed(&RestartOnly::of(&next)), ["server.listen", "store.url"]);
    }
}
