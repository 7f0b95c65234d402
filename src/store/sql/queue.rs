//! The outbox queue: enqueue (alerts and their messages in one transaction,
//! duplicates recognised by id and idempotency key), claims under a lease,
//! finishes fenced by the lease owner, hand-backs, pruning.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::{Any, Row as _};

use super::*;
use crate::store::sqlite;
use crate::store::{Enqueued, Finished, Message, NewAlert, Store as _, StoreError};

/// Splits `waiting` (indices into `alerts`, in order) into the alerts that can be
/// inserted together now and those that must wait for a later pass: an alert
/// waits when its id or idempotency key is shared by an earlier waiting alert, so
/// that alerts sharing an id or key are decided in order, as if one at a time.
pub(crate) fn without_clashes(alerts: &[NewAlert], waiting: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    let (mut now, mut later) = (Vec::with_capacity(waiting.len()), Vec::new());
    for &index in waiting {
        let alert = &alerts[index];
        // Both sets are updated even for a waiting alert: alerts after it that
        // share its id or key must wait for it.
        let new_id = ids.insert(alert.id.as_str());
        let new_key = alert.idempotency_key.as_deref().is_none_or(|key| keys.insert(key));
        if new_id && new_key {
            now.push(index);
        } else {
            later.push(index);
        }
    }
    (now, later)
}

impl SqlStore {
    /// Inserts the alerts `indices` names, none of which clash with another in
    /// the list; returns the ids of those inserted (the others were stored before).
    pub(super) async fn insert_alerts(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        alerts: &[NewAlert],
        indices: &[usize],
    ) -> Result<HashSet<String>, StoreError> {
        let mut inserted = HashSet::with_capacity(indices.len());
        let rows: Vec<[Field<'_>; ALERT_FIELDS]> = indices.iter().map(|&index| alert_row(&alerts[index])).collect();
        for query in self.statements.insert_alerts.queries(&rows) {
            for row in query.fetch_all(&mut **tx).await? {
                inserted.insert(row.try_get::<String, _>("id")?);
            }
        }
        Ok(inserted)
    }

    /// Inserts the messages of the alerts `indices` names, many rows per statement.
    pub(super) async fn insert_messages(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        alerts: &[NewAlert],
        indices: &[usize],
    ) -> Result<(), StoreError> {
        let rows: Vec<[Field<'_>; MESSAGE_FIELDS]> = message_rows(alerts, indices).collect();
        for query in self.statements.insert_messages.queries(&rows) {
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// The stored alert an id or idempotency key refers to, with its message count.
    pub(super) async fn existing_alert(
        tx: &mut sqlx::Transaction<'_, Any>,
        alert: &NewAlert,
    ) -> Result<Enqueued, StoreError> {
        let row = sqlx::query(EXISTING_ALERT)
            .bind(alert.id.as_str())
            .bind(alert.idempotency_key.as_deref())
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| vanished(alert))?;
        duplicate(&row)
    }
}

#[async_trait]
impl QueueStore for SqlStore {
    async fn enqueue(&self, alerts: &[NewAlert]) -> Result<Vec<Enqueued>, StoreError> {
        let total = alerts.iter().map(|alert| alert.messages.len()).sum();
        if let Some(direct) = self.direct.as_ref().filter(|_| self.groups_enqueues(alerts)) {
            let (statements, alerts) = (Arc::clone(&self.statements), alerts.to_vec());
            let stored = direct.run(move |connection| sqlite::queue::enqueue(connection, &statements, &alerts)).await?;
            self.wrote(total, 0);
            return Ok(stored);
        }
        let mut results: Vec<Option<Enqueued>> = vec![None; alerts.len()];
        let mut tx = self.begin_write().await?;
        let mut waiting: Vec<usize> = (0..alerts.len()).collect();
        // One pass unless the batch itself repeats an id or key.
        while !waiting.is_empty() {
            let (now, later) = without_clashes(alerts, &waiting);
            let inserted = self.insert_alerts(&mut tx, alerts, &now).await?;
            let (fresh, before) = split_inserted(alerts, &now, &inserted, &mut results);
            for index in before {
                results[index] = Some(Self::existing_alert(&mut tx, &alerts[index]).await?);
            }
            self.insert_messages(&mut tx, alerts, &fresh).await?;
            // Storm rules (silences, dedupe, grouping): in this transaction.
            for (index, held) in self.hold_storms(&mut tx, alerts, &fresh).await? {
                if let Some(Some(result)) = results.get_mut(index) {
                    result.held.push(held);
                }
            }
            waiting = later;
        }
        tx.commit().await?;
        self.wrote(total, 0);
        Ok(results.into_iter().flatten().collect())
    }

    async fn claim(
        &self,
        destination_id: &str,
        owner: &str,
        limit: u32,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Message>, StoreError> {
        // Checked: a lease past the end of the calendar lasts for good, never panics.
        let lease = chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let lease_end = now.checked_add_signed(lease).unwrap_or(DateTime::<Utc>::MAX_UTC);
        if let Some(direct) = &self.direct {
            let (sql, owner, destination_id) = (self.claim.clone(), owner.to_owned(), destination_id.to_owned());
            return direct
                .run(move |connection| {
                    let binds = claim_binds(&owner, &destination_id, lease_end, now, limit);
                    sqlite::queue::claim(connection, &sql, binds)
                })
                .await;
        }
        let binds = claim_binds(owner, destination_id, lease_end, now, limit);
        let rows = binds.into_iter().fold(sqlx::query(&self.claim), bind).fetch_all(&self.write).await?;
        let mut messages = rows.iter().map(message_from_row).collect::<Result<Vec<_>, _>>()?;
        messages.sort_by_key(|message| message.created_at);
        Ok(messages)
    }

    async fn finish(&self, results: &[Finished]) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        if let Some(direct) = &self.direct {
            let (statements, results) = (Arc::clone(&self.statements), results.to_vec());
            let count = results.len();
            direct.run(move |connection| sqlite::queue::finish(connection, &statements, &results)).await?;
            self.wrote(0, count);
            return Ok(());
        }
        if let Some(together) = self.statements.finish_together.as_ref().filter(|one| one.has_size(results.len())) {
            // One statement: atomic without a transaction, one round trip
            // (other sizes need several statements, in the transaction below).
            let rows: Vec<_> = results.iter().map(finish_row).collect();
            for query in together.queries(&rows) {
                query.execute(&self.write).await?;
            }
            self.wrote(0, results.len());
            return Ok(());
        }
        let attempts: Vec<[Field<'_>; ATTEMPT_FIELDS]> = results.iter().map(attempt_row).collect();
        let outcomes: Vec<[Field<'_>; OUTCOME_FIELDS]> = results.iter().map(outcome_row).collect();
        let mut tx = self.begin_write().await?;
        for query in self.statements.insert_attempts.queries(&attempts) {
            query.execute(&mut *tx).await?;
        }
        for query in self.statements.apply_outcomes.queries(&outcomes) {
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.wrote(0, results.len());
        Ok(())
    }

    async fn release(&self, owner: &str) -> Result<u64, StoreError> {
        let released = sqlx::query(
            "UPDATE messages SET status = 'pending', lease_owner = NULL, lease_until = NULL \
             WHERE lease_owner = $1 AND status = 'delivering'",
        )
        .bind(owner)
        .execute(&self.write)
        .await?;
        Ok(released.rows_affected())
    }

    async fn hand_back(&self, owner: &str, ids: &[String], due: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut handed_back = 0;
        let mut tx = self.begin_write().await?;
        for id in ids {
            let done = sqlx::query(
                "UPDATE messages SET status = 'pending', next_attempt_at = $1, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $2 AND lease_owner = $3 AND status = 'delivering'",
            )
            .bind(millis(due))
            .bind(id.as_str())
            .bind(owner)
            .execute(&mut *tx)
            .await?;
            handed_back += done.rows_affected();
        }
        tx.commit().await?;
        Ok(handed_back)
    }

    async fn next_due(&self, destination_id: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(CASE WHEN status = 'delivering' THEN lease_until ELSE next_attempt_at END) AS due FROM messages \
             WHERE destination_id = $1 AND finished_at IS NULL",
        )
        .bind(destination_id)
        .fetch_one(&self.read)
        .await?;
        row.try_get::<Option<i64>, _>("due")?.map(|at| time(at, "messages")).transpose()
    }
}
