//! The HTTP listener: accepts connections and serves the router on each, with
//! the limits a slow or hostile client needs. A request head must arrive within
//! `server.header_read_timeout` (an idle connection is closed after that too),
//! a request body within `server.body_read_timeout` (408, connection closed),
//! and a shutdown waits at most `grace` for open connections before closing
//! them — so no client can hold the process after SIGTERM.
//!
//! axum's own `serve` has neither a header timeout nor a deadline on its
//! graceful shutdown, hence this small accept loop on hyper's HTTP/1 server.
//!
//! What is served is a [`Site`] that a reload replaces: every request is
//! answered by the site current when it arrives (also on a connection opened
//! before), and every new connection gets the current limits.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request};
use axum::http::header::{HeaderValue, CONNECTION};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::error::ApiError;

/// How long a client may take: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// `server.header_read_timeout`.
    pub header_read_timeout: Duration,
    /// `server.body_read_timeout`.
    pub body_read_timeout: Duration,
}

/// The router with its client limits: what the listener serves until a
/// reload publishes the next one.
#[derive(Debug, Clone)]
pub struct Site {
    app: Router,
    limits: ClientLimits,
}

impl Site {
    /// `router` answering within `limits` (the body deadline is applied here).
    pub fn new(router: Router, limits: ClientLimits) -> Self {
        let body = limits.body_read_timeout;
        let app = router.layer(middleware::from_fn(move |request, next| read_body_within(body, request, next)));
        Self { app, limits }
    }
}

/// Pause after a failed `accept` (out of file descriptors, say), so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves the current [`Site`] on `listener` until `shutdown` resolves; then
/// stops accepting, lets open connections finish their requests for up to
/// `grace`, and closes whatever is still open.
pub async fn serve(
    listener: TcpListener,
    site: watch::Receiver<Site>,
    grace: Duration,
    shutdown: impl Future<Output = ()> + Send,
) {
    let (draining, drain) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while connections.try_join_next().is_some() {}
        match accepted {
            Ok((stream, peer)) => {
                connections.spawn(connection(stream, peer, site.clone(), drain.clone()));
            }
            Err(error) => {
                tracing::warn!(%error, "Cannot accept a connection.");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    // The receivers live in the connection tasks; none left means nothing to tell.
    let _ = draining.send(true);
    let open = connections.len();
    let finished = tokio::time::timeout(grace, async { while connections.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(
            open = connections.len(),
            of = open,
            ?grace,
            "Grace period over; closing the connections still open."
        );
        connections.shutdown().await;
    }
}

/// Serves one connection until it closes, or until the server drains (then the
/// request in progress is finished and the connection closed).
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    site: watch::Receiver<Site>,
    mut drain: watch::Receiver<bool>,
) {
    let header_read_timeout = site.borrow().limits.header_read_timeout;
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        // Handlers log API changes with the client's address.
        request.extensions_mut().insert(ConnectInfo(peer));
        let mut app = site.borrow().app.clone();
        async move { tower_service::Service::call(&mut app, request).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let mut draining = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%peer, %error, "Connection ended with an error.");
                }
                break;
            }
            changed = drain.changed(), if !draining => {
                draining = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Gives the handler a body that fails once `limit` has passed; a request
/// whose body did not arrive in time is answered 408 and its connection closed.
async fn read_body_within(limit: Duration, request: Request, next: Next) -> Response {
    let expired = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&expired);
    let request = request.map(|body| {
        Body::new(DeadlineBody { inner: body, deadline: Box::pin(tokio::time::sleep(limit)), expired: flag })
    });
    let response = next.run(request).await;
    if !expired.load(Ordering::Acquire) {
        return response;
    }
    tracing::info!(?limit, "A request body did not arrive in time; closing the connection.");
    let mut response = ApiError::BodyTimeout.into_response();
    response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body with a deadline for its last byte.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

/// The error a late body ends with.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within server.body_read_timeout")]
struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
