//! The outbox service: what operators do with messages — list, show, replay,
//! recover — silences and digests ([`crate::storm::service`]), and the
//! delivery overview of every destination. The API, the console and the CLI
//! call it; a replay or a recovery wakes the destination's worker here, so no
//! caller has to remember to.
//!
//! - [`operator`] — list, show, replay, recover, overview, queue metrics, readiness.

pub mod operator;

use std::sync::Arc;

use crate::delivery::Delivery;
use crate::store::Store;

/// Messages as operators see them; wakes the workers itself.
pub struct Outbox {
    pub(crate) store: Arc<dyn Store>,
    /// The workers to wake; `None` in a command without a running relay
    /// (the relays sharing the store find the messages at their next poll).
    delivery: Option<Arc<Delivery>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("backend", &self.store.backend()).finish_non_exhaustive()
    }
}

impl Outbox {
    /// The outbox of a running relay, over its delivery service's store.
    pub fn new(delivery: Arc<Delivery>) -> Self {
        Self { store: Arc::clone(delivery.store()), delivery: Some(delivery) }
    }

    /// The outbox of a command that runs no workers (`flockrelay messages`,
    /// `flockrelay silences`).
    pub fn offline(store: Arc<dyn Store>) -> Self {
        Self { store, delivery: None }
    }

    /// Wakes a destination's worker, if this process runs it.
    fn wake(&self, destination_id: &str) {
        if let Some(delivery) = &self.delivery {
            delivery.waker(destination_id).notify_one();
        }
    }
}
