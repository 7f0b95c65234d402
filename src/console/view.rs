//! How console pages are made and answered: Tera templates compiled into the
//! binary (names end in `.html`, so every `{{ … }}` is HTML-escaped), the
//! stylesheet and script served from the binary, the security headers every
//! console answer carries, and small formatting helpers for templates.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tera::{Context, Tera};

use super::session::Session;
use super::CSRF_FIELD;

/// The Content-Security-Policy of every console answer: scripts, styles and
/// images from the console itself only, no inline script or style, no
/// framing, forms posting only to the console.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLESHEET: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

const TEMPLATES: [(&str, &str); 11] = [
    ("base.html", include_str!("templates/base.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("problem.html", include_str!("templates/problem.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("flocks.html", include_str!("templates/flocks.html")),
    ("destinations.html", include_str!("templates/destinations.html")),
    ("preview.html", include_str!("templates/preview.html")),
    ("messages.html", include_str!("templates/messages.html")),
    ("message.html", include_str!("templates/message.html")),
    ("sources.html", include_str!("templates/sources.html")),
    ("silences.html", include_str!("templates/silences.html")),
];

/// The compiled templates.
#[derive(Debug)]
pub struct Views {
    tera: Tera,
}

impl Views {
    pub fn new() -> Result<Self, tera::Error> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES)?;
        Ok(Self { tera })
    }

    /// Renders a page with `status`; a template error (a defect) is logged
    /// and answered with a plain 500.
    pub fn page(&self, status: StatusCode, template: &str, context: &Context) -> Response {
        match self.tera.render(template, context) {
            Ok(html) => (status, [(CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response(),
            Err(error) => {
                tracing::error!(template, error = ?error, "Console page does not render.");
                (StatusCode::INTERNAL_SERVER_ERROR, [(CONTENT_TYPE, "text/plain; charset=utf-8")], "page error")
                    .into_response()
            }
        }
    }
}

/// What every page's template sees: the section for the navigation, the
/// session's CSRF token, and an optional notice or error.
pub fn context(section: &str, session: Option<&Session>, flash: &Flash) -> Context {
    let mut context = Context::new();
    context.insert("section", section);
    context.insert("csrf_field", CSRF_FIELD);
    context.insert("csrf", session.map_or("", |session| session.csrf.as_str()));
    context.insert("signed_in", &session.is_some_and(Session::signed_in));
    context.insert("notice", &flash.notice);
    context.insert("error", &flash.error);
    context
}

/// A page's message after an action: a notice (it worked) or an error (the
/// API's message), and the status to answer with.
#[derive(Debug, Clone)]
pub struct Flash {
    pub status: StatusCode,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Default for Flash {
    fn default() -> Self {
        Self { status: StatusCode::OK, notice: None, error: None }
    }
}

impl Flash {
    /// The notice a redirect after a successful action names (`?notice=…`):
    /// only fixed texts, so a link cannot put words on a page.
    pub fn from_code(code: Option<&str>, count: Option<u64>) -> Self {
        let notice = match code {
            Some("flock_created") => Some("Flock created.".to_owned()),
            Some("flock_renamed") => Some("Flock renamed.".to_owned()),
            Some("flock_deleted") => Some("Flock deleted with its destinations.".to_owned()),
            Some("flock_changed") => Some("Flock settings changed.".to_owned()),
            Some("destination_added") => Some("Destination added.".to_owned()),
            Some("destination_removed") => Some("Destination removed; its queued messages were cancelled.".to_owned()),
            Some("destination_enabled") => Some("Destination enabled.".to_owned()),
            Some("destination_disabled") => Some("Destination disabled.".to_owned()),
            Some("replayed") => Some("Message queued again.".to_owned()),
            Some("recovered") => Some(format!("{} failed message(s) queued again.", count.unwrap_or(0))),
            Some("source_added") => Some("Source added.".to_owned()),
            Some("source_removed") => Some("Source removed.".to_owned()),
            Some("silence_added") => Some("Silence created.".to_owned()),
            Some("silence_expired") => Some("Silence expired.".to_owned()),
            Some("signed_out") => Some("Signed out.".to_owned()),
            _ => None,
        };
        Self { notice, ..Self::default() }
    }

    /// An action refused with the API's error.
    pub fn error(error: &crate::api::error::ApiError) -> Self {
        Self { status: error.status(), notice: None, error: Some(error.to_string()) }
    }
}

/// `303 See Other` to `location` (after a POST, the browser GETs it).
pub fn redirect(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
}

/// A page that only says what went wrong.
pub fn problem(views: &Views, status: StatusCode, message: &str) -> Response {
    let flash = Flash { status, notice: None, error: Some(message.to_owned()) };
    let mut context = context("", None, &flash);
    context.insert("status", &status.as_u16());
    views.page(status, "problem.html", &context)
}

/// Adds the security headers to every console answer; pages are never cached.
pub async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: &'static str, value: &'static str| {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    };
    set(headers, "content-security-policy", CONTENT_SECURITY_POLICY);
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    set(headers, "x-frame-options", "DENY");
    set(headers, "cross-origin-opener-policy", "same-origin");
    if !headers.contains_key(CACHE_CONTROL) {
        set(headers, "cache-control", "no-store");
    }
    response
}

/// `GET /console/console.css`.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLESHEET)
}

/// `GET /console/console.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type), (CACHE_CONTROL, "public, max-age=300")], body).into_response()
}

/// A time as people read it in a table: `2026-12-03 06:31:46 UTC`.
pub fn time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// How long ago, briefly: `42s`, `3m 12s`, `5h 2m`, `2d 3h`.
pub fn age(since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (now - since).num_seconds().max(0);
    match seconds {
        0..60 => format!("{seconds}s"),
        60..3600 => format!("{}m {}s", seconds / 60, seconds % 60),
        3600..86_400 => format!("{}h {}m", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{}d {}h", seconds / 86_400, seconds % 86_400 / 3600),
    }
}

/// A JSON object for templates from pairs.
pub fn object(pairs: impl IntoIterator<Item = (&'static str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        Views::new().expect("templates compile");
    }

    #[test]
    fn ages_read_briefly() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("valid");
        let ago = |seconds: i64| age(now - chrono::Duration::seconds(seconds), now);
        assert_eq!(ago(42), "42s");
        assert_eq!(ago(192), "3m 12s");
        assert_eq!(ago(5 * 3600 + 120), "5h 2m");
        assert_eq!(ago(2 * 86_400 + 3 * 3600), "2d 3h");
        assert_eq!(ago(-5), "0s");
    }
}
