//! The operator console: server-rendered HTML pages at `/` of the same
//! server, for what a SOC does with the relay — see the delivery state, set up
//! flocks, destinations and sources, look at messages, replay and recover.
//!
//! Pages call the same functions as the JSON API (the outbox's operator
//! methods, the management API's catalogue functions with the API's own
//! parameter checks), never the store, so a form answers with exactly the
//! API's messages. This module owns what only a browser needs:
//!
//! - [`session`] — sign-in sessions in a cookie, CSRF tokens.
//! - [`view`] — templates (Tera, HTML autoescaping), assets compiled into the
//!   binary, security headers (a strict Content-Security-Policy: no inline
//!   script or style), flash messages.
//! - [`pages`] — one handler file per page: overview, flocks, destinations,
//!   messages, sources, and sign-in.
//!
//! Every action is a plain form POST (the pages work without JavaScript); the
//! small script only refreshes the live queue figures.

pub mod pages;
pub mod session;
pub mod view;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::api::canary::{Caller, Params};
use crate::api::AppState;
use crate::config::ConsoleConfig;
use session::{Session, Sessions};
use view::Views;

/// What the console keeps between requests.
#[derive(Debug)]
pub struct Console {
    pub sessions: Sessions,
    pub views: Views,
    /// Sign-in attempts per client address.
    sign_in_limiter: DefaultKeyedRateLimiter<IpAddr>,
}

/// The console's templates do not compile (a defect of this build).
#[derive(Debug, thiserror::Error)]
#[error("the console's templates do not compile: {0}")]
pub struct ConsoleError(#[source] pub tera::Error);

impl Console {
    pub fn new(config: &ConsoleConfig) -> Result<Self, ConsoleError> {
        let per_minute = NonZeroU32::new(config.sign_in_per_minute).unwrap_or(NonZeroU32::MIN);
        Ok(Self {
            sessions: Sessions::new(config.session_ttl.0, config.secure_cookies),
            views: Views::new().map_err(ConsoleError)?,
            sign_in_limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        })
    }

    /// Whether a sign-in attempt from `peer` may be checked now.
    pub fn sign_in_allowed(&self, peer: Option<SocketAddr>) -> bool {
        let address = peer.map_or(IpAddr::from([0, 0, 0, 0]), |peer| peer.ip());
        if self.sign_in_limiter.len() > 10_000 {
            self.sign_in_limiter.retain_recent();
        }
        self.sign_in_limiter.check_key(&address).is_ok()
    }
}

/// The console's routes.
pub fn router() -> Router<AppState> {
    use pages::{auth, destinations, flocks, messages, overview, silences, sources};
    Router::new()
        .route("/", get(overview::page))
        .route("/console/overview.json", get(overview::live))
        .route("/console/console.css", get(view::stylesheet))
        .route("/console/console.js", get(view::script))
        .route("/sign-in", get(auth::page).post(auth::sign_in))
        .route("/sign-out", post(auth::sign_out))
        .route("/flocks", get(flocks::page))
        .route("/flocks/create", post(flocks::create))
        .route("/flocks/rename", post(flocks::rename))
        .route("/flocks/delete", post(flocks::delete))
        .route("/flocks/settings", post(flocks::settings))
        .route("/destinations", get(destinations::page))
        .route("/destinations/add", post(destinations::add))
        .route("/destinations/remove", post(destinations::remove))
        .route("/destinations/switch", post(destinations::switch))
        .route("/destinations/test", post(destinations::test))
        .route("/destinations/preview", get(destinations::preview))
        .route("/messages", get(messages::page))
        .route("/messages/{id}", get(messages::show))
        .route("/messages/replay", post(messages::replay))
        .route("/messages/recover", post(messages::recover))
        .route("/sources", get(sources::page))
        .route("/sources/add", post(sources::add))
        .route("/sources/remove", post(sources::remove))
        .route("/silences", get(silences::page))
        .route("/silences/add", post(silences::add))
        .route("/silences/expire", post(silences::expire))
        .layer(axum::middleware::map_response(view::security_headers))
}

fn peer(parts: &Parts) -> Option<SocketAddr> {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0)
}

/// Where a visitor without a session is sent: the sign-in page, which
/// brings them back to the page they asked for.
fn to_sign_in(parts: &Parts) -> Response {
    let next = parts.uri.path_and_query().map_or("/", |path| path.as_str());
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    view::redirect(&format!("/sign-in?next={next}"))
}

/// A signed-in visitor; without a session, the request is answered with a
/// redirect to the sign-in page.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub caller: Caller,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match state.console.sessions.find(&parts.headers, Utc::now()) {
            Some(session) if session.signed_in() => {
                let caller = Caller { token: session.token.unwrap_or(0), peer: peer(parts) };
                Ok(Self { session, caller })
            }
            _ => Err(to_sign_in(parts)),
        }
    }
}

/// A form POSTed by a signed-in visitor, its CSRF token checked: the fields
/// without the token.
#[derive(Debug, Clone)]
pub struct Posted {
    pub signed_in: SignedIn,
    pub fields: BTreeMap<String, String>,
}

/// The name of the CSRF field of every form.
pub const CSRF_FIELD: &str = "csrf_token";

/// Reads a form body: `field=value` pairs, the first of each name kept.
fn form_fields(body: &[u8]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        fields.entry(name.into_owned()).or_insert_with(|| value.into_owned());
    }
    fields
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await.map_err(|rejection| {
            view::problem(&state.console.views, rejection.status(), "The form could not be read.")
        })?;
        let mut fields = form_fields(&body);
        let token = fields.remove(CSRF_FIELD);
        if !signed_in.session.csrf_matches(token.as_deref()) {
            tracing::warn!(peer = ?signed_in.caller.peer, "Console form refused: missing or wrong CSRF token.");
            state.delivery.metrics().reject("console_csrf");
            return Err(view::problem(
                &state.console.views,
                StatusCode::FORBIDDEN,
                "This form did not come from this console session (missing or wrong CSRF token). Reload the page and try again.",
            ));
        }
        Ok(Self { signed_in, fields })
    }
}

impl Posted {
    /// The fields as the API's parameters, for the API's own checks.
    pub fn params(&self) -> Params {
        Params::new(self.fields.clone(), self.signed_in.caller)
    }

    /// A field, trimmed; blank counts as absent.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|value| value.trim()).filter(|value| !value.is_empty())
    }
}
