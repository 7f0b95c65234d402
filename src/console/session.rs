//! Console sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie
//! naming a session kept in this process's memory, with an expiry and a CSRF
//! token (synchronizer token: every form carries it, every POST must return
//! it). A visitor who is not signed in gets an anonymous session on the
//! sign-in page, so that the sign-in form is protected the same way; signing
//! in replaces it with a new id (no session fixation), signing out deletes it.
//!
//! Sessions live in one process: relays behind one load balancer need sticky
//! sessions for the console (the JSON API is unaffected).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use chrono::{DateTime, Duration, Utc};
use subtle::ConstantTimeEq as _;

use crate::config::SecureCookies;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "flockrelay_console";

/// Most sessions kept at once; past it, expired and then anonymous ones go first.
const MAX_SESSIONS: usize = 10_000;

/// How long an anonymous (sign-in page) session lasts.
const ANONYMOUS_TTL: Duration = Duration::minutes(30);

/// One session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The random cookie value.
    pub id: String,
    /// The synchronizer token every form of this session carries.
    pub csrf: String,
    /// Which API token signed in (its 1-based position in `server.auth_tokens`,
    /// for the change log), or `None` before sign-in.
    pub token: Option<usize>,
    pub expires: DateTime<Utc>,
}

impl Session {
    pub fn signed_in(&self) -> bool {
        self.token.is_some()
    }

    /// Whether `presented` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|presented| bool::from(self.csrf.as_bytes().ct_eq(presented.as_bytes())))
    }
}

/// Every live session of this process.
#[derive(Debug)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
    ttl: Duration,
    secure: SecureCookies,
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

impl Sessions {
    pub fn new(ttl: std::time::Duration, secure: SecureCookies) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            ttl: Duration::from_std(ttl).unwrap_or(Duration::hours(8)),
            secure,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live session a request's cookie names.
    pub fn find(&self, headers: &HeaderMap, now: DateTime<Utc>) -> Option<Session> {
        let id = cookie(headers)?;
        let mut sessions = self.lock();
        match sessions.get(&id) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                sessions.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Starts a session: signed in with token number `token`, or anonymous.
    pub fn start(&self, token: Option<usize>, now: DateTime<Utc>) -> Session {
        let ttl = if token.is_some() { self.ttl } else { ANONYMOUS_TTL.min(self.ttl) };
        let session = Session { id: random_id(), csrf: random_id(), token, expires: now + ttl };
        let mut sessions = self.lock();
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, kept| kept.expires > now);
        }
        if sessions.len() >= MAX_SESSIONS {
            sessions.retain(|_, kept| kept.signed_in());
        }
        if sessions.len() < MAX_SESSIONS || token.is_some() {
            sessions.insert(session.id.clone(), session.clone());
        }
        session
    }

    /// Ends a session (sign-out, or the anonymous one replaced at sign-in).
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The `Set-Cookie` value that hands `session` to the browser.
    pub fn set_cookie(&self, session: &Session, request: &HeaderMap, now: DateTime<Utc>) -> HeaderValue {
        let max_age = (session.expires - now).num_seconds().max(0);
        self.cookie_header(&format!("{COOKIE_NAME}={}; Max-Age={max_age}", session.id), request)
    }

    /// The `Set-Cookie` value that removes the cookie.
    pub fn clear_cookie(&self, request: &HeaderMap) -> HeaderValue {
        self.cookie_header(&format!("{COOKIE_NAME}=; Max-Age=0"), request)
    }

    fn cookie_header(&self, start: &str, request: &HeaderMap) -> HeaderValue {
        let secure = match self.secure {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::Auto => forwarded_https(request),
        };
        let secure = if secure { "; Secure" } else { "" };
        // Made of hex digits and fixed words only.
        HeaderValue::from_str(&format!("{start}; Path=/; HttpOnly; SameSite=Strict{secure}"))
            .unwrap_or_else(|_| HeaderValue::from_static("flockrelay_console=; Max-Age=0; Path=/"))
    }
}

/// Whether a proxy in front said the browser spoke HTTPS.
pub fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The session id a request's cookies carry.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|value| value.len() == 64 && value.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// Adds `Set-Cookie` to a response's headers.
pub fn append_cookie(headers: &mut HeaderMap, value: HeaderValue) {
    headers.append(SET_COOKIE, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("valid time")
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(value).expect("valid header"));
        headers
    }

    #[test]
    fn a_session_is_found_by_its_cookie_until_it_expires() {
        let sessions = Sessions::new(std::time::Duration::from_secs(3600), SecureCookies::Auto);
        let session = sessions.start(Some(1), at(0));
        let headers = with_cookie(&format!("other=1; {COOKIE_NAME}={}", session.id));
        assert_eq!(sessions.find(&headers, at(10)).as_ref(), Some(&session));
        assert_eq!(sessions.find(&headers, at(3600)), None, "expired");
        assert_eq!(sessions.find(&headers, at(10)), None, "and forgotten");
        assert_eq!(sessions.find(&with_cookie(&format!("{COOKIE_NAME}=abc")), at(0)), None);
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_behind_https() {
        let sessions = Sessions::new(std::time::Duration::from_secs(60), SecureCookies::Auto);
        let session = sessions.start(None, at(0));
        let plain = sessions.set_cookie(&session, &HeaderMap::new(), at(0));
        let plain = plain.to_str().expect("text");
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict") && !plain.contains("Secure"));
        let mut proxied = HeaderMap::new();
        proxied.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(sessions.set_cookie(&session, &proxied, at(0)).to_str().expect("text").ends_with("; Secure"));
        let always = Sessions::new(std::time::Duration::from_secs(60), SecureCookies::Always);
        assert!(always.clear_cookie(&HeaderMap::new()).to_str().expect("text").ends_with("; Secure"));
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let sessions = Sessions::new(std::time::Duration::from_secs(60), SecureCookies::Never);
        let session = sessions.start(Some(1), at(0));
        assert!(session.csrf_matches(Some(&session.csrf.clone())));
        assert!(!session.csrf_matches(None));
        assert!(!session.csrf_matches(Some("")));
        assert!(!session.csrf_matches(Some(&session.csrf[1..])));
    }
}
