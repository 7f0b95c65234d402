//! Send-time additions to a generic webhook request: custom headers, auth, the
//! client secret carried in the body, and signatures over the final body.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::config::{GenericAuth, GenericSettings, Signing};
use crate::notify::{AttemptContext, OutboundRequest};
use crate::signing::{flock_hmac, json_stringify, standard_webhooks, SignatureError};

/// Adds the configured custom headers; a custom `Content-Type` replaces ours.
pub fn apply_headers(request: &mut OutboundRequest, settings: &GenericSettings) {
    for (name, value) in &settings.headers {
        set_header(request, name, value.expose());
        request.masked_headers.push(name.clone());
    }
}

/// Adds the `Authorization` header for Basic and bearer auth.
pub fn apply_auth(request: &mut OutboundRequest, auth: Option<&GenericAuth>) {
    let value = match auth {
        Some(GenericAuth::Basic { username, password }) => {
            request.redactions.push(password.expose().to_owned());
            format!("Basic {}", STANDARD.encode(format!("{username}:{}", password.expose())))
        }
        Some(GenericAuth::Bearer { token }) => {
            request.redactions.push(token.expose().to_owned());
            format!("Bearer {}", token.expose())
        }
        Some(GenericAuth::ClientSecret { secret, .. }) => {
            request.redactions.push(secret.expose().to_owned());
            return;
        }
        None => return,
    };
    request.redactions.push(value.clone());
    request.masked_headers.push("authorization".into());
    set_header(request, "authorization", &value);
}

/// The body with the client secret inserted as a top-level field (Flowingly
/// style); unchanged for other auth types.
pub fn with_client_secret(body: &str, auth: Option<&GenericAuth>) -> Result<Vec<u8>, String> {
    let Some(GenericAuth::ClientSecret { secret, field }) = auth else {
        return Ok(body.as_bytes().to_vec());
    };
    let mut value: Value = serde_json::from_str(body).map_err(|error| format!("stored body is not JSON: {error}"))?;
    let Value::Object(object) = &mut value else {
        return Err("client-secret authentication needs a JSON object body".into());
    };
    object.insert(field.clone(), Value::from(secret.expose()));
    serde_json::to_vec(&value).map_err(|error| error.to_string())
}

/// The body of a Flock-signed request: the JSON object with `timestamp` set to
/// this attempt's time in epoch seconds (where the template put the key, else
/// last), written as `JSON.stringify` writes it. The seed's receiver HMACs
/// `JSON.stringify(JSON.parse(body))`, so only a fixed point of that round trip
/// verifies there, and its five-minute window is about the time of sending.
pub fn flock_body(body: &[u8], now: DateTime<Utc>) -> Result<Vec<u8>, String> {
    let mut value: Value = serde_json::from_slice(body).map_err(|error| format!("stored body is not JSON: {error}"))?;
    let Value::Object(object) = &mut value else {
        return Err("flock_hmac signing needs a JSON object body (Flock events carry `timestamp`)".into());
    };
    object.insert("timestamp".to_owned(), Value::from(now.timestamp()));
    Ok(json_stringify::stringify(&value).into_bytes())
}

/// Signs the final body: Standard Webhooks headers (the message id as `webhook-id`,
/// this attempt's time as `webhook-timestamp`) or `X-Flock-Signature`.
pub fn sign(
    request: &mut OutboundRequest,
    signing: &Signing,
    attempt: &AttemptContext<'_>,
) -> Result<(), SignatureError> {
    match signing {
        Signing::StandardWebhooks { secrets } => {
            let keys = secrets
                .iter()
                .map(|secret| standard_webhooks::SigningKey::from_secret(secret.expose()))
                .collect::<Result<Vec<_>, _>>()?;
            let timestamp = attempt.now.timestamp();
            let signature = standard_webhooks::signature_header(&keys, attempt.message_id, timestamp, &request.body);
            set_header(request, standard_webhooks::ID_HEADER, attempt.message_id);
            set_header(request, standard_webhooks::TIMESTAMP_HEADER, &timestamp.to_string());
            set_header(request, standard_webhooks::SIGNATURE_HEADER, &signature);
        }
        Signing::FlockHmac { secret } => {
            let signature = flock_hmac::sign(secret.expose().as_bytes(), &request.body);
            set_header(request, flock_hmac::SIGNATURE_HEADER, &signature);
        }
    }
    Ok(())
}

/// Sets a header, replacing any earlier value of the same name (case-insensitive).
fn set_header(request: &mut OutboundRequest, name: &str, value: &str) {
    request.headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(name));
    request.headers.push((name.to_owned(), value.to_owned()));
}
