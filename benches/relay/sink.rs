//! The loopback sink every system under test delivers to: an HTTP server that
//! answers 200 at once and records when each alert arrived. It understands the
//! generic JSON body of flockrelay (`{"id": …}`) and Alertmanager's webhook body
//! (`{"alerts": [{"labels": {"bench_id": …}}]}`).
//!
//! Alert ids are `<run prefix>-<sequence number>` (flockrelay sends them in
//! the API's namespace, `api:<prefix>-<n>`); a run is one measurement, and
//! anything that arrives for another run (a late retry, a dead destination's
//! trial) is counted as stray instead of being mixed in.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

/// Arrivals of one measurement.
pub struct Run {
    prefix: String,
    /// Nanoseconds since the sink's epoch, plus one; zero while not arrived.
    arrivals: Vec<AtomicU64>,
    received: AtomicUsize,
    duplicates: AtomicUsize,
}

impl Run {
    /// How many distinct alerts have arrived.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Acquire)
    }

    /// Alerts that arrived more than once (at-least-once delivery allows it).
    pub fn duplicates(&self) -> usize {
        self.duplicates.load(Ordering::Acquire)
    }

    /// When alert `index` first arrived.
    pub fn arrival(&self, epoch: Instant, index: usize) -> Option<Instant> {
        match self.arrivals.get(index)?.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(epoch + Duration::from_nanos(nanos - 1)),
        }
    }

    /// The last first-arrival of the run.
    pub fn last_arrival(&self, epoch: Instant) -> Option<Instant> {
        let last = self.arrivals.iter().map(|arrival| arrival.load(Ordering::Acquire)).max()?;
        (last > 0).then(|| epoch + Duration::from_nanos(last - 1))
    }

    fn record(&self, id: &str, nanos: u64) -> bool {
        // The relay sends the id in its origin's namespace (`api:t1-7`).
        let id = id.rsplit(':').next().unwrap_or(id);
        let Some(index) = id
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|number| number.parse::<usize>().ok())
        else {
            return false;
        };
        let Some(slot) = self.arrivals.get(index) else {
            return false;
        };
        if slot.compare_exchange(0, nanos + 1, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            self.received.fetch_add(1, Ordering::AcqRel);
        } else {
            self.duplicates.fetch_add(1, Ordering::AcqRel);
        }
        true
    }
}

struct Shared {
    epoch: Instant,
    run: RwLock<Arc<Run>>,
    stray: AtomicU64,
}

/// The running sink; it lives as long as the bench process.
pub struct Sink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

/// What the sink reads from a body: flockrelay's generic JSON or Alertmanager's.
#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    alerts: Vec<AlertmanagerAlert>,
}

#[derive(Deserialize)]
struct AlertmanagerAlert {
    labels: AlertmanagerLabels,
}

#[derive(Deserialize)]
struct AlertmanagerLabels {
    #[serde(default)]
    bench_id: Option<String>,
}

async fn hook(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let nanos = u64::try_from(shared.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1);
    let run = Arc::clone(&shared.run.read().unwrap_or_else(std::sync::PoisonError::into_inner));
    let Ok(body) = serde_json::from_slice::<Body>(&body) else {
        shared.stray.fetch_add(1, Ordering::Relaxed);
        return StatusCode::OK;
    };
    let ids = body.id.into_iter().chain(body.alerts.into_iter().filter_map(|alert| alert.labels.bench_id));
    for id in ids {
        if !run.record(&id, nanos) {
            shared.stray.fetch_add(1, Ordering::Relaxed);
        }
    }
    StatusCode::OK
}

impl Sink {
    /// Starts the sink on 127.0.0.1 on the current runtime. `epoch` is the
    /// clock every time in the bench is measured from.
    pub async fn start(epoch: Instant) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared =
            Arc::new(Shared { epoch, run: RwLock::new(Arc::new(Run::new("none", 0))), stray: AtomicU64::new(0) });
        let app = Router::new().route("/hook", post(hook)).with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("sink stopped: {error}");
            }
        });
        Ok(Self { addr, shared })
    }

    /// The URL systems under test deliver to.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Starts recording a new run of `expected` alerts named `<prefix>-<n>`.
    pub fn begin(&self, prefix: &str, expected: usize) -> Arc<Run> {
        let run = Arc::new(Run::new(prefix, expected));
        *self.shared.run.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&run);
        run
    }

    /// Requests that belonged to no current run, so far.
    pub fn stray(&self) -> u64 {
        self.shared.stray.load(Ordering::Relaxed)
    }

    /// Waits until every alert of `run` arrived, or until nothing new arrived
    /// for `stall`. Returns whether all arrived.
    pub async fn wait_all(&self, run: &Run, stall: Duration) -> bool {
        let expected = run.arrivals.len();
        let mut last_count = run.received();
        let mut last_progress = Instant::now();
        while run.received() < expected {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let count = run.received();
            if count != last_count {
                last_count = count;
                last_progress = Instant::now();
            } else if last_progress.elapsed() > stall {
                return false;
            }
        }
        true
    }
}

impl Run {
    fn new(prefix: &str, expected: usize) -> Self {
        Self {
            prefix: prefix.to_owned(),
            arrivals: (0..expected).map(|_| AtomicU64::new(0)).collect(),
            received: AtomicUsize::new(0),
            duplicates: AtomicUsize::new(0),
        }
    }
}
