//! Sign-in with an API token and sign-out. A failed sign-in is counted
//! (`flockrelay_requests_rejected_total{reason="console_sign_in"}`), logged with
//! the client's address, rate-limited per address, and answered with one
//! message that reveals nothing about the token.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;

use super::NoticeQuery;
use crate::api::{auth, AppState};
use crate::console::session::{append_cookie, Session};
use crate::console::view::{context, redirect, Flash};
use crate::console::{form_fields, Posted, CSRF_FIELD};

/// `?next=` (where to go after signing in) and `?notice=`.
#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    #[serde(flatten)]
    notice: NoticeQuery,
}

/// A path on this console to go back to; anything else (another site,
/// `//host`, the sign-in page itself) goes to the overview.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && !next.starts_with("/sign-in")
                && next.len() <= 2000
                && !next.chars().any(char::is_control) =>
        {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Renders the sign-in form for `session`, handing its cookie over when new.
fn form(state: &AppState, session: &Session, new: bool, headers: &HeaderMap, next: &str, flash: &Flash) -> Response {
    let mut page = context("sign-in", Some(session), flash);
    page.insert("next", next);
    let mut response = state.console.views.page(flash.status, "sign_in.html", &page);
    if new {
        append_cookie(response.headers_mut(), state.console.sessions.set_cookie(session, headers, Utc::now()));
    }
    response
}

/// The visitor's anonymous session, or a new one (`true`).
fn anonymous(state: &AppState, headers: &HeaderMap) -> (Session, bool) {
    let now = Utc::now();
    match state.console.sessions.find(headers, now) {
        Some(session) if !session.signed_in() => (session, false),
        _ => (state.console.sessions.start(None, now), true),
    }
}

/// `GET /sign-in`.
pub async fn page(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<SignInQuery>) -> Response {
    let next = local_path(query.next.as_deref());
    if state.console.sessions.find(&headers, Utc::now()).is_some_and(|session| session.signed_in()) {
        return redirect(&next);
    }
    let (session, new) = anonymous(&state, &headers);
    form(&state, &session, new, &headers, &next, &Flash::from_code(query.notice.notice.as_deref(), None))
}

/// `POST /sign-in`: `token`, `next` and the CSRF token of the anonymous session.
pub async fn sign_in(State(state): State<AppState>, request: Request) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0);
    let headers = request.headers().clone();
    let Ok(body) = Bytes::from_request(request, &state).await else {
        let (session, new) = anonymous(&state, &headers);
        let flash =
            Flash { status: StatusCode::BAD_REQUEST, error: Some("The form could not be read.".into()), notice: None };
        return form(&state, &session, new, &headers, "/", &flash);
    };
    let fields = form_fields(&body);
    let next = local_path(fields.get("next").map(String::as_str));
    let now = Utc::now();
    let refuse = |status: StatusCode, message: &str| {
        let (session, new) = anonymous(&state, &headers);
        let flash = Flash { status, error: Some(message.to_owned()), notice: None };
        form(&state, &session, new, &headers, &next, &flash)
    };
    let Some(session) = state.console.sessions.find(&headers, now).filter(|session| !session.signed_in()) else {
        return refuse(StatusCode::FORBIDDEN, "The sign-in form expired. Please sign in again.");
    };
    if !session.csrf_matches(fields.get(CSRF_FIELD).map(String::as_str)) {
        state.delivery.metrics().reject("console_csrf");
        tracing::warn!(?peer, "Console sign-in refused: missing or wrong CSRF token.");
        return refuse(StatusCode::FORBIDDEN, "The sign-in form expired. Please sign in again.");
    }
    if !state.console.sign_in_allowed(peer) {
        state.delivery.metrics().reject("console_sign_in_limited");
        tracing::warn!(?peer, "Console sign-in refused: too many attempts from this address.");
        return refuse(StatusCode::TOO_MANY_REQUESTS, "Too many sign-in attempts. Wait a minute and try again.");
    }
    let token = match auth::identify(&state.tokens, fields.get("token").map(|token| token.trim())) {
        Ok(index) => index + 1,
        Err(_) => {
            state.delivery.metrics().reject("console_sign_in");
            tracing::warn!(?peer, "Console sign-in failed.");
            return refuse(StatusCode::UNAUTHORIZED, "Sign-in failed. Check the API token and try again.");
        }
    };
    state.console.sessions.end(&session.id);
    let signed_in = state.console.sessions.start(Some(token), now);
    tracing::info!(token = format!("#{token}"), ?peer, "Signed in to the console.");
    let mut response = redirect(&next);
    append_cookie(response.headers_mut(), state.console.sessions.set_cookie(&signed_in, &headers, now));
    response
}

/// `POST /sign-out`: the session ends here and now.
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap, posted: Posted) -> Response {
    state.console.sessions.end(&posted.signed_in.session.id);
    tracing::info!(caller = %posted.signed_in.caller, "Signed out of the console.");
    let mut response = redirect("/sign-in?notice=signed_out");
    append_cookie(response.headers_mut(), state.console.sessions.clear_cookie(&headers));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/messages?status=failed")), "/messages?status=failed");
        for elsewhere in ["https://evil.example/", "//evil.example/", "/\\evil.example", "/sign-in?next=/x", "x"] {
            assert_eq!(local_path(Some(elsewhere)), "/", "{elsewhere}");
        }
        assert_eq!(local_path(None), "/");
    }
}
