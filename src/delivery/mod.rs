//! Delivery: one worker per enabled destination claims its messages (a lease),
//! paces them, sends, classifies the answer and settles each message —
//! delivered, retried later, or failed — recording every attempt.
//!
//! [`Delivery`] is the service: the live catalogue snapshot the workers and
//! ingest read, and what the workers share (wakers, breakers, rate limiters,
//! the HTTP sender). Its supervisor ([`supervisor`]) starts and stops one
//! worker per enabled destination as the catalogue changes.
//!
//! - [`supervisor`] — `Delivery::run`: workers, pruning, handing leases back at shutdown.
//! - [`worker`] — the per-destination loop: claim, pace, send, settle.
//! - [`settle`] — recording a batch's attempts and outcomes; Splunk HEC acks.
//! - [`pacing`] — a destination's effective rate and concurrency.
//! - [`retry`] — the retry schedule (a pure rule of the attempt number).
//! - [`breaker`] — the per-destination circuit breaker.
//! - [`overview`] — what operators see: states with why, queues, breakers, the last hour.
//! - [`recent`] — the last hour's delivery outcomes and source refusals, for the console.
//!
//! Delivery never ingests and never writes the catalogue (the
//! [`crate::catalogue::registry::Registry`] does, then asks it to reload).

pub mod breaker;
pub mod overview;
pub mod pacing;
pub mod recent;
pub mod retry;
pub mod settle;
pub mod supervisor;
pub mod worker;

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::Notify;

use crate::catalogue::Catalogue;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::notify::http::HttpSender;
use crate::render::Renderer;
use crate::store::{Store, StoreError};
use breaker::Breaker;
use retry::RetryPolicy;

/// The slowest pace a rate limit can set: one message a day.
const MAX_PERIOD: Duration = Duration::from_secs(86_400);

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

/// The delivery service: what the workers share, and the catalogue snapshot.
pub struct Delivery {
    pub(crate) store: Arc<dyn Store>,
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
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("owner", &self.owner)
            .field("backend", &self.store.backend())
            .finish_non_exhaustive()
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Delivery {
    /// Loads the catalogue and builds the service; workers start with
    /// [`Delivery::run`].
    pub async fn new(
        store: Arc<dyn Store>,
        renderer: Arc<Renderer>,
        sender: Arc<HttpSender>,
        metrics: Arc<Metrics>,
        settings: Settings,
    ) -> Result<Arc<Self>, StoreError> {
        let catalogue = Catalogue::load(&*store).await?;
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "relay".to_owned());
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

    /// The store, for the relay's own start-up and for tests that inspect it
    /// under a running relay; handlers go through the services instead.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The metrics registry every service counts in.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Lease owner name of this process (in logs).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The templates every message is rendered with (the console's preview too).
    pub fn renderer(&self) -> &Arc<Renderer> {
        &self.renderer
    }

    /// The pace a destination's worker keeps (its rate limit or the
    /// channel's, and its concurrency).
    pub fn pace(&self, destination: &crate::destination::Destination) -> pacing::Effective {
        pacing::effective(destination, self.settings.concurrency)
    }

    /// Sends a test notification through `destination` now, outside the
    /// queue, and waits for the answer (the API's `…/test` and the console).
    pub async fn send_test(
        &self,
        destination: &crate::destination::Destination,
        alert: &crate::alert::Alert,
    ) -> Option<crate::direct::Report> {
        let sender = Arc::clone(&self.sender);
        crate::direct::send_now(vec![destination.clone()], alert, &self.renderer, sender, true).await.into_iter().next()
    }

    /// The address policy's verdict on a URL's literal host (names are
    /// checked again at connect time), for refusing a destination up front.
    pub fn policy(&self) -> &crate::notify::policy::AddressPolicy {
        self.sender.policy()
    }

    /// Refuses connections to the relay's own listening addresses from now on
    /// (a destination pointing at this relay would loop).
    pub fn guard_listening(&self, addresses: Vec<std::net::SocketAddr>) {
        self.sender.guard_listening(addresses);
    }
}
