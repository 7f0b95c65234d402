//! Ingest: each alert is resolved to its destinations and rendered once per
//! destination, and the alert with all its messages is stored in one
//! transaction. Only then is it acknowledged and are the workers woken.

use std::collections::BTreeSet;

use crate::alert::Alert;
use crate::catalogue::UnknownFlock;
use crate::metrics::{Metrics, SourceLabels};
use crate::notify::by_kind;
use crate::store::{Enqueued, NewAlert, NewMessage, StoreError};

use super::Outbox;

/// An alert offered for delivery.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub alert: Alert,
    /// The client's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
}

/// Why alerts were not accepted. Nothing is stored when ingest fails.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("alert {index}: {source}")]
    UnknownFlock { index: usize, source: UnknownFlock },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new message id: also the `webhook-id` of every attempt.
pub fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::now_v7().simple())
}

impl Outbox {
    /// Resolves, renders and stores alerts; returns what was stored for each.
    /// A destination whose template cannot render an alert gets a message that
    /// is failed at once with the reason, so nothing disappears unseen.
    pub async fn ingest(&self, incoming: Vec<Incoming>, source: &str) -> Result<Vec<Enqueued>, IngestError> {
        let catalogue = self.catalogue();
        let mut alerts = Vec::with_capacity(incoming.len());
        let mut woken = BTreeSet::new();
        for (index, Incoming { alert, idempotency_key }) in incoming.iter().enumerate() {
            let destinations =
                catalogue.resolve(alert).map_err(|source| IngestError::UnknownFlock { index, source })?;
            let mut messages = Vec::with_capacity(destinations.len());
            let mut context = match self.renderer.prepare(alert, false) {
                Ok(context) => Ok(context),
                Err(error) => Err(error.to_string()),
            };
            for destination in destinations {
                let notifier = by_kind(destination.channel.kind());
                let rendered = match &mut context {
                    Ok(context) => notifier
                        .render_prepared(destination, alert, context, &self.renderer)
                        .map_err(|error| error.to_string()),
                    Err(error) => Err(error.clone()),
                };
                if let Err(error) = &rendered {
                    tracing::error!(alert = %alert.id, destination = %destination.name, %error, "Cannot render the alert for this destination; its message is failed.");
                }
                woken.insert(destination.id.clone());
                messages.push(NewMessage {
                    id: message_id(),
                    destination_id: destination.id.clone(),
                    kind: destination.channel.kind(),
                    body: rendered.as_ref().map(|payload| payload.body.clone()).unwrap_or_default(),
                    error: rendered.err(),
                });
            }
            alerts.push(NewAlert {
                id: alert.id.clone(),
                idempotency_key: idempotency_key.clone(),
                flock_id: alert.flock_id.clone(),
                kind: alert.kind.clone(),
                received_at: chrono::Utc::now(),
                messages,
            });
        }
        let stored = self.store.enqueue(&alerts).await?;
        self.metrics.received.get_or_create(&SourceLabels { source: source.to_owned() }).inc_by(incoming.len() as u64);
        for (alert, result) in alerts.iter().zip(&stored) {
            if result.duplicate {
                tracing::info!(alert = %alert.id, "Alert seen before; not enqueued again.");
                continue;
            }
            for message in &alert.messages {
                let labels = Metrics::destination(&message.destination_id, message.kind);
                self.metrics.enqueued.get_or_create(&labels).inc();
                if message.error.is_some() {
                    self.metrics.failed.get_or_create(&labels).inc();
                }
            }
            tracing::info!(alert = %alert.id, flock = %alert.flock_id, messages = alert.messages.len(), "Alert enqueued.");
        }
        for destination_id in woken {
            self.waker(&destination_id).notify_one();
        }
        Ok(stored)
    }
}
