//! Checks that types cannot express, each naming the exact key, e.g.
//! `destinations.soc_hec.splunk.host: must be a bare domain name or IP address`.
//! Pure: looks at the configuration only (plus whether a named CA file exists).

use url::Url;

use super::{Config, DestinationConfig};
use crate::flock::{DEFAULT_FLOCK, GLOBAL};
use crate::notify::generic::config::{
    permanent_status_problem, GenericAuth, GenericSettings, Signing, MAX_BASIC_LEN, MAX_CLIENT_SECRET_LEN,
};
use crate::notify::generic::payload::RESERVED_HEADERS;
use crate::notify::policy::parse_cidr;
use crate::notify::splunk_hec::{config::SplunkSettings, event_url};
use crate::signing::standard_webhooks::check_secret;
use crate::sources::{valid_source_id, SchemeName, SourceConfig, MAX_SOURCE_ID_LEN};

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
    let secret_problem = |value: Option<&crate::secret::Secret>, max: usize| match value {
        None => Some("is required by this scheme".to_owned()),
        Some(value) if value.is_empty() || value.expose().chars().count() > max => {
            Some(format!("must be 1 to {max} characters"))
        }
        Some(value) if value.expose().chars().any(char::is_control) => {
            Some("must not contain control characters".to_owned())
        }
        Some(_) => None,
    };
    match scheme {
        SchemeName::StandardWebhooks => {
            if source.secrets.is_empty() {
                problems.add(&key("secrets"), "list at least one whsec_ secret (two while rotating)");
            }
            for (index, secret) in source.secrets.iter().enumerate() {
                if let Err(error) = check_secret(secret.expose()) {
                    problems.add(&key(&format!("secrets[{index}]")), error.to_string());
                }
            }
        }
        SchemeName::FlockHmac => {
            if let Some(reason) = secret_problem(source.secret.as_ref(), MAX_SHARED_SECRET_LEN) {
                problems.add(&key("secret"), reason);
            }
        }
        SchemeName::Basic => {
            match source.username.as_deref() {
                None => problems.add(&key("username"), "is required by this scheme"),
                Some(username) if username.is_empty() || username.chars().count() > MAX_BASIC_LEN => {
                    problems.add(&key("username"), format!("must be 1 to {MAX_BASIC_LEN} characters"));
                }
                Some(username) if username.contains(':') || username.chars().any(char::is_control) => {
                    problems.add(
                        &key("username"),
                        "must not contain `:` (Basic auth separates with it) or control characters",
                    );
                }
                Some(_) => {}
            }
            if let Some(reason) = secret_problem(source.password.as_ref(), MAX_BASIC_LEN) {
                problems.add(&key("password"), reason);
            }
        }
        SchemeName::ClientSecret => {
            if let Some(reason) = secret_problem(source.secret.as_ref(), MAX_CLIENT_SECRET_LEN) {
                problems.add(&key("secret"), reason);
            }
            if source.field.is_some() && source.header.is_some() {
                problems.add(&key("header"), "set field or header, not both");
            }
            if source.field.as_deref().is_some_and(|field| field.trim().is_empty()) {
                problems.add(&key("field"), "must not be empty");
            }
            if let Some(header) = source.header.as_deref() {
                if header.is_empty() || !header.bytes().all(is_token_byte) {
                    problems.add(&key("header"), "is not a valid header name");
                }
            }
        }
        SchemeName::Bearer => match source.token.as_ref() {
            None => problems.add(&key("token"), "is required by this scheme"),
            Some(token)
                if token.is_empty() || token.expose().chars().any(|ch| ch.is_control() || ch.is_whitespace()) =>
            {
                problems.add(&key("token"), "must be non-empty, without spaces or control characters");
            }
            Some(_) => {}
        },
        SchemeName::None => {}
    }
    problems.0
}

/// Longest shared secret of a flock_hmac source.
pub const MAX_SHARED_SECRET_LEN: usize = 1024;

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

fn destination_problems(config: &Config, name: &str, destination: &DestinationConfig, problems: &mut Problems) {
    let key = format!("destinations.{name}");
    let valid_name = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-');
    if !valid_name {
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
            &key,
            format!(
                "declare exactly one of slack, ms_teams, splunk, generic (found {})",
                if declared.is_empty() { "none".to_owned() } else { declared.join(", ") }
            ),
        );
    }
    for (below, reason) in destination.storm().problems() {
        problems.add(&format!("{key}.{below}"), reason);
    }
    let allow_http = config.delivery.allow_http;
    if let Some(slack) = &destination.slack {
        url_problems(&format!("{key}.slack.url"), &slack.url, allow_http, problems);
    }
    if let Some(teams) = &destination.ms_teams {
        url_problems(&format!("{key}.ms_teams.url"), &teams.url, allow_http, problems);
    }
    if let Some(splunk) = &destination.splunk {
        splunk_problems(&format!("{key}.splunk"), splunk, allow_http, problems);
    }
    if let Some(generic) = &destination.generic {
        generic_problems(&format!("{key}.generic"), generic, allow_http, problems);
    }
}

/// A destination URL must be http(s) with a host; plain http only when allowed.
pub fn url_problem(url: &Url, allow_http: bool) -> Option<String> {
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Some("must use https (set delivery.allow_http = true for labs and tests)".into()),
        other => return Some(format!("scheme `{other}` is not supported: use https")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Some("must name a host".into());
    }
    if url.fragment().is_some() {
        return Some("must not have a #fragment".into());
    }
    None
}

fn url_problems(key: &str, url: &Url, allow_http: bool, problems: &mut Problems) {
    if let Some(reason) = url_problem(url, allow_http) {
        problems.add(key, reason);
    }
}

fn splunk_problems(key: &str, splunk: &SplunkSettings, allow_http: bool, problems: &mut Problems) {
    if splunk.host.trim().is_empty() {
        problems.add(&format!("{key}.host"), "must not be empty");
    } else if let Err(reason) = event_url(splunk) {
        problems.add(&format!("{key}.host"), reason);
    }
    if splunk.port == 0 {
        problems.add(&format!("{key}.port"), "must be 1-65535");
    }
    if splunk.token.expose().trim().is_empty() {
        problems.add(
            &format!("{key}.token"),
            "must not be empty (set it here or in FLOCKRELAY_DESTINATIONS__<NAME>__SPLUNK__TOKEN)",
        );
    } else if splunk.token.expose().chars().any(|ch| ch.is_control() || ch == ' ') {
        problems.add(&format!("{key}.token"), "must not contain spaces or control characters");
    }
    if !splunk.https && !allow_http {
        problems.add(&format!("{key}.https"), "plain HTTP to a HEC needs delivery.allow_http = true");
    }
    for (field, reason) in splunk.delivery_problems() {
        problems.add(&format!("{key}.{field}"), reason);
    }
    if let Some(path) = &splunk.ca_file {
        if !splunk.https {
            problems.add(&format!("{key}.ca_file"), "only applies with https = true");
        } else if !path.is_file() {
            problems.add(&format!("{key}.ca_file"), format!("{} is not a readable file", path.display()));
        }
    }
}

fn generic_problems(key: &str, generic: &GenericSettings, allow_http: bool, problems: &mut Problems) {
    url_problems(&format!("{key}.url"), &generic.url, allow_http, problems);
    for (name, value) in &generic.headers {
        let header_key = format!("{key}.headers.\"{name}\"");
        if let Some(reason) = header_problem(name, value.expose()) {
            problems.add(&header_key, reason);
        }
        if name.eq_ignore_ascii_case("authorization") && generic.auth.is_some() {
            problems.add(&header_key, "conflicts with auth: set one or the other");
        }
    }
    match &generic.auth {
        Some(GenericAuth::Basic { username, password }) => {
            if username.is_empty() || username.chars().count() > MAX_BASIC_LEN {
                problems.add(&format!("{key}.auth.username"), format!("must be 1 to {MAX_BASIC_LEN} characters"));
            }
            if username.contains(':') {
                problems.add(&format!("{key}.auth.username"), "must not contain `:` (Basic auth separates with it)");
            }
            if password.is_empty() || password.expose().chars().count() > MAX_BASIC_LEN {
                problems.add(&format!("{key}.auth.password"), format!("must be 1 to {MAX_BASIC_LEN} characters"));
            }
        }
        Some(GenericAuth::Bearer { token }) if token.is_empty() || token.expose().chars().any(char::is_control) => {
            problems.add(&format!("{key}.auth.token"), "must be non-empty, without control characters");
        }
        Some(GenericAuth::ClientSecret { secret, field }) => {
            if secret.is_empty() || secret.expose().chars().count() > MAX_CLIENT_SECRET_LEN {
                problems.add(&format!("{key}.auth.secret"), format!("must be 1 to {MAX_CLIENT_SECRET_LEN} characters"));
            }
            if field.trim().is_empty() {
                problems.add(&format!("{key}.auth.field"), "must not be empty");
            }
        }
        _ => {}
    }
    match &generic.signing {
        Some(Signing::StandardWebhooks { secrets }) => {
            if secrets.is_empty() {
                problems.add(&format!("{key}.signing.secrets"), "list at least one whsec_ secret");
            }
            for (index, secret) in secrets.iter().enumerate() {
                if let Err(error) = check_secret(secret.expose()) {
                    problems.add(&format!("{key}.signing.secrets[{index}]"), error.to_string());
                }
            }
        }
        Some(Signing::FlockHmac { secret }) if secret.is_empty() => {
            problems.add(&format!("{key}.signing.secret"), "must not be empty");
        }
        _ => {}
    }
    for (index, status) in generic.permanent_statuses.iter().enumerate() {
        if let Some(reason) = permanent_status_problem(*status) {
            problems.add(&format!("{key}.permanent_statuses[{index}]"), reason);
        }
    }
}

/// A custom header must be a valid token name, not reserved, with a value free of
/// CR, LF and NUL (no header injection).
pub fn header_problem(name: &str, value: &str) -> Option<String> {
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Some("is not a valid header name".into());
    }
    if RESERVED_HEADERS.iter().any(|reserved| reserved.eq_ignore_ascii_case(name)) {
        return Some("is set by the relay itself and cannot be configured".into());
    }
    if value.bytes().any(|byte| byte == b'\r' || byte == b'\n' || byte == 0) {
        return Some("value must not contain CR, LF or NUL".into());
    }
    if value.bytes().any(|byte| byte < 0x20 && byte != b'\t' || byte == 0x7f) {
        return Some("value must not contain control characters".into());
    }
    None
}

/// RFC 9110 `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}
