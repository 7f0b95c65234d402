//! Ingest: alerts from every origin (the API, the CLI, inbound webhooks via
//! [`inbound`]) are put in their origin's namespace, then each alert is
//! resolved to its destinations and rendered once per destination, and the
//! alert with all its messages is stored in one transaction. Only then is it acknowledged and are the workers woken.
//!
//! [`Ingest::accept`] is the service; storing goes through the
//! [`committer::Committer`] (group commit).

pub mod committer;
pub mod inbound;

pub use committer::Committer;

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::alert::Alert;
use crate::catalogue::UnknownFlock;
use crate::metrics::{Metrics, SourceLabels};
use crate::notify::by_kind;
use crate::origin::AlertOrigin;
use crate::store::{Enqueued, NewAlert, NewMessage, Store, StoreError};

use crate::delivery::recent::Settled;
use crate::delivery::Delivery;
use crate::destination::Destination;

/// An alert offered for delivery, with the id and key its sender gave:
/// [`Ingest::accept`] puts both in the origin's namespace.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub alert: Alert,
    /// The client's `Idempotency-Key` (`key#<index>` in an array), or the
    /// verified `webhook-id` of an inbound webhook.
    pub idempotency_key: Option<String>,
    /// Relays it passed through before this one (`X-Flockrelay-Hops` of the
    /// inbound request; 0 for the API and the CLI). See [`crate::hops`].
    pub hops: u32,
}

/// Why alerts were not accepted. Nothing is stored when ingest fails.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// `index` counts from 0; the message counts from 1 ("alert 1" is the first).
    #[error("alert {}: {source}", index + 1)]
    UnknownFlock { index: usize, source: UnknownFlock },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new message id: also the `webhook-id` of every attempt.
pub fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

/// The ingest service: namespace, resolve, render, group commit, then wake
/// the workers of every destination that got a message.
pub struct Ingest {
    store: Arc<dyn Store>,
    /// The catalogue snapshot, the renderer, the metrics, and the workers to wake.
    delivery: Arc<Delivery>,
    /// Hands ingest requests to the group committer.
    committer: Committer,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").field("committer", &self.committer).finish_non_exhaustive()
    }
}

impl Ingest {
    /// Starts the group committer on the current runtime: ingest works as soon
    /// as this returns, before delivery's workers run.
    pub fn start(delivery: Arc<Delivery>, max_alerts_per_commit: usize) -> Self {
        let store = Arc::clone(delivery.store());
        let committer = Committer::start(Arc::clone(&store), max_alerts_per_commit);
        Self { store, delivery, committer }
    }

    /// Puts alerts in their origin's namespace (ids and idempotency keys, see
    /// [`crate::origin`]), resolves, renders and stores them; returns what was
    /// stored for each. A destination whose template cannot render an alert
    /// gets a message that is failed at once with the reason, so nothing
    /// disappears unseen.
    pub async fn accept(
        &self,
        mut incoming: Vec<Incoming>,
        origin: AlertOrigin<'_>,
    ) -> Result<Vec<Enqueued>, IngestError> {
        for Incoming { alert, idempotency_key, .. } in &mut incoming {
            alert.id = origin.alert_id(&alert.id);
            *idempotency_key = idempotency_key.as_deref().map(|key| origin.idempotency_key(key));
        }
        let catalogue = self.delivery.catalogue();
        let mut alerts = Vec::with_capacity(incoming.len());
        for (index, incoming) in incoming.iter().enumerate() {
            let destinations =
                catalogue.resolve(&incoming.alert).map_err(|source| IngestError::UnknownFlock { index, source })?;
            alerts.push(self.prepare(incoming, &destinations));
        }
        let (alerts, stored) = self.committer.enqueue(&*self.store, alerts).await;
        let stored = stored?;
        self.count(&alerts, &stored, origin);
        let woken: BTreeSet<&str> =
            alerts.iter().flat_map(|alert| &alert.messages).map(|message| message.destination_id.as_str()).collect();
        for destination_id in woken {
            self.delivery.waker(destination_id).notify_one();
        }
        Ok(stored)
    }

    /// An alert with one rendered message per destination it resolved to.
    fn prepare(&self, incoming: &Incoming, destinations: &[&Destination]) -> NewAlert {
        let Incoming { alert, idempotency_key, hops } = incoming;
        let renderer = &self.delivery.renderer;
        let mut context = renderer.prepare(alert, false).map_err(|error| error.to_string());
        let messages = destinations
            .iter()
            .map(|destination| {
                let notifier = by_kind(destination.channel.kind());
                let rendered = match &mut context {
                    Ok(context) => notifier
                        .render_prepared(destination, alert, context, renderer)
                        .map_err(|error| error.to_string()),
                    Err(error) => Err(error.clone()),
                };
                if let Err(error) = &rendered {
                    tracing::error!(alert = %alert.id, destination = %destination.name, %error, "Cannot render the alert for this destination; its message is failed.");
                }
                NewMessage {
                    id: message_id(),
                    destination_id: destination.id.clone(),
                    kind: destination.channel.kind(),
                    body: rendered.as_ref().map(|payload| payload.body.clone()).unwrap_or_default(),
                    error: rendered.err(),
                    storm: crate::storm::plan(destination, alert).map(Box::new),
                }
            })
            .collect();
        NewAlert {
            id: alert.id.clone(),
            idempotency_key: idempotency_key.clone(),
            flock_id: alert.flock_id.clone(),
            kind: alert.kind.clone(),
            received_at: chrono::Utc::now(),
            hops: *hops,
            messages,
        }
    }

    /// Counts what was stored (and what was a duplicate or held by a storm rule).
    fn count(&self, alerts: &[NewAlert], stored: &[Enqueued], origin: AlertOrigin<'_>) {
        let metrics = &self.delivery.metrics;
        metrics.received.get_or_create(&SourceLabels { source: origin.label() }).inc_by(alerts.len() as u64);
        for (alert, result) in alerts.iter().zip(stored) {
            if result.duplicate {
                tracing::info!(alert = %alert.id, "Alert seen before; not enqueued again.");
                metrics.suppressed.get_or_create(&crate::storm::runtime::incident_labels()).inc();
                continue;
            }
            crate::storm::runtime::count_held(metrics, &result.held);
            for message in &alert.messages {
                let labels = Metrics::destination(&message.destination_id, message.kind);
                metrics.enqueued.get_or_create(&labels).inc();
                if message.error.is_some() {
                    metrics.failed.get_or_create(&labels).inc();
                    self.delivery
                        .recent
                        .settled
                        .add((message.destination_id.clone(), Settled::Failed), chrono::Utc::now());
                }
            }
            // Debug, not info: one line per alert is a write per alert at thousands a second.
            tracing::debug!(alert = %alert.id, flock = %alert.flock_id, messages = alert.messages.len(), "Alert enqueued.");
        }
    }

    /// Counts a refused inbound request (`reason` is the metric's label) and
    /// keeps it for the console's recent refusals of `source`.
    pub fn refused(&self, source: String, reason: &'static str) {
        self.delivery.metrics.reject(reason);
        self.delivery.recent.refusals.add((source, reason), chrono::Utc::now());
    }
}
