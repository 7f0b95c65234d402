//! Settings of a Splunk HTTP Event Collector destination and their one
//! `validate()` (used by the config file and the API).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::Seconds;
use crate::notify::settings::{Findings, Invalid};
use crate::secret::Secret;

/// Longest HEC host name accepted (a DNS name's limit).
pub const MAX_HOST_LEN: usize = 253;
/// Longest HEC token accepted.
pub const MAX_TOKEN_LEN: usize = 256;
/// Longest index name accepted.
pub const MAX_INDEX_LEN: usize = 80;

/// A Splunk HEC endpoint, addressed as the Canary API does: host, port and token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkHecSettings {
    /// Domain name or IP address of the HEC (no scheme, no path).
    pub host: String,
    /// HEC port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// HEC token, sent as `Authorization: Splunk <token>`.
    pub token: Secret,
    /// Use HTTPS (the HEC default). Plain HTTP only for labs.
    #[serde(default = "yes")]
    pub https: bool,
    /// Verify the HEC's certificate. Turning this off is an explicit, logged opt-out.
    #[serde(default = "yes")]
    pub verify_tls: bool,
    /// PEM file with the CA that signed a self-signed HEC certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Index to write to; the token's default index when unset.
    #[serde(default)]
    pub index: Option<String>,
    /// Sourcetype of the events.
    #[serde(default = "default_sourcetype")]
    pub sourcetype: Option<String>,
    /// Source of the events.
    #[serde(default = "default_source")]
    pub source: Option<String>,
    /// Event `host` field; HEC fills in the sender's address when unset.
    #[serde(default)]
    pub event_host: Option<String>,
    /// Wait for Splunk's indexer acknowledgement (the token's `useACK`): a
    /// message counts as delivered only once HEC confirms its events were
    /// indexed, not when HEC answers `Success` (which only means the data looked
    /// valid). Without it, a token with `useACK` works too: the data channel is
    /// always sent, the relay just does not wait.
    #[serde(default)]
    pub ack: bool,
    /// With `ack`: events not acknowledged this long after HEC accepted them
    /// are sent again by the retry schedule (Splunk may still index the first
    /// copy: at least once).
    #[serde(default = "default_ack_timeout")]
    pub ack_timeout: Seconds,
    /// With `ack`: how often to ask `/services/collector/ack`; one query asks
    /// for every id the destination is waiting for.
    #[serde(default = "default_ack_poll_interval")]
    pub ack_poll_interval: Seconds,
    /// The data channel sent as `X-Splunk-Request-Channel` (a UUID). HEC keeps
    /// acknowledgements per channel; by default each destination has its own,
    /// derived from its id, stable across restarts and shared by every relay
    /// using the same database.
    #[serde(default)]
    pub channel: Option<String>,
    /// The most bytes of events one batched request carries, so that a batch
    /// stays under the collector's `max_content_length` (and that of proxies in
    /// front of it). A larger single event is still sent on its own; a 413
    /// splits a batch and sends the halves.
    #[serde(default = "default_max_batch_bytes")]
    pub max_batch_bytes: usize,
}

/// Default of `ack_timeout`.
pub const DEFAULT_ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Default of `ack_poll_interval`.
pub const DEFAULT_ACK_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Default of `max_batch_bytes`: 1 MB, the HEC limit before Splunk 6.5 and far
/// under today's default `max_content_length` of 800 MB.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 1_000_000;

/// The longest `ack_timeout` accepted.
pub const MAX_ACK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

fn default_ack_timeout() -> Seconds {
    Seconds(DEFAULT_ACK_TIMEOUT)
}

fn default_ack_poll_interval() -> Seconds {
    Seconds(DEFAULT_ACK_POLL_INTERVAL)
}

fn default_max_batch_bytes() -> usize {
    DEFAULT_MAX_BATCH_BYTES
}

/// HEC's default port.
pub const DEFAULT_PORT: u16 = 8088;

fn default_port() -> u16 {
    DEFAULT_PORT
}

fn yes() -> bool {
    true
}

fn default_sourcetype() -> Option<String> {
    Some("flockrelay:alert".into())
}

fn default_source() -> Option<String> {
    Some("flockrelay".into())
}

impl SplunkHecSettings {
    /// Settings as the Canary API creates them: host, port, token, defaults elsewhere.
    pub fn new(host: impl Into<String>, port: u16, token: Secret) -> Self {
        Self {
            host: host.into(),
            port,
            token,
            https: true,
            verify_tls: true,
            ca_file: None,
            index: None,
            sourcetype: default_sourcetype(),
            source: default_source(),
            event_host: None,
            ack: false,
            ack_timeout: default_ack_timeout(),
            ack_poll_interval: default_ack_poll_interval(),
            channel: None,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
        }
    }

    /// Everything wrong with these settings, each naming its field below the
    /// `splunk` table. The config file and the API both refuse on these. Looks
    /// at the disk only for `ca_file`.
    pub fn validate(&self, allow_http: bool) -> Vec<Invalid> {
        let mut findings = Findings::default();
        let bad_text = |text: &str| text.chars().any(|ch| ch.is_control() || ch.is_whitespace());
        let host = self.host.trim();
        if host.is_empty() {
            findings.add("host", "must not be empty");
        } else if host.len() > MAX_HOST_LEN || bad_text(host) {
            findings.add("host", "must be a domain name or IP address");
        } else if let Err(reason) = event_url(self) {
            findings.add("host", reason);
        }
        if self.port == 0 {
            findings.add("port", "must be a number from 1 to 65535");
        }
        let token = self.token.expose();
        if token.trim().is_empty() {
            findings
                .add("token", "must not be empty (set it here or in FLOCKRELAY_DESTINATIONS__<NAME>__SPLUNK__TOKEN)");
        } else if token.chars().count() > MAX_TOKEN_LEN || bad_text(token) {
            findings.add(
                "token",
                format!("must be at most {MAX_TOKEN_LEN} characters, without spaces or control characters"),
            );
        }
        if !self.https && !allow_http {
            findings.add("https", "plain HTTP to a HEC needs delivery.allow_http = true");
        }
        if let Some(index) = &self.index {
            if index.is_empty() || index.len() > MAX_INDEX_LEN || bad_text(index) {
                findings.add("index", format!("must be 1 to {MAX_INDEX_LEN} characters, without spaces"));
            }
        }
        for (field, reason) in self.delivery_problems() {
            findings.add(field, reason);
        }
        if let Some(path) = &self.ca_file {
            if !self.https {
                findings.add("ca_file", "only applies with https = true");
            } else if !path.is_file() {
                findings.add("ca_file", format!("{} is not a readable file", path.display()));
            }
        }
        findings.0
    }

    /// Problems with the acknowledgement and batching settings, as (key, reason)
    /// pairs relative to the splunk table.
    fn delivery_problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if let Some(channel) = &self.channel {
            if uuid::Uuid::parse_str(channel.trim()).is_err() {
                problems.push(("channel", "must be a UUID such as 0f5d6c3a-2b1e-4f09-8a7b-6c5d4e3f2a10 (HEC answers code 11, \"Invalid data channel\", otherwise)".to_owned()));
            }
        }
        if self.max_batch_bytes == 0 {
            problems.push(("max_batch_bytes", "must be at least 1 (bytes)".to_owned()));
        }
        if self.ack {
            let (timeout, interval) = (self.ack_timeout.0, self.ack_poll_interval.0);
            if timeout.is_zero() || timeout > MAX_ACK_TIMEOUT {
                problems.push(("ack_timeout", format!("must be longer than zero and at most {MAX_ACK_TIMEOUT:?}")));
            }
            if interval.is_zero() || interval > timeout {
                problems.push(("ack_poll_interval", "must be longer than zero and at most ack_timeout".to_owned()));
            }
            if interval < std::time::Duration::from_millis(10) && !interval.is_zero() {
                problems.push(("ack_poll_interval", "must be at least 10ms".to_owned()));
            }
        }
        problems
    }
}

/// HEC's event endpoint.
pub const EVENT_PATH: &str = "/services/collector/event";

/// `https://host:port/services/collector/event` (IPv6 hosts bracketed).
pub fn event_url(settings: &SplunkHecSettings) -> Result<Url, String> {
    let scheme = if settings.https { "https" } else { "http" };
    let host = settings.host.trim();
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_owned() };
    let text = format!("{scheme}://{host}:{}{EVENT_PATH}", settings.port);
    let url = Url::parse(&text).map_err(|error| format!("host `{}` does not form a URL: {error}", settings.host))?;
    if url.path() != EVENT_PATH || url.query().is_some() || url.username() != "" {
        return Err(format!("host `{}` must be a bare domain name or IP address", settings.host));
    }
    Ok(url)
}
