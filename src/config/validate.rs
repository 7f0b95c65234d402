//! Checks that types cannot express, each naming the exact key, e.g.
//! `destinations.soc_hec.splunk.host: must be a bare domain name or IP address`.
//! Pure: looks at the configuration only (plus whether a named CA file exists).

use super::{Config, DestinationConfig};
use crate::flock::{DEFAULT_FLOCK, GLOBAL};
use crate::ingest::inbound::{valid_source_id, SchemeName, SourceConfig, MAX_SOURCE_ID_LEN};
pub use crate::notify::generic::config::MAX_SHARED_SECRET_LEN;
use crate::notify::generic::config::{MAX_BASIC_LEN, MAX_CLIENT_SECRET_LEN};
use crate::notify::policy::parse_cidr;
use crate::notify::settings::{is_token_byte, secret_problem, text_problem};
use crate::secret::Secret;
use crate::signing::standard_webhooks::check_secret;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Dotted path of the offending key.
    pub key: String,
    /// What is wrong and what would be right.
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Longest destination name.
pub const MAX_NAME_LEN: usize = 64;

/// Every problem in `config` (empty when it is valid).
pub fn validate(config: &Config) -> Vec<Problem> {
    let mut problems = Problems::default();
    if config.delivery.timeout.0.is_zero() {
        problems.add("delivery.timeout", "must be longer than zero");
    }
    relay_problems(config, &mut problems);
    if config.console.session_ttl.0.is_zero() {
        problems.add("console.session_ttl", "must be longer than zero");
    }
    if config.console.sign_in_per_minute == 0 {
        problems.add("console.sign_in_per_minute", "must be at least 1");
    }
    for (id, flock) in &config.flocks {
        let key = format!("flocks.\"{id}\"");
        if !id.starts_with("flock:") || id.len() <= "flock:".len() {
            problems.add(&key, "flock ids look like `flock:<name>`");
        }
        if let Err(refusal) = crate::limits::text(id, crate::limits::FLOCK_ID) {
            problems.add(&key, format!("a flock id {refusal} (alerts name it in `flock_id`)"));
        }
        if flock.name.trim().is_empty() {
            problems.add(&format!("{key}.name"), "must not be empty");
        }
    }
    for (name, destination) in &config.destinations {
        destination_problems(config, name, destination, &mut problems);
    }
    let flock_known = |flock: &str| flock == DEFAULT_FLOCK || config.flocks.contains_key(flock);
    for (id, source) in &config.sources {
        problems.0.extend(source_problems(&format!("sources.{id}"), id, source, &flock_known));
    }
    problems.0
}

/// What is wrong with one inbound source, each problem naming its key under
/// `prefix` (`sources.flowcode.secrets[1]`; with an empty prefix, as the API
/// reports them: `secrets[1]`). `flock_known` says whether a flock exists.
/// Secret values are never part of a reason.
pub fn source_problems(
    prefix: &str,
    id: &str,
    source: &SourceConfig,
    flock_known: &dyn Fn(&str) -> bool,
) -> Vec<Problem> {
    let key = |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}.{name}") };
    let mut problems = Problems::default();
    if !valid_source_id(id) {
        problems.add(
            if prefix.is_empty() { "id" } else { prefix },
            format!("source ids use a-z, 0-9, `_` and `-`, at most {MAX_SOURCE_ID_LEN} characters (they appear in /hooks/<id> and in environment variable names)"),
        );
    }
    if source.flock == GLOBAL {
        problems.add(
            &key("flock"),
            "a source's events belong to one flock; `global` is the global destination set, not a flock",
        );
    } else if !flock_known(&source.flock) {
        problems.add(
            &key("flock"),
            format!("unknown flock `{}`: use flock:default or a flock declared under [flocks]", source.flock),
        );
    }
    if source.template.as_deref().is_some_and(|template| template.trim().is_empty()) {
        problems.add(&key("template"), "must not be empty (leave it out for the scheme's default)");
    }
    unused_fields(source, &key, &mut problems);
    credential_problems(source, &key, &mut problems);
    problems.0
}

/// Fields the source's scheme does not use: refused, so a typo or a
/// half-changed scheme never leaves a secret lying around unused.
fn unused_fields(source: &SourceConfig, key: &dyn Fn(&str) -> String, problems: &mut Problems) {
    let scheme = source.scheme;
    let used: &[&str] = match scheme {
        SchemeName::StandardWebhooks => &["secrets"],
        SchemeName::FlockHmac => &["secret"],
        SchemeName::Basic => &["username", "password"],
        SchemeName::ClientSecret => &["secret", "field", "header"],
        SchemeName::Bearer => &["token"],
        SchemeName::None => &[],
    };
    let present = [
        ("secrets", !source.secrets.is_empty()),
        ("secret", source.secret.is_some()),
        ("username", source.username.is_some()),
        ("password", source.password.is_some()),
        ("token", source.token.is_some()),
        ("field", source.field.is_some()),
        ("header", source.header.is_some()),
    ];
    for (name, set) in present {
        if set && !used.contains(&name) {
            problems.add(&key(name), format!("is not used by scheme {scheme}; remove it"));
        }
    }
}

/// The credentials the source's scheme needs: present, bounded, printable
/// (the same credential rule as the channels' settings).
fn credential_problems(source: &SourceConfig, key: &dyn Fn(&str) -> String, problems: &mut Problems) {
    let required = |value: Option<&Secret>, max: usize| match value {
        None => Some("is required by this scheme".to_owned()),
        Some(value) => secret_problem(value, max),
    };
    let mut add = |name: &str, reason: Option<String>| {
        if let Some(reason) = reason {
            problems.add(&key(name), reason);
        }
    };
    match source.scheme {
        SchemeName::StandardWebhooks => {
            if source.secrets.is_empty() {
                add("secrets", Some("list at least one whsec_ secret (two while rotating)".into()));
            }
            for (index, secret) in source.secrets.iter().enumerate() {
                add(&format!("secrets[{index}]"), check_secret(secret.expose()).err().map(|error| error.to_string()));
            }
        }
        SchemeName::FlockHmac => add("secret", required(source.secret.as_ref(), MAX_SHARED_SECRET_LEN)),
        SchemeName::Basic => {
            let username = match source.username.as_deref() {
                None => Some("is required by this scheme".to_owned()),
                Some(username) if username.contains(':') => {
                    Some("must not contain `:` (Basic auth separates with it) or control characters".to_owned())
                }
                Some(username) => text_problem(username, MAX_BASIC_LEN),
            };
            add("username", username);
            add("password", required(source.password.as_ref(), MAX_BASIC_LEN));
        }
        SchemeName::ClientSecret => {
            add("secret", required(source.secret.as_ref(), MAX_CLIENT_SECRET_LEN));
            if source.field.is_some() && source.header.is_some() {
                add("header", Some("set field or header, not both".into()));
            }
            if source.field.as_deref().is_some_and(|field| field.trim().is_empty()) {
                add("field", Some("must not be empty".into()));
            }
            if source.header.as_deref().is_some_and(|header| header.is_empty() || !header.bytes().all(is_token_byte)) {
                add("header", Some("is not a valid header name".into()));
            }
        }
        SchemeName::Bearer => {
            let token = source.token.as_ref();
            let bad = token.is_some_and(|token| {
                token.is_empty() || token.expose().chars().any(|ch| ch.is_control() || ch.is_whitespace())
            });
            let reason = match token {
                None => Some("is required by this scheme".to_owned()),
                Some(_) if bad => Some("must be non-empty, without spaces or control characters".to_owned()),
                Some(_) => None,
            };
            add("token", reason);
        }
        SchemeName::None => {}
    }
}

/// Settings of `flockrelay serve`: delivery, store, server.
fn relay_problems(config: &Config, problems: &mut Problems) {
    let delivery = &config.delivery;
    if !(0.0..=1.0).contains(&delivery.jitter) {
        problems.add("delivery.jitter", "must be between 0 and 1");
    }
    if delivery.lease.0 <= delivery.timeout.0 {
        problems.add("delivery.lease", "must be longer than delivery.timeout, or a slow send would lose its lease");
    }
    for (key, value) in
        [("delivery.concurrency", delivery.concurrency), ("delivery.breaker_threshold", delivery.breaker_threshold)]
    {
        if value == 0 {
            problems.add(key, "must be at least 1");
        }
    }
    for (key, list) in
        [("delivery.allowed_cidrs", &delivery.allowed_cidrs), ("delivery.denied_cidrs", &delivery.denied_cidrs)]
    {
        for (index, text) in list.iter().enumerate() {
            if let Err(reason) = parse_cidr(text) {
                problems.add(&format!("{key}[{index}]"), reason);
            }
        }
    }
    if delivery.poll_interval.0.is_zero() {
        problems.add("delivery.poll_interval", "must be longer than zero");
    }
    let store = config.store.url.expose();
    if !(store.starts_with("sqlite:") || store.starts_with("postgres://") || store.starts_with("postgresql://")) {
        problems.add("store.url", "must start with sqlite:// or postgres://");
    }
    if let Some(key) = &config.store.secret_key {
        if let Err(error) = crate::store::key::SecretKey::from_base64(key.expose()) {
            problems.add("store.secret_key", error.to_string());
        }
    }
    if config.store.max_alerts_per_commit == 0 {
        problems.add("store.max_alerts_per_commit", "must be at least 1 (1 commits every request on its own)");
    }
    if config.server.listen.parse::<std::net::SocketAddr>().is_err() {
        problems.add("server.listen", "must be an address and port such as 127.0.0.1:8080 or [::]:8080");
    }
    for (index, token) in config.server.auth_tokens.iter().enumerate() {
        if token.expose().len() < 16 || token.expose().chars().any(|ch| ch.is_control() || ch.is_whitespace()) {
            problems.add(&format!("server.auth_tokens[{index}]"), "must be at least 16 characters, without spaces");
        }
    }
    if config.server.body_limit < 1024 {
        problems.add("server.body_limit", "must be at least 1024 bytes");
    }
    for (key, value) in [
        ("server.header_read_timeout", config.server.header_read_timeout),
        ("server.body_read_timeout", config.server.body_read_timeout),
    ] {
        if value.0.is_zero() {
            problems.add(key, "must be longer than zero");
        }
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, key: &str, reason: impl Into<String>) {
        self.0.push(Problem { key: key.to_owned(), reason: reason.into() });
    }
}

/// Lowercase a-z, 0-9, `_` and `-`, at most [`MAX_NAME_LEN`] characters.
fn valid_destination_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
}

/// Everything wrong with one `[destinations.<name>]` table, each problem naming its key.
fn destination_problems(config: &Config, name: &str, destination: &DestinationConfig, problems: &mut Problems) {
    let key = format!("destinations.{name}");
    if !valid_destination_name(name) {
        problems.add(
            &key,
            format!("destination names use a-z, 0-9, `_` and `-`, at most {MAX_NAME_LEN} characters (lowercase, so environment variables can address them)"),
        );
    }
    if destination.flock != GLOBAL
        && destination.flock != DEFAULT_FLOCK
        && !config.flocks.contains_key(&destination.flock)
    {
        problems.add(
            &format!("{key}.flock"),
            format!("unknown flock `{}`: use `global` or a flock declared under [flocks]", destination.flock),
        );
    }
    if let Some(limit) = destination.rate_limit {
        if !(limit.is_finite() && limit > 0.0) {
            problems.add(&format!("{key}.rate_limit"), "must be a positive number of messages per second");
        }
    }
    if destination.concurrency == Some(0) {
        problems.add(&format!("{key}.concurrency"), "must be at least 1");
    }
    for (index, event) in destination.events.iter().enumerate() {
        if event.trim().is_empty() {
            problems.add(&format!("{key}.events[{index}]"), "must not be empty");
        }
    }
    exactly_one_channel(&key, destination, problems);
    for (below, reason) in destination.storm().problems() {
        problems.add(&format!("{key}.{below}"), reason);
    }
    channel_settings_problems(&key, destination, config.delivery.allow_http, problems);
}

/// A destination declares exactly one channel table (`slack`, `ms_teams`, `splunk`, `generic`).
fn exactly_one_channel(key: &str, destination: &DestinationConfig, problems: &mut Problems) {
    let declared: Vec<&str> = [
        destination.slack.as_ref().map(|_| "slack"),
        destination.ms_teams.as_ref().map(|_| "ms_teams"),
        destination.splunk.as_ref().map(|_| "splunk"),
        destination.generic.as_ref().map(|_| "generic"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if declared.len() != 1 {
        problems.add(
            key,
            format!(
                "declare exactly one of slack, ms_teams, splunk, generic (found {})",
                if declared.is_empty() { "none".to_owned() } else { declared.join(", ") }
            ),
        );
    }
}

/// Each channel's settings check themselves, by the same rules as the API's.
fn channel_settings_problems(key: &str, destination: &DestinationConfig, allow_http: bool, problems: &mut Problems) {
    let channels = [
        destination.slack.as_ref().map(|settings| ("slack", settings.validate(allow_http))),
        destination.ms_teams.as_ref().map(|settings| ("ms_teams", settings.validate(allow_http))),
        destination.splunk.as_ref().map(|settings| ("splunk", settings.validate(allow_http))),
        destination.generic.as_ref().map(|settings| ("generic", settings.validate(allow_http))),
    ];
    for (table, findings) in channels.into_iter().flatten() {
        for invalid in findings {
            problems.add(&format!("{key}.{table}.{}", invalid.field), invalid.reason);
        }
    }
}
