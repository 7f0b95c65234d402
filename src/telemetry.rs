//! Logging: tracing to stderr, filtered by `FLOCKRELAY_LOG` (default `info`),
//! as JSON lines when `FLOCKRELAY_LOG_FORMAT=json`.

use tracing_subscriber::EnvFilter;

/// Environment variable holding the log filter (`info`, `flockrelay=debug` …).
pub const LOG_ENV: &str = "FLOCKRELAY_LOG";
/// Environment variable selecting the log format (`text` or `json`).
pub const LOG_FORMAT_ENV: &str = "FLOCKRELAY_LOG_FORMAT";

/// Installs the global subscriber; a second call is a no-op.
pub fn init() {
    let filter = EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if std::env::var(LOG_FORMAT_ENV).is_ok_and(|format| format == "json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    drop(result);
}
