//! The outbox at run time: the live catalogue snapshot, the state the
//! delivery workers share (wakers, breakers, rate limiters), and the supervisor
//! that starts and stops one [`crate::delivery`] worker per enabled destination
//! as the catalogue changes, prunes old messages, and hands leases back at
//! shutdown. Alerts come in through [`crate::ingest`].
//!
//! - [`operator`] — what operators do with messages: list, show, replay, recover, overview.
//! - [`recent`] — the last hour's delivery outcomes and source refusals, for the console.

pub mod operator;
pub mod recent;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::Utc;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::delivery::breaker::Breaker;
use crate::delivery::retry::RetryPolicy;
use crate::delivery::worker;
use crate::metrics::Metrics;
use crate::notify::http::HttpSender;
use crate::render::Renderer;
use crate::store::{Store, StoreError};

/// How often the catalogue is re-read from the store (changes made through this
/// instance apply at once; this catches other instances' changes).
const CATALOGUE_REFRESH: Duration = Duration::from_secs(5);

/// The slowest pace a rate limit can set: one message a day.
const MAX_PERIOD: Duration = Duration::from_secs(86_400);

/// How often delivered messages past retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Delivery settings, from `[delivery]` and `[store]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub retry: RetryPolicy,
    pub lease: Duration,
    pub timeout: Duration,
    pub concurrency: u32,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    pub poll_interval: Duration,
    pub retention: Duration,
    /// Most alerts one ingest transaction carries (group commit).
    pub max_alerts_per_commit: usize,
}

impl Settings {
    pub fn from_config(config: &Config) -> Self {
        let delivery = &config.delivery;
        Self {
            retry: RetryPolicy::from_config(delivery),
            lease: delivery.lease.0,
            timeout: delivery.timeout.0,
            concurrency: delivery.concurrency.max(1),
            breaker_threshold: delivery.breaker_threshold,
            breaker_cooldown: delivery.breaker_cooldown.0,
            poll_interval: delivery.poll_interval.0,
            retention: config.store.retention.0,
            max_alerts_per_commit: config.store.max_alerts_per_commit.max(1),
        }
    }
}

/// A destination's rate limiter, rebuilt when its rate changes.
struct Limiter {
    rate: f64,
    limiter: Arc<DefaultDirectRateLimiter>,
}

/// The running outbox, shared by the HTTP server and the workers.
pub struct Outbox {
    /// Public for the integration tests, which inspect the store under a
    /// running relay; handlers go through the services instead.
    pub store: Arc<dyn Store>,
    pub(crate) renderer: Arc<Renderer>,
    pub(crate) sender: Arc<HttpSender>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) settings: Settings,
    /// Lease owner name of this process.
    pub(crate) owner: String,
    /// The last hour's outcomes and refusals in this process.
    pub(crate) recent: recent::Recent,
    catalogue: RwLock<Arc<Catalogue>>,
    wakers: Mutex<HashMap<String, Arc<Notify>>>,
    breakers: Mutex<HashMap<String, Arc<Breaker>>>,
    limiters: Mutex<HashMap<String, Limiter>>,
    /// Wakes the supervisor after a catalogue change.
    changed: Notify,
    /// Hands ingest requests to the group committer.
    pub(crate) committer: crate::ingest::Committer,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("owner", &self.owner)
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Outbox {
    /// Loads the catalogue and builds the outbox. Only the ingest group committer
    /// starts now (ingest works before [`Outbox::run`]); delivery waits for `run`.
    pub async fn new(
        store: Arc<dyn Store>,
        renderer: Arc<Renderer>,
        sender: Arc<HttpSender>,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Result<Arc<Self>, StoreError> {
        let catalogue = Catalogue::load(&*store).await?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "relay".to_owned());
        let committer = crate::ingest::Committer::start(Arc::clone(&store), settings.max_alerts_per_commit);
        Ok(Arc::new(Self {
            store,
            renderer,
            sender,
            metrics,
            settings,
            owner: format!("{host}:{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            recent: recent::Recent::default(),
            catalogue: RwLock::new(Arc::new(catalogue)),
            wakers: Mutex::default(),
            breakers: Mutex::default(),
            limiters: Mutex::default(),
            changed: Notify::new(),
            committer,
        }))
    }

    /// The current catalogue snapshot.
    pub fn catalogue(&self) -> Arc<Catalogue> {
        Arc::clone(&self.catalogue.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Re-reads the catalogue (after a change) and lets the supervisor start or
    /// stop workers.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let catalogue = Arc::new(Catalogue::load(&*self.store).await?);
        *self.catalogue.write().unwrap_or_else(std::sync::PoisonError::into_inner) = catalogue;
        self.changed.notify_one();
        Ok(())
    }

    /// The wake-up signal of a destination's worker.
    pub fn waker(&self, destination_id: &str) -> Arc<Notify> {
        Arc::clone(locked(&self.wakers).entry(destination_id.to_owned()).or_default())
    }

    /// The circuit breaker of a destination.
    pub fn breaker(&self, destination_id: &str) -> Arc<Breaker> {
        let settings = &self.settings;
        Arc::clone(
            locked(&self.breakers)
                .entry(destination_id.to_owned())
                .or_insert_with(|| Arc::new(Breaker::new(settings.breaker_threshold, settings.breaker_cooldown))),
        )
    }

    /// The rate limiter of a destination with a rate limit.
    pub fn limiter(&self, destination_id: &str, rate: Option<f64>) -> Option<Arc<DefaultDirectRateLimiter>> {
        let mut limiters = locked(&self.limiters);
        let Some(rate) = rate.filter(|rate| rate.is_finite() && *rate > 0.0) else {
            limiters.remove(destination_id);
            return None;
        };
        if let Some(existing) = limiters.get(destination_id).filter(|existing| existing.rate == rate) {
            return Some(Arc::clone(&existing.limiter));
        }
        // A rate from config or the API: a tiny one must not overflow a Duration.
        let period = Duration::try_from_secs_f64(1.0 / rate).unwrap_or(MAX_PERIOD).min(MAX_PERIOD);
        let burst = NonZeroU32::new(rate.ceil().clamp(1.0, f64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period)?.allow_burst(burst);
        let limiter = Arc::new(RateLimiter::direct(quota));
        limiters.insert(destination_id.to_owned(), Limiter { rate, limiter: Arc::clone(&limiter) });
        Some(limiter)
    }

    /// Runs the supervisor until `shutdown` turns true; then waits up to `grace`
    /// for in-flight sends and hands back this instance's leases.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>, grace: Duration) {
        let mut workers: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
        let mut tasks = JoinSet::new();
        let mut last_prune = None;
        // Closes alert-group windows into digests (crate::storm).
        tasks.spawn(crate::storm::runtime::run(Arc::clone(&self), shutdown.clone()));
        loop {
            let catalogue = self.catalogue();
            workers.retain(|_, handle| !handle.is_finished());
            for destination in catalogue.destinations().iter().filter(|destination| destination.enabled) {
                if !workers.contains_key(&destination.id) {
                    let handle = tasks.spawn(worker::run(Arc::clone(&self), destination.id.clone(), shutdown.clone()));
                    workers.insert(destination.id.clone(), handle);
                }
            }
            while tasks.try_join_next().is_some() {}
            if last_prune.is_none_or(|at: std::time::Instant| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(std::time::Instant::now());
                self.prune().await;
            }
            tokio::select! {
                _ = shutdown.changed() => break,
                () = self.changed.notified() => {}
                () = tokio::time::sleep(CATALOGUE_REFRESH) => {
                    if let Err(error) = self.reload().await {
                        tracing::warn!(%error, "Cannot re-read the catalogue; keeping the last one.");
                    }
                }
            }
            if *shutdown.borrow() {
                break;
            }
        }
        tracing::info!(workers = tasks.len(), ?grace, "Stopping delivery: waiting for in-flight sends.");
        let drained = tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!("Grace period over; abandoning the sends still in flight.");
            tasks.abort_all();
        }
        match self.store.release(&self.owner).await {
            Ok(released) => tracing::info!(released, "Handed back the leases of unfinished messages."),
            Err(error) => tracing::warn!(%error, "Cannot hand back leases; they expire on their own."),
        }
    }

    async fn prune(&self) {
        let retention = chrono::Duration::from_std(self.settings.retention).unwrap_or(chrono::Duration::MAX);
        let before = Utc::now().checked_sub_signed(retention).unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
        match self.store.prune(before).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "Pruned delivered messages past retention."),
            Err(error) => tracing::warn!(%error, "Cannot prune delivered messages."),
        }
    }
}
