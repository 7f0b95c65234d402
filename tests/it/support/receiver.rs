//! A real HTTP server on 127.0.0.1 that records every request and answers from a
//! script (then with a default answer), standing in for Slack, Teams, a HEC or
//! any webhook endpoint.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When the request arrived (the receiver's clock).
    pub at: std::time::Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    /// Wait this long before answering (to provoke timeouts).
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: &str) -> Self {
        Self { status, headers: Vec::new(), body: body.to_owned(), delay: Duration::ZERO }
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// Holds requests until opened (see [`Receiver::hold_after`]).
#[derive(Debug, Clone, Default)]
pub struct Gate {
    open: Arc<std::sync::atomic::AtomicBool>,
    opened: Arc<tokio::sync::Notify>,
}

impl Gate {
    /// Lets every held request (and every later one) through.
    pub fn open(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
        self.opened.notify_waiters();
    }

    async fn pass(&self) {
        loop {
            let opened = self.opened.notified();
            if self.open.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            opened.await;
        }
    }
}

#[derive(Clone)]
struct Shared {
    recorded: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    default: Reply,
    /// Requests after the first `n` wait for the gate.
    hold: Arc<Mutex<Option<(usize, Gate)>>>,
}

/// A recording receiver; stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver that answers `default` once the script is used up.
    pub async fn start(default: Reply) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
        let addr = listener.local_addr().expect("has an address");
        let shared = Shared { recorded: Arc::default(), script: Arc::default(), default, hold: Arc::default() };
        let app = Router::new().fallback(record).with_state(shared.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("receiver serves");
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Queues answers for the next requests.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.shared.script.lock().expect("lock").extend(replies);
    }

    /// Answers the next `count` requests, then holds the following ones until
    /// `gate` opens (they are recorded as they arrive).
    pub fn hold_after(&self, count: usize, gate: Gate) {
        let seen = self.shared.recorded.lock().expect("lock").len();
        *self.shared.hold.lock().expect("lock") = Some((seen + count, gate));
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.recorded.lock().expect("lock").clone()
    }

    /// The only request so far.
    pub fn single(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request, got {}", requests.len());
        requests.into_iter().next().expect("one request")
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let number = {
        let mut recorded = shared.recorded.lock().expect("lock");
        recorded.push(Recorded { method, uri, headers, body, at: std::time::Instant::now() });
        recorded.len()
    };
    let hold = shared.hold.lock().expect("lock").clone();
    if let Some((answered, gate)) = hold {
        if number > answered {
            gate.pass().await;
        }
    }
    let reply = shared.script.lock().expect("lock").pop_front().unwrap_or_else(|| shared.default.clone());
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (StatusCode::from_u16(reply.status).expect("valid status"), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().expect("valid header value"));
    }
    response
}
