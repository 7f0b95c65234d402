//! Settings of a generic JSON webhook: URL, custom headers, authentication and
//! signing, and their one `validate()` (used by the config file and the API).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::notify::settings::{is_token_byte, secret_problem, text_problem, url_problem, Findings, Invalid};
use crate::secret::Secret;
use crate::signing::standard_webhooks::{self, check_secret};

/// Headers a configuration may not set: they belong to the transport or to us.
pub const RESERVED_HEADERS: [&str; 15] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    standard_webhooks::ID_HEADER,
    standard_webhooks::TIMESTAMP_HEADER,
    standard_webhooks::SIGNATURE_HEADER,
    crate::hops::HOPS_HEADER,
];

/// Most custom headers one webhook may have.
pub const MAX_HEADERS: usize = 32;
/// Longest custom header value.
pub const MAX_HEADER_VALUE_LEN: usize = 4096;
/// Longest bearer token.
pub const MAX_BEARER_LEN: usize = 4096;
/// Most Standard Webhooks secrets one webhook signs with (two while rotating).
pub const MAX_SIGNING_SECRETS: usize = 4;
/// Longest Flock HMAC shared secret.
pub const MAX_SHARED_SECRET_LEN: usize = 1024;

/// A generic webhook, as the Canary API's `generic/add` creates it, plus the
/// authentication and signing options of the Flowingly and Standard Webhooks senders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenericSettings {
    /// Where alerts are POSTed.
    pub url: Url,
    /// Extra headers sent with every request (`{"Header-Name" = "Value"}`). Values
    /// are write-only: lists show the names only.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// How the request authenticates itself, if at all.
    #[serde(default)]
    pub auth: Option<GenericAuth>,
    /// How the request is signed, if at all.
    #[serde(default)]
    pub signing: Option<Signing>,
    /// Answers that fail a message at once instead of being retried. A Standard
    /// Webhooks sender retries every answer but a 2xx, except 410 Gone (which
    /// disables the destination), so that a receiver that is redeploying or
    /// briefly misconfigured (401, 404 …) loses nothing. List here the statuses
    /// your receiver uses to mean "never send this again", e.g. `[400, 422]`.
    /// Each is 300-599; 410 always disables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permanent_statuses: Vec<u16>,
}

/// Lowest status a destination may list as permanent.
pub const MIN_PERMANENT_STATUS: u16 = 300;
/// Highest status a destination may list as permanent.
pub const MAX_PERMANENT_STATUS: u16 = 599;

/// Why a status cannot be listed as permanent, if it cannot.
pub fn permanent_status_problem(status: u16) -> Option<String> {
    (!(MIN_PERMANENT_STATUS..=MAX_PERMANENT_STATUS).contains(&status))
        .then(|| format!("must be an HTTP status from {MIN_PERMANENT_STATUS} to {MAX_PERMANENT_STATUS} (got {status})"))
}

/// Authentication of a generic webhook request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum GenericAuth {
    /// `Authorization: Basic base64(username:password)`; each at most 100 characters.
    Basic { username: String, password: Secret },
    /// `Authorization: Bearer <token>`.
    Bearer { token: Secret },
    /// A shared secret carried in the JSON body (Flowingly's "client secret"),
    /// at most 250 characters, under `field` (default `client_secret`).
    ClientSecret {
        secret: Secret,
        #[serde(default = "default_client_secret_field")]
        field: String,
    },
}

/// Longest accepted Basic username or password (Flowingly's limit).
pub const MAX_BASIC_LEN: usize = 100;
/// Longest accepted client secret (Flowingly's limit).
pub const MAX_CLIENT_SECRET_LEN: usize = 250;

fn default_client_secret_field() -> String {
    "client_secret".into()
}

/// Signing of a generic webhook request, computed at send time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
pub enum Signing {
    /// Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    /// Every listed `whsec_` secret signs, so receivers keep verifying while a
    /// secret is rotated.
    StandardWebhooks { secrets: Vec<Secret> },
    /// Flock referral style: `X-Flock-Signature` = hex HMAC-SHA256 of the body.
    FlockHmac { secret: Secret },
}

impl GenericSettings {
    /// Everything wrong with these settings, each naming its field below the
    /// `generic` table. The config file and the API both refuse on these.
    pub fn validate(&self, allow_http: bool) -> Vec<Invalid> {
        let mut findings = Findings::default();
        findings.add_if("url", url_problem(&self.url, allow_http));
        self.header_findings(&mut findings);
        self.auth_findings(&mut findings);
        self.signing_findings(&mut findings);
        for (index, status) in self.permanent_statuses.iter().enumerate() {
            findings.add_if(format!("permanent_statuses[{index}]"), permanent_status_problem(*status));
        }
        findings.0
    }

    fn header_findings(&self, findings: &mut Findings) {
        if self.headers.len() > MAX_HEADERS {
            findings.add("headers", format!("at most {MAX_HEADERS} headers"));
        }
        let mut seen: Vec<String> = Vec::new();
        for (name, value) in &self.headers {
            let field = format!("headers.\"{name}\"");
            if let Some(reason) = header_problem(name, value.expose()) {
                findings.add(&field, reason);
            } else if value.expose().len() > MAX_HEADER_VALUE_LEN {
                findings.add(&field, format!("value is longer than {MAX_HEADER_VALUE_LEN} bytes"));
            }
            if name.eq_ignore_ascii_case("authorization") && self.auth.is_some() {
                findings.add(&field, "conflicts with auth_type (auth in the config file): set one or the other");
            }
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                findings.add(&field, "is given twice (header names ignore case)");
            }
            seen.push(lower);
        }
    }

    fn auth_findings(&self, findings: &mut Findings) {
        match &self.auth {
            Some(GenericAuth::Basic { username, password }) => {
                findings.add_if("auth.username", text_problem(username, MAX_BASIC_LEN));
                if username.contains(':') {
                    findings.add("auth.username", "must not contain `:` (Basic auth separates with it)");
                }
                findings.add_if("auth.password", secret_problem(password, MAX_BASIC_LEN));
            }
            Some(GenericAuth::Bearer { token }) => {
                findings.add_if("auth.token", secret_problem(token, MAX_BEARER_LEN));
            }
            Some(GenericAuth::ClientSecret { secret, field }) => {
                findings.add_if("auth.secret", secret_problem(secret, MAX_CLIENT_SECRET_LEN));
                if field.trim().is_empty() {
                    findings.add("auth.field", "must not be empty");
                }
            }
            None => {}
        }
    }

    fn signing_findings(&self, findings: &mut Findings) {
        match &self.signing {
            Some(Signing::StandardWebhooks { secrets }) => {
                if secrets.is_empty() {
                    findings.add("signing.secrets", "list at least one whsec_ secret");
                }
                if secrets.len() > MAX_SIGNING_SECRETS {
                    findings.add("signing.secrets", format!("at most {MAX_SIGNING_SECRETS} secrets"));
                }
                for (index, secret) in secrets.iter().enumerate() {
                    if let Err(error) = check_secret(secret.expose()) {
                        findings.add(format!("signing.secrets[{index}]"), error.to_string());
                    }
                }
            }
            Some(Signing::FlockHmac { secret }) => {
                findings.add_if("signing.secret", secret_problem(secret, MAX_SHARED_SECRET_LEN));
            }
            None => {}
        }
    }
}

/// A custom header must be a valid token name, not one the relay sets, with a
/// value free of CR, LF and NUL (no header injection).
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
