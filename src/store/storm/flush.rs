//! [`StormStore`] on SQL: closing due groups into digest messages (one
//! transaction each), silences, and the digest member log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::{member_from_row, silence_from_row, Closing, Flushed, GroupRef, StormStore, Tx, SILENCE_SELECT};
use crate::store::sql::{millis, time, SqlStore};
use crate::store::{MessageStatus, NewMessage, Store as _, StoreError};
use crate::storm::silence::Silence;
use crate::storm::{self as rules};

/// The group's row, locked for the flush.
struct GroupRow {
    label: String,
    flock_id: String,
    window_start: DateTime<Utc>,
    interval: std::time::Duration,
    announced: bool,
}

impl SqlStore {
    /// Locks the group if it is due (PostgreSQL: skipping it when another
    /// relay holds it).
    async fn lock_due(
        &self,
        tx: &mut Tx<'_>,
        group: &GroupRef,
        now: DateTime<Utc>,
    ) -> Result<Option<GroupRow>, StoreError> {
        let postgres = self.backend() == "postgres";
        if !postgres {
            // SQLite: take the write lock first (waiting out another writer), so
            // that the reads below can never be of a snapshot another
            // connection has since written past (SQLITE_BUSY_SNAPSHOT).
            sqlx::query("UPDATE storm_groups SET collected = collected WHERE destination_id = $1 AND group_key = $2")
                .bind(group.destination_id.as_str())
                .bind(group.group_key.as_str())
                .execute(&mut **tx)
                .await?;
        }
        let lock = if postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
        let row = sqlx::query(&format!(
            "SELECT label, flock_id, window_start, interval_ms, announced FROM storm_groups \
             WHERE destination_id = $1 AND group_key = $2 AND window_end <= $3{lock}"
        ))
        .bind(group.destination_id.as_str())
        .bind(group.group_key.as_str())
        .bind(millis(now))
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(GroupRow {
            label: row.try_get(0)?,
            flock_id: row.try_get(1)?,
            window_start: time(row.try_get(2)?, "storm_groups")?,
            interval: std::time::Duration::from_millis(u64::try_from(row.try_get::<i64, _>(3)?).unwrap_or(0)),
            announced: row.try_get::<i64, _>(4)? != 0,
        }))
    }

    async fn end_group(tx: &mut Tx<'_>, group: &GroupRef) -> Result<(), StoreError> {
        for table in ["storm_members", "storm_groups"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE destination_id = $1 AND group_key = $2"))
                .bind(group.destination_id.as_str())
                .bind(group.group_key.as_str())
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Stores the digest, links its members, and starts the next window.
    async fn store_digest(
        tx: &mut Tx<'_>,
        group: &GroupRef,
        closing: &Closing,
        message: &NewMessage,
        hops: u32,
        next_end: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let first = closing.members.first().map(|member| member.alert_id.as_str()).unwrap_or_default();
        let status = if message.error.is_some() { MessageStatus::Failed } else { MessageStatus::Pending };
        sqlx::query(
            "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, \
             next_attempt_at, last_error, finished_at, hops) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11)",
        )
        .bind(message.id.as_str())
        .bind(first)
        .bind(group.destination_id.as_str())
        .bind(closing.flock_id.as_str())
        .bind(message.kind.as_str())
        .bind(status.as_str())
        .bind(message.body.as_str())
        .bind(millis(now))
        .bind(message.error.as_deref())
        .bind(message.error.as_ref().map(|_| millis(now)))
        .bind(i64::from(hops))
        .execute(&mut **tx)
        .await?;
        let members = "FROM storm_members WHERE destination_id = $2 AND group_key = $3";
        for statement in [
            format!("INSERT INTO digest_alerts (message_id, alert_id) SELECT DISTINCT $1, alert_id {members} ON CONFLICT DO NOTHING"),
            format!("UPDATE messages SET last_error = 'Carried by digest ' || $1 WHERE id IN (SELECT message_id {members})"),
        ] {
            sqlx::query(&statement)
                .bind(message.id.as_str())
                .bind(group.destination_id.as_str())
                .bind(group.group_key.as_str())
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("DELETE FROM storm_members WHERE destination_id = $1 AND group_key = $2")
            .bind(group.destination_id.as_str())
            .bind(group.group_key.as_str())
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE storm_groups SET window_start = $3, window_end = $4, announced = 1, collected = 0 \
             WHERE destination_id = $1 AND group_key = $2",
        )
        .bind(group.destination_id.as_str())
        .bind(group.group_key.as_str())
        .bind(millis(now))
        .bind(millis(next_end))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl StormStore for SqlStore {
    async fn due_groups(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<GroupRef>, StoreError> {
        let rows = sqlx::query(
            "SELECT destination_id, group_key FROM storm_groups WHERE window_end <= $1 ORDER BY window_end LIMIT $2",
        )
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(|row| Ok(GroupRef { destination_id: row.try_get(0)?, group_key: row.try_get(1)? })).collect()
    }

    async fn flush_group(
        &self,
        group: &GroupRef,
        now: DateTime<Utc>,
        digest: &(dyn for<'c> Fn(&'c Closing) -> Option<NewMessage> + Send + Sync),
    ) -> Result<Option<Flushed>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(row) = self.lock_due(&mut tx, group, now).await? else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT alert_id, received_at, hops, facts FROM storm_members \
             WHERE destination_id = $1 AND group_key = $2 ORDER BY received_at, message_id",
        )
        .bind(group.destination_id.as_str())
        .bind(group.group_key.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let mut members = Vec::with_capacity(rows.len());
        let mut hops = 0;
        for row in &rows {
            let (member, member_hops) = member_from_row(row)?;
            hops = hops.max(member_hops);
            members.push(member);
        }
        let Some(next_end) = rules::next_window(now, members.len(), row.interval) else {
            Self::end_group(&mut tx, group).await?;
            tx.commit().await?;
            return Ok(Some(Flushed { message_id: None, carried: 0 }));
        };
        let closing = Closing {
            destination_id: group.destination_id.clone(),
            label: row.label,
            flock_id: row.flock_id,
            window_start: row.window_start,
            announced: row.announced,
            members,
        };
        let Some(message) = digest(&closing) else {
            Self::end_group(&mut tx, group).await?;
            tx.commit().await?;
            return Ok(Some(Flushed { message_id: None, carried: 0 }));
        };
        Self::store_digest(&mut tx, group, &closing, &message, hops, next_end, now).await?;
        tx.commit().await?;
        Ok(Some(Flushed { message_id: Some(message.id), carried: closing.members.len() }))
    }

    async fn silences(&self, all: bool, now: DateTime<Utc>) -> Result<Vec<Silence>, StoreError> {
        let rows = sqlx::query(&format!("{SILENCE_SELECT} WHERE expires_at > $1 ORDER BY created_at DESC, id DESC"))
            .bind(if all { i64::MIN } else { millis(now) })
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(silence_from_row).collect()
    }

    async fn add_silence(&self, silence: &Silence) -> Result<(), StoreError> {
        let matchers = serde_json::to_string(&silence.matchers)
            .map_err(|error| StoreError::Corrupt { table: "silences", reason: error.to_string() })?;
        sqlx::query(
            "INSERT INTO silences (id, matchers, reason, author, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(silence.id.as_str())
        .bind(matchers)
        .bind(silence.reason.as_str())
        .bind(silence.author.as_str())
        .bind(millis(silence.created_at))
        .bind(millis(silence.expires_at))
        .execute(self.writer())
        .await?;
        Ok(())
    }

    async fn expire_silence(&self, id: &str, now: DateTime<Utc>) -> Result<Silence, StoreError> {
        sqlx::query("UPDATE silences SET expires_at = $2 WHERE id = $1 AND expires_at > $2")
            .bind(id)
            .bind(millis(now))
            .execute(self.writer())
            .await?;
        let row = sqlx::query(&format!("{SILENCE_SELECT} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.writer())
            .await?
            .ok_or_else(|| StoreError::SilenceNotFound(id.to_owned()))?;
        silence_from_row(&row)
    }

    async fn digest_alerts(&self, message_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT alert_id FROM digest_alerts WHERE message_id = $1 ORDER BY alert_id")
            .bind(message_id)
            .fetch_all(self.reader())
            .await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    async fn prune_storms(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let expired = sqlx::query("DELETE FROM storm_fingerprints WHERE expires_at <= $1")
            .bind(millis(now))
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM digest_alerts WHERE NOT EXISTS (SELECT 1 FROM messages WHERE messages.id = digest_alerts.message_id)")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(expired)
    }
}
