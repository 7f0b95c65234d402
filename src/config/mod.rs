//! Configuration: built-in defaults (`config/flockrelay.default.toml`, compiled in)
//! < the config file (`config/flockrelay.toml` or `--config`) < environment
//! variables `FLOCKRELAY_…` with `__` between levels, e.g.
//! `FLOCKRELAY_DESTINATIONS__SOC_HEC__SPLUNK__TOKEN`.
//!
//! `load` merges and deserializes (unknown keys are errors), then `validate`
//! checks what types cannot, naming the exact key. No network I/O here. Errors
//! never quote a value ([`errors`]): it may be a secret.

mod duration;
pub mod env;
pub mod errors;
pub mod reachability;
pub mod secret_files;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

pub use duration::Seconds;

use crate::destination::{Destination, EventFilter};
use crate::flock::{FlockSettings, Scope, DEFAULT_FLOCK, GLOBAL};
use crate::ingest::inbound::{Source, SourceConfig};
use crate::notify::generic::config::GenericSettings;
use crate::notify::slack::config::SlackSettings;
use crate::notify::splunk_hec::config::SplunkHecSettings;
use crate::notify::teams::config::TeamsSettings;
use crate::notify::Channel;
use crate::secret::Secret;

/// The lowest configuration layer: every key with its default, commented.
pub const DEFAULTS: &str = include_str!("../../config/flockrelay.default.toml");

/// Where the config file is looked for when `--config` is not given.
pub const DEFAULT_PATH: &str = "config/flockrelay.toml";

/// Prefix of configuration environment variables.
pub const ENV_PREFIX: &str = "FLOCKRELAY_";

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The console-wide destination set (flock id `global`).
    pub global: GlobalConfig,
    /// Flocks by id (`flock:…`). `flock:default` always exists.
    #[serde(default)]
    pub flocks: BTreeMap<String, FlockConfig>,
    /// Destinations by name.
    #[serde(default)]
    pub destinations: BTreeMap<String, DestinationConfig>,
    /// Inbound webhook sources by id: who may post to `POST /hooks/<id>`, how
    /// their requests are verified, and how their payloads become alerts.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// Template overrides.
    pub templates: TemplatesConfig,
    /// How messages are sent.
    pub delivery: DeliveryConfig,
    /// Where the outbox lives.
    pub store: StoreConfig,
    /// The HTTP server of `flockrelay serve`.
    pub server: ServerConfig,
    /// The operator console served at `/`.
    pub console: ConsoleConfig,
}

/// The operator console: a browser UI at `/` of the same server, signed in
/// with an API token.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Serve the console. Off, `/` answers 404 as before and only the JSON API
    /// is served (for relays no person should reach with a browser).
    pub enabled: bool,
    /// When the session cookie is marked `Secure` (sent over HTTPS only). The
    /// relay itself speaks plain HTTP; TLS ends at a reverse proxy, which says
    /// so with `X-Forwarded-Proto: https`. `auto` trusts that header (a forged
    /// one can only make the forger's own cookie stricter), `always` marks
    /// every cookie (a console reached over plain HTTP then cannot sign in,
    /// except on localhost), `never` marks none.
    pub secure_cookies: SecureCookies,
    /// How long a sign-in lasts; then the console asks for the token again.
    pub session_ttl: Seconds,
    /// Sign-in attempts allowed per client address per minute (a burst of
    /// this many, then one every 60/n seconds); more are refused with 429.
    pub sign_in_per_minute: u32,
}

/// When the console's session cookie is `Secure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecureCookies {
    /// When the request came through a proxy that says `X-Forwarded-Proto: https`.
    Auto,
    Always,
    Never,
}

/// The outbox database.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://PATH` (embedded, the default) or `postgres://USER@HOST/DB`.
    pub url: Secret,
    /// Delivered messages are deleted this long after delivery.
    pub retention: Seconds,
    /// Most alerts one ingest transaction carries. Requests that arrive while a
    /// transaction commits are committed together in the next one (group
    /// commit); each is still answered only after its own alerts are committed.
    /// 1 commits every request on its own.
    pub max_alerts_per_commit: usize,
    /// The key that encrypts the secrets of destinations and sources in the
    /// database: 32 random bytes in base64 (`openssl rand -base64 32`). Unset:
    /// the key in `secret_key_file` is used. Relays sharing one PostgreSQL
    /// database need the same key; a wrong key stops the relay at start.
    #[serde(default)]
    pub secret_key: Option<Secret>,
    /// Where the key is kept when `secret_key` is not set; generated (mode
    /// 0600) at first start. Back it up with the database: without it the
    /// stored secrets cannot be read.
    pub secret_key_file: PathBuf,
}

/// The HTTP server.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// API tokens accepted as `auth_token` or `X-Canary-Auth-Token`. Empty: a
    /// token is generated at first start and kept in `token_file`.
    #[serde(default)]
    pub auth_tokens: Vec<Secret>,
    /// Where the generated token is kept when `auth_tokens` is empty.
    pub token_file: PathBuf,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How long in-flight sends and requests may take to finish after SIGTERM /
    /// Ctrl-C; then whatever is still open is closed and the process exits.
    pub shutdown_grace: Seconds,
    /// How long a client may take to send a request head (also how long an idle
    /// connection stays open): a slow client cannot hold connections forever.
    pub header_read_timeout: Seconds,
    /// How long a client may take to send a request body once its head has
    /// arrived; a late body is answered 408 and its connection closed.
    pub body_read_timeout: Seconds,
}

/// The global destination set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Whether flocks that use the global set get notifications at all.
    pub enabled: bool,
}

/// One flock's webhook settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FlockConfig {
    /// Display name.
    pub name: String,
    /// Follow the global set (the default for a new flock).
    #[serde(default = "yes")]
    pub use_global: bool,
    /// With `use_global = false`: whether the flock's own destinations are used.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// One destination: common settings plus exactly one channel table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// `global` or the id of the flock whose alerts it receives.
    #[serde(default = "global")]
    pub flock: String,
    /// A disabled destination keeps its settings but receives nothing.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Template to render with instead of the channel's default.
    #[serde(default)]
    pub template: Option<String>,
    /// Alert kinds to receive (`canary.incident`, `canarytoken.*`); empty = all.
    #[serde(default)]
    pub events: Vec<String>,
    /// Most messages per second sent to it. Unset: the channel's documented
    /// pace (Slack and Teams: 1 a second; generic and Splunk HEC: unpaced).
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// Most requests in flight to it at once. Unset: the channel's own (Slack
    /// and Teams: 1, which also keeps messages in order), else
    /// `[delivery] concurrency`.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// A Slack incoming webhook.
    #[serde(default)]
    pub slack: Option<SlackSettings>,
    /// A Microsoft Teams webhook.
    #[serde(default)]
    pub ms_teams: Option<TeamsSettings>,
    /// A Splunk HTTP Event Collector.
    #[serde(default)]
    pub splunk: Option<SplunkHecSettings>,
    /// A generic JSON webhook.
    #[serde(default)]
    pub generic: Option<GenericSettings>,
    /// Collect bursts into digests (`group_by`, `group_wait`, `group_interval`,
    /// `max_listed`); unset: one message per alert. See docs/storms.md.
    #[serde(default)]
    pub grouping: Option<crate::storm::Grouping>,
    /// Count repeats of the same alert within `window` instead of re-sending them.
    #[serde(default)]
    pub dedupe: Option<crate::storm::Dedupe>,
    /// Silences do not apply here. Unset: true for splunk and generic (a SIEM
    /// wants every event), false for slack and ms_teams.
    #[serde(default)]
    pub never_silenced: Option<bool>,
}

/// Template overrides.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesConfig {
    /// Directory of `*.tera` files; a file named like a built-in template
    /// (`slack.json.tera`) replaces it, others add new names.
    #[serde(default)]
    pub dir: Option<PathBuf>,
}

/// Sending.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Bound on one request, from connect to the end of the answer.
    pub timeout: Seconds,
    /// Allow `http://` destination URLs (labs and loopback tests only).
    pub allow_http: bool,
    /// Non-public networks destinations may reach all the same (CIDRs or single
    /// addresses), e.g. an internal Splunk or `127.0.0.0/8` for receivers on this
    /// machine. By default only public addresses are reachable; checked after DNS
    /// on every connection.
    pub allowed_cidrs: Vec<String>,
    /// Destinations may not have addresses in these networks, public or not;
    /// wins over `allowed_cidrs`. Link-local, unspecified and cloud metadata
    /// addresses are always refused.
    pub denied_cidrs: Vec<String>,
    /// One entry per attempt. The first attempt is made as soon as the message
    /// is queued (its entry is not waited for); entry n (counting from 0) is
    /// the wait, after attempt n failed, before attempt n+1. When the list is
    /// spent, the message fails.
    pub retry_schedule: Vec<Seconds>,
    /// Fraction of each wait added or removed at random, so that retries of many
    /// messages do not arrive together (0 to 1).
    pub jitter: f64,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Seconds,
    /// How long a claimed message is reserved for its worker; when it runs out
    /// (a crashed worker) the message is due again.
    pub lease: Seconds,
    /// Requests in flight per destination, for channels without a pace of their
    /// own (generic, Splunk HEC) and destinations without `concurrency`.
    pub concurrency: u32,
    /// Consecutive failed attempts after which a destination is paused.
    pub breaker_threshold: u32,
    /// How long a paused destination waits before one trial request.
    pub breaker_cooldown: Seconds,
    /// How often workers look for due retries (new messages wake them at once).
    pub poll_interval: Seconds,
}

fn yes() -> bool {
    true
}

fn global() -> String {
    GLOBAL.to_owned()
}

/// Why configuration could not be loaded. No variant carries a configured
/// value (figment's own error quotes values, so it is turned into problems
/// naming keys, see [`errors`], rather than kept as a source).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    Missing(PathBuf),
    #[error("cannot read config file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}, line {line}, column {column}: {reason}")]
    Syntax { path: PathBuf, line: usize, column: usize, reason: String },
    #[error("invalid configuration:\n{}", .0.iter().map(|problem| format!("  - {problem}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<validate::Problem>),
}

/// Loads defaults < file < environment, then validates. With `path` unset, the
/// default path is used if it exists (and defaults alone otherwise).
pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
    for variable in env::unknown_sections() {
        tracing::warn!(%variable, sections = env::sections().join(", "), "Ignoring an environment variable that names no configuration section.");
    }
    let figment = secret_files::resolve(figment(path)?)?;
    let config =
        figment.extract::<Config>().map_err(|error| ConfigError::Invalid(errors::problems(error, &figment)))?;
    let problems = validate::validate(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::Invalid(problems))
    }
}

/// The merged layers, before deserialization.
pub fn figment(path: Option<&Path>) -> Result<Figment, ConfigError> {
    let mut figment = Figment::from(Toml::string(DEFAULTS));
    let file = match path {
        Some(path) if !path.exists() => return Err(ConfigError::Missing(path.to_owned())),
        Some(path) => Some(path),
        None => Some(Path::new(DEFAULT_PATH)).filter(|path| path.exists()),
    };
    if let Some(file) = file {
        check_syntax(file)?;
        figment = figment.merge(Toml::file_exact(file));
    }
    // Only FLOCKRELAY_<SECTION>__<KEY>: the filter sees the name before `__` becomes `.`.
    let env = Env::prefixed(ENV_PREFIX).filter(|name| env::is_config_key(name.as_str())).split(env::LEVEL_SEPARATOR);
    Ok(figment.merge(env))
}

/// Reads and parses the file on its own first, so that a syntax error is told
/// by line and column only: TOML parsers quote the line, which may hold a secret.
fn check_syntax(path: &Path) -> Result<(), ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable { path: path.to_owned(), source })?;
    match toml::from_str::<toml::Table>(&text) {
        Ok(_) => Ok(()),
        Err(error) => {
            let (line, column) = errors::line_and_column(&text, error.span().map_or(0, |span| span.start));
            let reason = error.message().lines().map(str::trim).filter(|line| !line.is_empty()).collect::<Vec<_>>();
            Err(ConfigError::Syntax { path: path.to_owned(), line, column, reason: reason.join(", ") })
        }
    }
}

impl Config {
    /// Settings of every flock, `flock:default` included.
    pub fn flock_settings(&self, flock_id: &str) -> Option<FlockSettings> {
        match self.flocks.get(flock_id) {
            Some(flock) => Some(FlockSettings { use_global: flock.use_global, enabled: flock.enabled }),
            None if flock_id == DEFAULT_FLOCK => Some(FlockSettings::default()),
            None => None,
        }
    }

    /// Every destination, in name order. Call after validation (which guarantees
    /// exactly one channel each); a destination without one is skipped.
    pub fn destinations(&self) -> Vec<Destination> {
        self.destinations
            .iter()
            .filter_map(|(name, destination)| {
                Some(Destination {
                    id: name.clone(),
                    name: name.clone(),
                    scope: Scope::from(destination.flock.clone()),
                    channel: destination.channel()?,
                    template: destination.template.clone(),
                    events: EventFilter(destination.events.clone()),
                    enabled: destination.enabled,
                    rate_limit: destination.rate_limit,
                    concurrency: destination.concurrency,
                    storm: destination.storm(),
                })
            })
            .collect()
    }
}

impl Config {
    /// Every inbound source, in id order. Call after validation (which makes sure
    /// each names what its scheme needs); an incomplete one is skipped.
    pub fn sources(&self) -> Vec<Source> {
        self.sources.iter().filter_map(|(id, source)| source.to_source(id)).collect()
    }
}

impl DestinationConfig {
    /// Its storm settings (grouping, dedupe, never_silenced), as stored.
    pub fn storm(&self) -> crate::storm::StormSettings {
        crate::storm::StormSettings {
            grouping: self.grouping.clone(),
            dedupe: self.dedupe.clone(),
            never_silenced: self.never_silenced,
        }
    }

    /// The one channel this destination declares (validation makes sure of it).
    pub fn channel(&self) -> Option<Channel> {
        let mut channels = self.channels();
        (channels.len() == 1).then(|| channels.remove(0))
    }

    fn channels(&self) -> Vec<Channel> {
        let mut channels = Vec::new();
        channels.extend(self.slack.clone().map(Channel::Slack));
        channels.extend(self.ms_teams.clone().map(Channel::MsTeams));
        channels.extend(self.splunk.clone().map(Channel::SplunkHec));
        channels.extend(self.generic.clone().map(Channel::Generic));
        channels
    }
}
