//! Settings of a generic JSON webhook: URL, custom headers, authentication and signing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::Secret;

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
