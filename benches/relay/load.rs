//! Load generators: a closed loop (a fixed number of clients, each posting as
//! soon as its previous request was answered — measures capacity) and an open
//! loop (alerts posted on a fixed schedule whatever the answers — measures
//! latency without coordinated omission). Both note, per alert, the time just
//! before its POST, so the sink's arrival times give end-to-end latency.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::target::Target;

/// What a load run did.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub started: Instant,
    /// When the last answer arrived.
    pub finished: Instant,
    /// Alerts acknowledged (202 for flockrelay, 200 for Alertmanager).
    pub accepted: usize,
    /// Alerts in requests answered otherwise or not at all.
    pub refused: usize,
}

impl Load {
    pub fn elapsed(&self) -> Duration {
        self.finished - self.started
    }

    /// Acknowledged alerts per second.
    pub fn rate(&self) -> f64 {
        self.accepted as f64 / self.elapsed().as_secs_f64()
    }
}

/// Per-alert send times: nanoseconds since the epoch, plus one; zero = not sent.
pub struct SendTimes(Vec<AtomicU64>);

impl SendTimes {
    pub fn new(count: usize) -> Arc<Self> {
        Arc::new(Self((0..count).map(|_| AtomicU64::new(0)).collect()))
    }

    fn mark(&self, epoch: Instant, first: usize, count: usize) {
        let nanos = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1;
        for slot in self.0.iter().skip(first).take(count) {
            slot.store(nanos, Ordering::Release);
        }
    }

    pub fn get(&self, epoch: Instant, index: usize) -> Option<Instant> {
        match self.0.get(index)?.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(epoch + Duration::from_nanos(nanos - 1)),
        }
    }
}

async fn post(target: &Target, client: &reqwest::Client, prefix: &str, first: usize, count: usize, dead: bool) -> bool {
    match target.request(client, prefix, first, count, dead).send().await {
        Ok(response) => {
            let accepted = target.accepted(response.status());
            if !accepted {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                eprintln!("  refused: {status} {}", text.chars().take(200).collect::<String>());
            } else {
                // Read the answer so the connection goes back to the pool.
                let _ = response.bytes().await;
            }
            accepted
        }
        Err(error) => {
            eprintln!("  request failed: {error}");
            false
        }
    }
}

/// Posts alerts `first..first+count` with `clients` concurrent clients, `batch`
/// alerts per request.
#[allow(clippy::too_many_arguments)]
pub async fn closed_loop(
    target: &Arc<Target>,
    client: &reqwest::Client,
    prefix: &str,
    first: usize,
    count: usize,
    clients: usize,
    batch: usize,
    dead: bool,
    sent: Option<(&Arc<SendTimes>, Instant)>,
) -> Load {
    let batch = batch.max(1);
    let next = Arc::new(AtomicUsize::new(first));
    let accepted = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..clients.max(1) {
        let (target, client, prefix) = (Arc::clone(target), client.clone(), prefix.to_owned());
        let (next, accepted, refused) = (Arc::clone(&next), Arc::clone(&accepted), Arc::clone(&refused));
        let sent = sent.map(|(times, epoch)| (Arc::clone(times), epoch));
        tasks.spawn(async move {
            loop {
                let start = next.fetch_add(batch, Ordering::Relaxed);
                if start >= first + count {
                    break;
                }
                let n = batch.min(first + count - start);
                if let Some((times, epoch)) = &sent {
                    times.mark(*epoch, start, n);
                }
                let counter = if post(&target, &client, &prefix, start, n, dead).await { &accepted } else { &refused };
                counter.fetch_add(n, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Load {
        started,
        finished: Instant::now(),
        accepted: accepted.load(Ordering::Relaxed),
        refused: refused.load(Ordering::Relaxed),
    }
}

/// Posts `count` alerts one per request at `rate` per second, on schedule: a
/// slow answer does not delay the next alert. Also returns how long each
/// acknowledged request took to be answered.
pub async fn open_loop(
    target: &Arc<Target>,
    client: &reqwest::Client,
    prefix: &str,
    count: usize,
    rate: f64,
    sent: &Arc<SendTimes>,
    epoch: Instant,
) -> (Load, Vec<Duration>) {
    let started = Instant::now();
    let outcomes = on_schedule(count, rate, |index| {
        let (target, client, prefix, sent) = (Arc::clone(target), client.clone(), prefix.to_owned(), Arc::clone(sent));
        async move {
            sent.mark(epoch, index, 1);
            let posted = Instant::now();
            let ok = post(&target, &client, &prefix, index, 1, false).await;
            ok.then(|| posted.elapsed())
        }
    })
    .await;
    let answers: Vec<Duration> = outcomes.iter().flatten().copied().collect();
    let load =
        Load { started, finished: Instant::now(), accepted: answers.len(), refused: outcomes.len() - answers.len() };
    (load, answers)
}

/// GETs of `url` on the open loop's schedule (`count` at `rate`/s): the
/// cheapest exchange a server can answer, for what the system under test
/// spends on one at that rate. Returns the requests answered 2xx.
pub async fn open_loop_get(client: &reqwest::Client, url: &str, count: usize, rate: f64) -> usize {
    let outcomes = on_schedule(count, rate, |_| {
        let (client, url) = (client.clone(), url.to_owned());
        async move { client.get(url).send().await.is_ok_and(|response| response.status().is_success()) }
    })
    .await;
    outcomes.into_iter().filter(|&answered| answered).count()
}

/// Starts `request(index)` for `index` in `0..count` at `rate` per second,
/// each as its own task so that a slow one delays none after it; returns what
/// each returned (in the order they ended).
async fn on_schedule<T, F>(count: usize, rate: f64, mut request: impl FnMut(usize) -> F) -> Vec<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T> + Send + 'static,
{
    let start = tokio::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let mut outcomes = Vec::with_capacity(count);
    for index in 0..count {
        tokio::time::sleep_until(start + Duration::from_secs_f64(index as f64 / rate)).await;
        tasks.spawn(request(index));
        while let Some(joined) = tasks.try_join_next() {
            outcomes.extend(joined.ok());
        }
    }
    while let Some(joined) = tasks.join_next().await {
        outcomes.extend(joined.ok());
    }
    outcomes
}

/// Latency percentiles, nearest rank.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub p999: Duration,
    pub max: Duration,
}

impl Percentiles {
    pub fn of(mut samples: Vec<Duration>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let rank = |quantile: f64| {
            let index = ((quantile * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index]
        };
        Some(Self {
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            p999: rank(0.999),
            max: samples[samples.len() - 1],
        })
    }
}
