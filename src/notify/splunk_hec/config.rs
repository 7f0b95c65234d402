//! Settings of a Splunk HTTP Event Collector destination.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// A Splunk HEC endpoint, addressed as the Canary API does: host, port and token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkSettings {
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

impl SplunkSettings {
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
        }
    }
}
