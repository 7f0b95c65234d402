//! Sending: the shared reqwest clients, `Retry-After` parsing, and
//! [`deliver`], which runs one request through a notifier's rules.
//!
//! Redirects are never followed (a 3xx is the channel's answer) and proxies from
//! the environment are ignored, so a request goes exactly where it was configured.
//! Every connection passes the [`AddressPolicy`] and the loop guard
//! ([`OwnAddresses`]): names through the clients' DNS resolver, IP literals
//! before the request is sent. Every request carries the hop count
//! (`X-Flockrelay-Hops`, see [`crate::hops`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Client;

use super::policy::{AddressPolicy, OwnAddresses, PolicyResolver};
use super::{ChannelAnswer, NotifyError, OutboundRequest, Outcome, TlsPolicy};
use crate::secret::Scrubber;

/// The most of a response body kept for classification and the attempt log.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The relay's `User-Agent`.
pub const USER_AGENT: &str = concat!("flockrelay/", env!("CARGO_PKG_VERSION"));

/// Headers the relay adds to every request unless the request sets them
/// itself (see [`OutboundRequest::wire_headers`], the one list that is sent
/// and printed).
pub const TRANSPORT_HEADERS: [(&str, &str); 2] = [("user-agent", USER_AGENT), ("accept", "*/*")];

/// The longest `Retry-After` honoured unless told otherwise (the default of
/// `delivery.max_retry_after`).
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Sends requests; keeps one client per TLS policy and port so connections are
/// reused (the port, so that each client's resolver knows where its
/// connections go: the loop guard compares address *and* port).
pub struct HttpSender {
    timeout: Duration,
    /// Cap on a channel's `Retry-After`.
    max_retry_after: Duration,
    policy: Arc<AddressPolicy>,
    own: Arc<OwnAddresses>,
    clients: Mutex<HashMap<(TlsPolicy, u16), Client>>,
}

impl std::fmt::Debug for HttpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSender").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// The result of one attempt: the outcome plus what the attempt log records.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub outcome: Outcome,
    /// HTTP status, when the channel answered at all.
    pub status: Option<u16>,
    pub latency: Duration,
    /// The start of the channel's answer, or the transport error.
    pub excerpt: String,
}

impl HttpSender {
    /// `timeout` bounds each request from connect to the last byte of the answer.
    /// The default address policy applies: public addresses only.
    pub fn new(timeout: Duration) -> Self {
        Self::with_policy(timeout, AddressPolicy::default())
    }

    /// As [`HttpSender::new`], connecting only where `policy` allows.
    pub fn with_policy(timeout: Duration, policy: AddressPolicy) -> Self {
        Self {
            timeout,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            policy: Arc::new(policy),
            own: Arc::new(OwnAddresses::default()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The loop guard: from now on, connections to these listening sockets of
    /// the relay itself (after DNS, on every connection) are refused.
    pub fn guard_listening(&self, listening: Vec<std::net::SocketAddr>) {
        self.own.set(listening);
    }

    /// Caps every `Retry-After` at `max` (`delivery.max_retry_after`).
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The address policy every connection passes.
    pub fn policy(&self) -> &AddressPolicy {
        &self.policy
    }

    fn client(&self, tls: &TlsPolicy, port: u16) -> Result<Client, NotifyError> {
        let mut clients = self.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (tls.clone(), port);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        // No default headers here: every header a request carries comes from
        // `OutboundRequest::wire_headers`, which `flockrelay render` prints.
        let mut builder = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver::new(Arc::clone(&self.policy), Arc::clone(&self.own), port)))
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(60));
        if let Some(path) = &tls.ca_file {
            let pem = std::fs::read(path)
                .map_err(|error| NotifyError::Tls(format!("cannot read CA file {}: {error}", path.display())))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|error| NotifyError::Tls(format!("CA file {} is not PEM: {error}", path.display())))?;
            if certificates.is_empty() {
                return Err(NotifyError::Tls(format!("CA file {} holds no certificate", path.display())));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if tls.accept_invalid_certs {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let client = builder.build().map_err(|error| NotifyError::Tls(error.to_string()))?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Sends one request (POST) and reads (the start of) the answer.
    pub async fn send(&self, request: &OutboundRequest) -> Result<ChannelAnswer, NotifyError> {
        self.exchange(reqwest::Method::POST, request).await
    }

    /// As [`HttpSender::send`] with GET (and no body): a health check.
    pub async fn get(&self, request: &OutboundRequest) -> Result<ChannelAnswer, NotifyError> {
        self.exchange(reqwest::Method::GET, request).await
    }

    async fn exchange(&self, method: reqwest::Method, request: &OutboundRequest) -> Result<ChannelAnswer, NotifyError> {
        // IP literals skip the resolver, so they are checked here.
        self.policy.check_url(&request.url).map_err(|refused| NotifyError::Refused(refused.to_string()))?;
        let port = request.url.port_or_known_default().unwrap_or(443);
        let literal = match request.url.host() {
            Some(url::Host::Ipv4(address)) => Some(std::net::IpAddr::V4(address)),
            Some(url::Host::Ipv6(address)) => Some(std::net::IpAddr::V6(address)),
            _ => None,
        };
        if let Some(address) = literal {
            self.own
                .check(std::net::SocketAddr::new(address, port))
                .map_err(|refused| NotifyError::Refused(refused.to_string()))?;
        }
        let client = self.client(&request.tls, port)?;
        let get = method == reqwest::Method::GET;
        let mut builder = client.request(method, request.url.clone());
        if !get {
            builder = builder.body(request.body.clone());
        }
        for (name, value) in request.wire_headers() {
            builder = builder.header(name, value);
        }
        let mut response = builder.send().await.map_err(|error| transport_error(&error, self.timeout, request))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, Utc::now(), self.max_retry_after));
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(error) => return Err(transport_error(&error, self.timeout, request)),
            }
        }
        body.truncate(MAX_ANSWER_BYTES);
        Ok(ChannelAnswer { status, retry_after, body: String::from_utf8_lossy(&body).into_owned() })
    }
}

fn transport_error(error: &reqwest::Error, timeout: Duration, request: &OutboundRequest) -> NotifyError {
    if error.is_timeout() {
        return NotifyError::Timeout(timeout);
    }
    // reqwest's Display names the URL, which may hold a secret we do not know
    // of (a token in a query string): describe the error without it.
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_request() {
        "the request failed".to_owned()
    } else {
        "the exchange failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    NotifyError::Transport(request.mask(&text))
}

/// Sends `request` and classifies the answer with `classify`. A request that could
/// not be sent (refused, timed out, TLS failure) is a retry: the channel may be back.
/// An IP address the policy refuses fails at once: it will not change.
pub async fn deliver(
    sender: &HttpSender,
    request: &OutboundRequest,
    classify: impl Fn(&ChannelAnswer) -> Outcome,
) -> Delivery {
    let started = Instant::now();
    let scrubber = request.scrubber();
    conclude(sender.send(request).await, started, classify, &scrubber)
}

/// As [`deliver`] for a health check (GET): delivered means healthy.
pub async fn check(
    sender: &HttpSender,
    request: &OutboundRequest,
    classify: impl Fn(&ChannelAnswer) -> Outcome,
) -> Delivery {
    let started = Instant::now();
    let scrubber = request.scrubber();
    conclude(sender.get(request).await, started, classify, &scrubber)
}

/// The answer classified. The answer may echo the request: every secret of it
/// is masked before the excerpt or the reason is kept anywhere (the outcome is
/// decided on the answer as it came).
fn conclude(
    sent: Result<ChannelAnswer, NotifyError>,
    started: Instant,
    classify: impl Fn(&ChannelAnswer) -> Outcome,
    scrubber: &Scrubber,
) -> Delivery {
    match sent {
        Ok(answer) => Delivery {
            outcome: scrubbed(classify(&answer), scrubber),
            status: Some(answer.status),
            latency: started.elapsed(),
            excerpt: scrubber.scrub_cut(&scrubber.scrub(&answer.body).chars().take(1024).collect::<String>()),
        },
        Err(error) => {
            let reason = scrubber.scrub(&error.to_string());
            let outcome = match error {
                NotifyError::Refused(_) => Outcome::failed(reason.clone()),
                _ => Outcome::retry(None, reason.clone()),
            };
            Delivery { outcome, status: None, latency: started.elapsed(), excerpt: reason }
        }
    }
}

/// The outcome with its reason scrubbed; a reason is cut from the answer, so
/// a secret's beginning at its end is masked too.
fn scrubbed(outcome: Outcome, scrubber: &Scrubber) -> Outcome {
    match outcome {
        Outcome::Delivered => Outcome::Delivered,
        Outcome::Accepted { ack_id } => Outcome::Accepted { ack_id },
        Outcome::Retry { after, reason } => Outcome::Retry { after, reason: scrubber.scrub_cut(&reason) },
        Outcome::Failed { reason, disable_destination } => {
            Outcome::Failed { reason: scrubber.scrub_cut(&reason), disable_destination }
        }
        Outcome::Paused { cause, reason } => Outcome::Paused { cause, reason: scrubber.scrub_cut(&reason) },
        Outcome::TooLarge { reason } => Outcome::TooLarge { reason: scrubber.scrub_cut(&reason) },
    }
}

/// `Retry-After` (RFC 9110, section 10.2.3): delay-seconds (ASCII digits) or an
/// HTTP-date, at most `max`. The answer comes from outside, so nothing in it
/// may panic or overflow: more digits than fit are "very long" (the cap); a past
/// date is "now". Anything else — a sign, a fraction, an exponent, `NaN`,
/// garbage — is ignored (`None`), and the retry schedule applies.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>, max: Duration) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(max));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO).min(max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).single().expect("valid date")
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        assert_eq!(parse_retry_after("30", now(), HOUR), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after(" 2 ", now(), HOUR), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0", now(), HOUR), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now(), HOUR), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now(), HOUR), Some(Duration::ZERO));
    }

    #[test]
    fn a_long_retry_after_is_capped() {
        for value in ["3601", "99999999999999999999", "18446744073709551616", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            assert_eq!(parse_retry_after(value, now(), HOUR), Some(HOUR), "{value}");
        }
    }

    #[test]
    fn anything_but_digits_or_a_date_is_ignored() {
        for value in ["", "soon", "-5", "+5", "1.5", "1e308", "1e20", "NaN", "inf", "-inf", "0x10", "5 s", "\u{7f}"] {
            assert_eq!(parse_retry_after(value, now(), HOUR), None, "{value:?}");
        }
    }
}
