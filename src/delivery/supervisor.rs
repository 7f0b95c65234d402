//! The supervisor: one [`super::worker`] per enabled destination, started and
//! stopped as the catalogue changes; the storm flusher beside them; pruning of
//! delivered messages past retention; and at shutdown, a bounded wait for
//! in-flight sends and the hand-back of this instance's leases.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{worker, Delivery};

/// How often the catalogue is re-read from the store (changes made through this
/// instance apply at once; this catches other instances' changes).
const CATALOGUE_REFRESH: Duration = Duration::from_secs(5);

/// How often delivered messages past retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Delivery {
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
