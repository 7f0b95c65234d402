//! Every secret a destination holds, in every form it travels in: the one list
//! of what is masked in answers, logs and previews before they are stored or
//! shown ([`destination_secrets`]), and the secret parts of a URL
//! ([`url_secrets`]).

use super::generic::config::{GenericAuth, Signing};
use super::Channel;
use crate::destination::Destination;

/// Every secret a destination holds, in every form it is sent in: custom
/// header values, Basic credentials (and their base64), bearer token, client
/// secret, signing secrets, the HEC token, URL user-info (and the base64 the
/// HTTP client sends it as), and the credential parts of Slack and Teams
/// webhook URLs (for those, the URL is the credential). The one list of what
/// is masked in answers before they are stored or shown.
pub fn destination_secrets(destination: &Destination) -> Vec<String> {
    match &destination.channel {
        Channel::Slack(settings) => url_secrets(&settings.url, true),
        Channel::MsTeams(settings) => url_secrets(&settings.url, true),
        Channel::SplunkHec(settings) => vec![settings.token.expose().to_owned()],
        Channel::Generic(settings) => {
            let mut secrets = url_secrets(&settings.url, false);
            secrets.extend(settings.headers.values().map(|value| value.expose().to_owned()));
            match &settings.auth {
                Some(GenericAuth::Basic { username, password }) => {
                    secrets.push(password.expose().to_owned());
                    secrets.push(basic_credentials(username, Some(password.expose())));
                }
                Some(GenericAuth::Bearer { token }) => secrets.push(token.expose().to_owned()),
                Some(GenericAuth::ClientSecret { secret, .. }) => secrets.push(secret.expose().to_owned()),
                None => {}
            }
            match &settings.signing {
                Some(Signing::StandardWebhooks { secrets: keys }) => {
                    for key in keys {
                        secrets.push(key.expose().to_owned());
                        secrets.extend(key.expose().strip_prefix("whsec_").map(str::to_owned));
                    }
                }
                Some(Signing::FlockHmac { secret }) => secrets.push(secret.expose().to_owned()),
                None => {}
            }
            secrets
        }
    }
}

/// The secrets of a URL: its user-info (as written, decoded, and as the
/// `Authorization: Basic` value the HTTP client makes of it) and, when the URL
/// is itself the credential (`credential`), every path segment and query
/// value that looks like a token: 16 characters or more, or 8 or more with
/// anything but letters (well-known words such as `services` stay readable).
pub fn url_secrets(url: &url::Url, credential: bool) -> Vec<String> {
    let decoded = |text: &str| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned();
    let mut secrets = Vec::new();
    if !url.username().is_empty() || url.password().is_some() {
        let username = decoded(url.username());
        let password = url.password().map(decoded);
        secrets.push(basic_credentials(&username, password.as_deref()));
        secrets.extend([url.username().to_owned(), username]);
        secrets.extend(url.password().map(str::to_owned).into_iter().chain(password));
    }
    if credential {
        let looks_secret = |part: &str| {
            let length = part.chars().count();
            length >= 16 || (length >= 8 && part.chars().any(|ch| !ch.is_alphabetic()))
        };
        let segments = url.path_segments().into_iter().flatten().map(str::to_owned);
        let values = url
            .query()
            .unwrap_or_default()
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(_, value)| value.to_owned());
        for part in segments.chain(values) {
            let plain = decoded(&part);
            if looks_secret(&part) || looks_secret(&plain) {
                secrets.extend([part, plain]);
            }
        }
    }
    secrets.retain(|secret| !secret.is_empty());
    secrets
}

/// `username:password` base64-encoded, as `Authorization: Basic` carries it.
fn basic_credentials(username: &str, password: Option<&str>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{username}:{}", password.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> url::Url {
        url::Url::parse(text).expect("valid URL")
    }

    #[test]
    fn the_credential_parts_of_webhook_urls_are_secrets_and_the_words_are_not() {
        let slack =
            url_secrets(&url("https://hooks.slack.com/services/T0A1B2C3D/B0E1F2G3H/XXXXXXXXXXXXXXXXXXXXXXXX"), true);
        assert!(slack.contains(&"XXXXXXXXXXXXXXXXXXXXXXXX".to_owned()) && slack.contains(&"T0A1B2C3D".to_owned()));
        assert!(!slack.contains(&"services".to_owned()), "{slack:?}");
        let connector = url_secrets(
            &url("https://example.webhook.office.com/webhookb2/4f1c2a9e-0000-4a5b-9c8d-7e6f5a4b3c2d@0a1b/IncomingWebhook/9a8b7c6d5e4f/1c2d"),
            true,
        );
        assert!(connector.iter().any(|part| part.starts_with("4f1c2a9e-0000")), "{connector:?}");
        assert!(connector.contains(&"9a8b7c6d5e4f".to_owned()) && !connector.contains(&"IncomingWebhook".to_owned()));
        let workflow = url_secrets(&url("https://x.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sig=a%2Bb0123456789"), true);
        assert!(
            workflow.contains(&"a%2Bb0123456789".to_owned()) && workflow.contains(&"a+b0123456789".to_owned()),
            "{workflow:?}"
        );
        assert!(url_secrets(&url("https://automation.example.com/hooks/0123456789abcdef0123"), false).is_empty());
    }

    #[test]
    fn user_info_is_a_secret_as_written_decoded_and_as_basic_credentials() {
        let secrets = url_secrets(&url("https://us%40er:p%3Ass@h.example/"), false);
        for expected in ["us%40er", "us@er", "p%3Ass", "p:ss", "dXNAZXI6cDpzcw=="] {
            assert!(secrets.contains(&expected.to_owned()), "{expected} in {secrets:?}");
        }
    }
}
