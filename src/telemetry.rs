//! Logging: tracing to stderr, filtered by `FLOCKRELAY_LOG` (default `info`),
//! as text or, with `FLOCKRELAY_LOG_FORMAT=json`, JSON lines. Text is coloured
//! only when stderr is a terminal (and `NO_COLOR` is not set), so journald,
//! files and pipes get plain lines. A value of either variable that cannot be
//! understood is an error naming it, never silently replaced.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Environment variable holding the log filter (`info`, `flockrelay=debug` …).
pub const LOG_ENV: &str = "FLOCKRELAY_LOG";
/// Environment variable selecting the log format (`text` or `json`).
pub const LOG_FORMAT_ENV: &str = "FLOCKRELAY_LOG_FORMAT";
/// The values `FLOCKRELAY_LOG_FORMAT` accepts (in any case).
pub const LOG_FORMATS: [&str; 2] = ["text", "json"];

/// Why logging could not be set up as asked.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{LOG_FORMAT_ENV}={value:?} is not a log format; accepted: {}", LOG_FORMATS.join(", "))]
    UnknownFormat { value: String },
    #[error("{LOG_ENV}={value:?} is not a log filter (e.g. info, debug, flockrelay=debug,sqlx=warn): {source}")]
    BadFilter {
        value: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("{name} is not valid UTF-8")]
    NotUnicode { name: &'static str },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// A variable's value; unset and empty mean the default.
fn variable(name: &'static str) -> Result<Option<String>, TelemetryError> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(TelemetryError::NotUnicode { name }),
    }
}

/// The format a `FLOCKRELAY_LOG_FORMAT` value names (`None`: the default, text).
pub fn parse_format(value: Option<&str>) -> Result<LogFormat, TelemetryError> {
    match value.map(|value| value.trim().to_ascii_lowercase()).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(_) => Err(TelemetryError::UnknownFormat { value: value.unwrap_or_default().to_owned() }),
    }
}

/// The filter a `FLOCKRELAY_LOG` value names (`None`: `info`).
pub fn parse_filter(value: Option<&str>) -> Result<EnvFilter, TelemetryError> {
    match value {
        None => Ok(EnvFilter::new("info")),
        Some(value) => {
            EnvFilter::try_new(value).map_err(|source| TelemetryError::BadFilter { value: value.to_owned(), source })
        }
    }
}

/// Installs the global subscriber; a second call leaves the first in place.
pub fn init() -> Result<(), TelemetryError> {
    let filter = parse_filter(variable(LOG_ENV)?.as_deref())?;
    let format = parse_format(variable(LOG_FORMAT_ENV)?.as_deref())?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.with_ansi(colours_wanted()).try_init(),
    };
    // Already installed (tests call init more than once): keep that one.
    drop(result);
    Ok(())
}

/// Colours only for a person at a terminal who has not asked for none
/// (<https://no-color.org>: any non-empty `NO_COLOR` turns them off).
fn colours_wanted() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_text_and_json_in_any_case() {
        assert_eq!(parse_format(None).ok(), Some(LogFormat::Text));
        assert_eq!(parse_format(Some("JSON")).ok(), Some(LogFormat::Json));
        assert_eq!(parse_format(Some(" text ")).ok(), Some(LogFormat::Text));
        let error = parse_format(Some("logfmt")).expect_err("unknown").to_string();
        assert_eq!(error, r#"FLOCKRELAY_LOG_FORMAT="logfmt" is not a log format; accepted: text, json"#);
    }

    #[test]
    fn a_filter_that_does_not_parse_is_named() {
        assert!(parse_filter(Some("flockrelay=debug,sqlx=warn")).is_ok());
        let error = parse_filter(Some("flockrelay=loud")).expect_err("bad level").to_string();
        assert!(error.starts_with(r#"FLOCKRELAY_LOG="flockrelay=loud" is not a log filter"#), "{error}");
    }
}
