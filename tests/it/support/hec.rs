//! A fake Splunk HTTP Event Collector on 127.0.0.1 that answers as Splunk
//! documents it: `POST /services/collector/event`, `POST /services/collector/ack`
//! and `GET /services/collector/health`, `Authorization: Splunk <token>`, the
//! `{"text": …, "code": N}` answers with their HTTP statuses (codes 1–4 for the
//! token, 5/6/12/13 for the data, 10/11 for the indexer-acknowledgement channel,
//! 14 for acknowledgement queries on a token without it, 17/21/22 for health),
//! indexer acknowledgement per channel (`ackId` in the answer, `{"acks": {…}}`
//! for a query, an acknowledged id forgotten once reported), and a request size
//! limit answered with 413 like `[http_input] max_content_length`.
//!
//! Tests change its behaviour while it runs (fix the token, require acks, hold
//! answers) and read what it received.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::Notify;

/// What the collector thinks of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Enabled,
    Disabled,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct HecRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HecRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

#[derive(Debug, Default)]
struct Channel {
    next_ack: u64,
    /// Pending ack id → how many queries asked about it.
    pending: HashMap<u64, u32>,
}

#[derive(Debug)]
struct Behaviour {
    tokens: HashMap<String, TokenState>,
    /// The token has indexer acknowledgement (`useACK`).
    use_ack: bool,
    /// Acknowledge an id at the n-th query about it; `None`: never.
    ack_after_queries: Option<u32>,
    /// Answer every acknowledgement query with this instead.
    ack_answer: Option<(u16, String)>,
    /// `[http_input] max_content_length`.
    max_content_length: Option<usize>,
    /// Answer this many event requests, then hold the next ones until released.
    answer_before_holding: Option<usize>,
    channels: HashMap<String, Channel>,
}

struct Shared {
    behaviour: Mutex<Behaviour>,
    requests: Mutex<Vec<HecRequest>>,
    /// Every event indexed (accepted), in order.
    events: Mutex<Vec<Value>>,
    answered_events: Mutex<usize>,
    released: Notify,
}

/// A running fake collector; stops when dropped.
pub struct FakeHec {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeHec {
    /// A collector that knows no token yet (every request gets code 4).
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            behaviour: Mutex::new(Behaviour {
                tokens: HashMap::new(),
                use_ack: false,
                ack_after_queries: Some(1),
                ack_answer: None,
                max_content_length: None,
                answer_before_holding: None,
                channels: HashMap::new(),
            }),
            requests: Mutex::default(),
            events: Mutex::default(),
            answered_events: Mutex::new(0),
            released: Notify::new(),
        });
        let app = Router::new()
            .route("/services/collector/event", post(event))
            .route("/services/collector/event/1.0", post(event))
            .route("/services/collector/ack", post(ack))
            .route("/services/collector/health", get(health))
            .route("/services/collector/health/1.0", get(health))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds loopback");
        let addr = listener.local_addr().expect("has an address");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake HEC serves");
        });
        Self { addr, shared, task }
    }

    fn behaviour(&self) -> std::sync::MutexGuard<'_, Behaviour> {
        self.shared.behaviour.lock().expect("lock")
    }

    /// Registers (or changes) a token.
    pub fn token(&self, token: &str, state: TokenState) -> &Self {
        self.behaviour().tokens.insert(token.to_owned(), state);
        self
    }

    /// Forgets a token: requests with it get code 4, "Invalid token".
    pub fn forget_token(&self, token: &str) -> &Self {
        self.behaviour().tokens.remove(token);
        self
    }

    /// Gives the token indexer acknowledgement (`useACK = true`).
    pub fn require_ack(&self) -> &Self {
        self.behaviour().use_ack = true;
        self
    }

    /// Acknowledges an id at the n-th query about it (`None`: never).
    pub fn ack_after_queries(&self, queries: Option<u32>) -> &Self {
        self.behaviour().ack_after_queries = queries;
        self
    }

    /// Answers every acknowledgement query with `status` and `body`.
    pub fn ack_answer(&self, status: u16, body: &str) -> &Self {
        self.behaviour().ack_answer = Some((status, body.to_owned()));
        self
    }

    /// Refuses requests larger than `bytes` with 413.
    pub fn max_content_length(&self, bytes: usize) -> &Self {
        self.behaviour().max_content_length = Some(bytes);
        self
    }

    /// Answers `count` event requests, then holds the next ones until [`FakeHec::release`].
    pub fn hold_after(&self, count: usize) -> &Self {
        self.behaviour().answer_before_holding = Some(count);
        self
    }

    /// Answers the held requests (and every later one).
    pub fn release(&self) {
        self.behaviour().answer_before_holding = None;
        self.shared.released.notify_waiters();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<HecRequest> {
        self.shared.requests.lock().expect("lock").clone()
    }

    /// The requests to one path.
    pub fn requests_to(&self, path: &str) -> Vec<HecRequest> {
        self.requests().into_iter().filter(|request| request.path == path).collect()
    }

    /// Every event indexed so far.
    pub fn events(&self) -> Vec<Value> {
        self.shared.events.lock().expect("lock").clone()
    }
}

impl Drop for FakeHec {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).expect("valid status"), [("content-type", "application/json")], body.to_string())
        .into_response()
}

fn hec(status: u16, text: &str, code: u32) -> Response {
    answer(status, json!({"text": text, "code": code}))
}

/// A refusal: HTTP status, HEC text and code.
type Refusal = (u16, &'static str, u32);

fn refuse((status, text, code): Refusal) -> Response {
    hec(status, text, code)
}

fn record(shared: &Shared, method: Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
    let request = HecRequest { method, path: uri.path().to_owned(), headers: headers.clone(), body: body.clone() };
    shared.requests.lock().expect("lock").push(request);
}

/// Splunk's token check: codes 2 (no header), 3 (not `Splunk <token>`), 4
/// (unknown token), 1 (disabled token).
fn authenticate(behaviour: &Behaviour, headers: &HeaderMap) -> Result<(), Refusal> {
    let Some(value) = headers.get("authorization").and_then(|value| value.to_str().ok()) else {
        return Err((401, "Token is required", 2));
    };
    let Some(token) = value.strip_prefix("Splunk ") else {
        return Err((401, "Invalid authorization", 3));
    };
    match behaviour.tokens.get(token.trim()) {
        None => Err((403, "Invalid token", 4)),
        Some(TokenState::Disabled) => Err((403, "Token disabled", 1)),
        Some(TokenState::Enabled) => Ok(()),
    }
}

/// The request's data channel (header or `channel` query parameter): codes 10
/// (missing) and 11 (not a GUID).
fn channel(headers: &HeaderMap, uri: &Uri) -> Result<String, Refusal> {
    let from_query = uri
        .query()
        .and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("channel=").map(str::to_owned)));
    let channel =
        headers.get("x-splunk-request-channel").and_then(|value| value.to_str().ok()).map(str::to_owned).or(from_query);
    match channel {
        None => Err((400, "Data channel is missing", 10)),
        Some(channel) if uuid::Uuid::parse_str(&channel).is_err() => Err((400, "Invalid data channel", 11)),
        Some(channel) => Ok(channel.to_ascii_lowercase()),
    }
}

async fn event(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    record(&shared, method, &uri, &headers, &body);
    loop {
        let released = shared.released.notified();
        let hold = {
            let behaviour = shared.behaviour.lock().expect("lock");
            let answered = *shared.answered_events.lock().expect("lock");
            behaviour.answer_before_holding.is_some_and(|count| answered >= count)
        };
        if !hold {
            break;
        }
        released.await;
    }
    *shared.answered_events.lock().expect("lock") += 1;
    let mut behaviour = shared.behaviour.lock().expect("lock");
    if let Err(refused) = authenticate(&behaviour, &headers) {
        return refuse(refused);
    }
    let channel = if behaviour.use_ack {
        match channel(&headers, &uri) {
            Ok(channel) => Some(channel),
            Err(refused) => return refuse(refused),
        }
    } else {
        None
    };
    if behaviour.max_content_length.is_some_and(|limit| body.len() > limit) {
        let limit = behaviour.max_content_length.unwrap_or_default();
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Content-Length of {} too large (maximum is {limit})", body.len()),
        )
            .into_response();
    }
    let mut events = Vec::new();
    for (number, item) in serde_json::Deserializer::from_slice(&body).into_iter::<Value>().enumerate() {
        let Ok(item) = item else {
            return answer(400, json!({"text": "Invalid data format", "code": 6, "invalid-event-number": number}));
        };
        match item.get("event") {
            None => {
                return answer(
                    400,
                    json!({"text": "Event field is required", "code": 12, "invalid-event-number": number}),
                )
            }
            Some(Value::String(text)) if text.is_empty() => {
                return answer(
                    400,
                    json!({"text": "Event field cannot be blank", "code": 13, "invalid-event-number": number}),
                )
            }
            Some(_) => events.push(item),
        }
    }
    if events.is_empty() {
        return hec(400, "No data", 5);
    }
    shared.events.lock().expect("lock").extend(events);
    match channel {
        Some(channel) => {
            let channel = behaviour.channels.entry(channel).or_default();
            let ack_id = channel.next_ack;
            channel.next_ack += 1;
            channel.pending.insert(ack_id, 0);
            answer(200, json!({"text": "Success", "code": 0, "ackId": ack_id}))
        }
        None => hec(200, "Success", 0),
    }
}

async fn ack(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    record(&shared, method, &uri, &headers, &body);
    let mut behaviour = shared.behaviour.lock().expect("lock");
    if let Err(refused) = authenticate(&behaviour, &headers) {
        return refuse(refused);
    }
    if let Some((status, body)) = &behaviour.ack_answer {
        return (StatusCode::from_u16(*status).expect("valid status"), body.clone()).into_response();
    }
    if !behaviour.use_ack {
        return hec(400, "ACK is disabled", 14);
    }
    let channel = match channel(&headers, &uri) {
        Ok(channel) => channel,
        Err(refused) => return refuse(refused),
    };
    let Some(ids) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|query| query["acks"].as_array().map(|ids| ids.iter().filter_map(Value::as_u64).collect::<Vec<_>>()))
    else {
        return hec(400, "Invalid data format", 6);
    };
    let after = behaviour.ack_after_queries;
    let channel = behaviour.channels.entry(channel).or_default();
    let mut statuses = serde_json::Map::new();
    for id in ids {
        let acknowledged = match channel.pending.get_mut(&id) {
            Some(queries) => {
                *queries += 1;
                after.is_some_and(|after| *queries >= after)
            }
            None => false,
        };
        if acknowledged {
            channel.pending.remove(&id);
        }
        statuses.insert(id.to_string(), Value::Bool(acknowledged));
    }
    answer(200, json!({"acks": statuses}))
}

async fn health(State(shared): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    record(&shared, method, &uri, &headers, &Bytes::new());
    let behaviour = shared.behaviour.lock().expect("lock");
    if let Some(value) = headers.get("authorization").and_then(|value| value.to_str().ok()) {
        let token = value.strip_prefix("Splunk ").unwrap_or(value).trim();
        match behaviour.tokens.get(token) {
            None => return hec(400, "Invalid token", 21),
            Some(TokenState::Disabled) => return hec(400, "Token disabled", 22),
            Some(TokenState::Enabled) => {}
        }
    }
    hec(200, "HEC is healthy", 17)
}
