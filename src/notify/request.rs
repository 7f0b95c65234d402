//! One HTTP request to a destination, ready to send: [`OutboundRequest`] (URL,
//! headers, body, certificate checking, what must be masked), how it is
//! printed with every secret masked (`flockrelay render`), and the functions
//! every caller builds a destination's request with ([`build_request`]), so that
//! each request carries the destination's secrets among its redactions.
//! Building only: sending lives in [`super::http`].

use url::Url;

use super::{by_kind, destination_secrets, http, AttemptContext, NotifyError, Payload};
use crate::destination::Destination;
use crate::secret::{mask_url, Scrubber, MASK};

/// One HTTP request ready to send.
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How to check the server's certificate.
    pub tls: TlsPolicy,
    /// Values that must never be printed anywhere (tokens, passwords, URL secrets).
    pub redactions: Vec<String>,
    /// Headers whose values are write-only (custom headers, `Authorization`):
    /// printed with the name only.
    pub masked_headers: Vec<String>,
}

impl OutboundRequest {
    /// Every header the sender puts on the request, in order: the request's
    /// own (content type, custom headers, auth, signatures), then the relay's
    /// [`http::TRANSPORT_HEADERS`] (`user-agent`, `accept`) that it did not set.
    /// [`http::HttpSender::send`] sends exactly this list and `flockrelay
    /// render` prints it, so the preview cannot drift from the wire.
    pub fn wire_headers(&self) -> Vec<(String, String)> {
        let mut headers = self.headers.clone();
        for (name, value) in http::TRANSPORT_HEADERS {
            if !headers.iter().any(|(existing, _)| existing.eq_ignore_ascii_case(name)) {
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        // Every request carries a hop count; one that says none starts a chain.
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case(crate::hops::HOPS_HEADER)) {
            headers.push((crate::hops::HOPS_HEADER.to_owned(), crate::hops::outbound(0)));
        }
        headers
    }

    /// The request as text (method, URL, headers, body) with every secret masked:
    /// what `flockrelay render` prints. Besides [`OutboundRequest::wire_headers`]
    /// it shows the `host` and `content-length` HTTP derives from the URL and body.
    pub fn to_masked_string(&self) -> String {
        self.masked_text(&String::from_utf8_lossy(&self.body))
    }

    /// As [`OutboundRequest::to_masked_string`], with the body indented for
    /// reading (each JSON value of it; a body that is not JSON as it is). Only
    /// the display changes: `content-length` is still that of the body sent.
    pub fn to_masked_string_pretty(&self) -> String {
        self.masked_text(&pretty_body(&self.body))
    }

    fn masked_text(&self, body: &str) -> String {
        let mut text = format!("POST {}\n", mask_url(&self.url));
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => text.push_str(&format!("host: {host}:{port}\n")),
            None => text.push_str(&format!("host: {host}\n")),
        }
        for (name, value) in self.wire_headers() {
            let masked = self.masked_headers.iter().any(|masked| masked.eq_ignore_ascii_case(&name));
            let value = if masked { MASK } else { value.as_str() };
            text.push_str(&format!("{name}: {value}\n"));
        }
        text.push_str(&format!("content-length: {}\n", self.body.len()));
        text.push('\n');
        text.push_str(body);
        text.push('\n');
        self.mask(&text)
    }

    /// Carries the hop count of the loop guard: `X-Flockrelay-Hops: hops + 1`
    /// (see [`crate::hops`]). Requests without it are sent as hop 1.
    pub fn set_hops(&mut self, hops: u32) {
        self.headers.retain(|(name, _)| !name.eq_ignore_ascii_case(crate::hops::HOPS_HEADER));
        self.headers.push((crate::hops::HOPS_HEADER.to_owned(), crate::hops::outbound(hops)));
    }

    /// Replaces every redaction in `text` with the mask.
    pub fn mask(&self, text: &str) -> String {
        self.scrubber().scrub(text)
    }

    /// What masks this request's redactions (and the values of its masked
    /// headers) in text that came back: answers that echo the request.
    pub fn scrubber(&self) -> Scrubber {
        let masked_values = self
            .headers
            .iter()
            .filter(|(name, _)| self.masked_headers.iter().any(|masked| masked.eq_ignore_ascii_case(name)))
            .map(|(_, value)| value);
        Scrubber::new(self.redactions.iter().chain(masked_values))
    }
}

/// A body for reading: every JSON value in it (one, or a HEC batch of several)
/// indented; anything else as it is.
fn pretty_body(body: &[u8]) -> String {
    let values: Result<Vec<serde_json::Value>, _> = serde_json::Deserializer::from_slice(body).into_iter().collect();
    match values {
        Ok(values) if !values.is_empty() => values
            .iter()
            .map(|value| serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string()))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// Certificate checking for one request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TlsPolicy {
    /// Extra trusted CA (PEM file), e.g. a self-signed Splunk HEC.
    pub ca_file: Option<std::path::PathBuf>,
    /// Accept any certificate: an explicit, per-destination opt-out.
    pub accept_invalid_certs: bool,
}

/// The request for `batch`, made by the destination's notifier, with every
/// secret the destination holds among its redactions ([`destination_secrets`]):
/// what the worker, `flockrelay send`/`test`/`render` and the API's tests send.
pub fn build_request(
    destination: &Destination,
    batch: &[&Payload],
    attempt: &AttemptContext<'_>,
) -> Result<OutboundRequest, NotifyError> {
    by_kind(destination.channel.kind())
        .request(destination, batch, attempt)
        .map(|request| with_secrets(destination, request))
}

/// `request` with every secret the destination holds among its redactions: for
/// every request made for a destination (deliveries, acknowledgement queries,
/// health checks), so that no answer echoing it is kept unmasked.
pub fn with_secrets(destination: &Destination, mut request: OutboundRequest) -> OutboundRequest {
    request.redactions.extend(destination_secrets(destination));
    request
}

/// Builds a request for a single payload, the common case.
pub fn single_request(
    destination: &Destination,
    payload: &Payload,
    attempt: &AttemptContext<'_>,
) -> Result<OutboundRequest, NotifyError> {
    build_request(destination, &[payload], attempt)
}

/// Common JSON request: POST `url` with `content-type: application/json`.
pub(super) fn json_request(url: Url, body: Vec<u8>) -> OutboundRequest {
    OutboundRequest {
        url,
        headers: vec![("content-type".into(), "application/json".into())],
        body,
        tls: TlsPolicy::default(),
        redactions: Vec::new(),
        masked_headers: Vec::new(),
    }
}
