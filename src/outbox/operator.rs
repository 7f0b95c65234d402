//! What operators do with messages — list, show, replay, recover. The
//! operator API, the console and the CLI call these methods, so that a replay
//! wakes the destination's worker (in a running relay) and is logged the same
//! way whoever asked for it.
//!
//! Parsing and validating what a person typed is the caller's (the API's
//! parameter rules in `api::messages`, which the console calls too); this
//! module takes typed values.

use chrono::{DateTime, Utc};

use super::Outbox;
use crate::store::{Attempt, Message, MessageFilter, StoreError};

impl Outbox {
    /// Messages matching `filter`, newest first (one keyset page).
    pub async fn list_messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        self.store.messages(filter).await
    }

    /// A message with every attempt.
    pub async fn message(&self, id: &str) -> Result<Option<(Message, Vec<Attempt>)>, StoreError> {
        self.store.message(id).await
    }

    /// Queues a delivered or failed message again (same id, fresh schedule)
    /// and wakes its destination's worker.
    pub async fn replay(&self, id: &str) -> Result<Message, StoreError> {
        let message = self.store.replay(id, Utc::now()).await?;
        self.wake(&message.destination_id);
        tracing::info!(message = %id, destination = %message.destination_id, "Message queued again (replay).");
        Ok(message)
    }

    /// How many failed messages of a destination created in `[since, until)`
    /// [`Outbox::recover`] would queue again now.
    pub async fn recoverable(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.store.count_failed(destination_id, since, until).await
    }

    /// Queues again the failed messages of a destination created in `[since,
    /// until)` and wakes its worker; returns how many.
    pub async fn recover(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let recovered = self.store.recover(destination_id, since, until, Utc::now()).await?;
        self.wake(destination_id);
        tracing::info!(destination = %destination_id, recovered, "Failed messages queued again (recover).");
        Ok(recovered)
    }

    /// Whether the store answers; its backend name when it does.
    pub async fn ready(&self) -> Result<&'static str, StoreError> {
        self.store.ping().await?;
        Ok(self.store.backend())
    }
}
