//! What operators read and do with messages: the keyset-paged list, one
//! message with its attempts, replay, recover, queue depths.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::*;
use crate::store::{Attempt, Message, MessageFilter, QueueDepth, StoreError};

impl SqlStore {}

#[async_trait]
impl OperatorStore for SqlStore {
    async fn messages(&self, filter: &MessageFilter) -> Result<Vec<Message>, StoreError> {
        let mut conditions = Vec::new();
        let mut index = 0;
        let mut next = || {
            index += 1;
            format!("${index}")
        };
        // The status is one of five fixed words, written into the statement so
        // that the planner can use the partial index of failed messages.
        if let Some(status) = filter.status {
            conditions.push(format!("status = '{}'", status.as_str()));
        }
        let text_filters = [("destination_id", filter.destination_id.clone()), ("flock_id", filter.flock_id.clone())];
        let mut texts = Vec::new();
        for (column, value) in text_filters {
            if let Some(value) = value {
                conditions.push(format!("{column} = {}", next()));
                texts.push(value);
            }
        }
        if let Some(alert) = &filter.alert_id {
            let [shown, posted] = crate::origin::filter_ids(alert);
            conditions.push(format!("alert_id IN ({}, {})", next(), next()));
            texts.extend([shown, posted]);
        }
        let mut times = Vec::new();
        if let Some(since) = filter.since {
            conditions.push(format!("created_at >= {}", next()));
            times.push(millis(since));
        }
        if let Some(until) = filter.until {
            conditions.push(format!("created_at < {}", next()));
            times.push(millis(until));
        }
        // Keyset pagination: rows after the cursor in (created_at, id) order,
        // read from the index where the previous page stopped.
        let before = filter.before.as_ref().map(|cursor| {
            let (at, id) = (next(), next());
            conditions.push(format!("(created_at, id) < ({at}, {id})"));
            (millis(cursor.created_at), cursor.id.clone())
        });
        let limit_placeholder = next();
        let where_clause =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages {where_clause} ORDER BY created_at DESC, id DESC LIMIT {limit_placeholder}"
        );
        let mut query = sqlx::query(&sql);
        for text in texts {
            query = query.bind(text);
        }
        for time in times {
            query = query.bind(time);
        }
        if let Some((at, id)) = before {
            query = query.bind(at).bind(id);
        }
        let rows = query.bind(i64::from(filter.limit)).fetch_all(&self.read).await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn message(&self, id: &str) -> Result<Option<(Message, Vec<Attempt>)>, StoreError> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let Some(row) = sqlx::query(&sql).bind(id).fetch_optional(&self.read).await? else {
            return Ok(None);
        };
        let message = message_from_row(&row)?;
        let attempts = sqlx::query(
            "SELECT number, started_at, duration_ms, http_status, outcome, detail FROM attempts \
             WHERE message_id = $1 ORDER BY number",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| {
            Ok(Attempt {
                number: count(row.try_get("number")?),
                started_at: time(row.try_get("started_at")?, "attempts")?,
                duration_ms: u64::try_from(row.try_get::<i64, _>("duration_ms")?).unwrap_or(0),
                http_status: row
                    .try_get::<Option<i64>, _>("http_status")?
                    .and_then(|status| u16::try_from(status).ok()),
                outcome: row.try_get("outcome")?,
                detail: row.try_get("detail")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some((message, attempts)))
    }

    async fn replay(&self, id: &str, now: DateTime<Utc>) -> Result<Message, StoreError> {
        let updated = sqlx::query(
            "UPDATE messages SET status = 'pending', next_attempt_at = $2, tries = 0, finished_at = NULL \
             WHERE id = $1 AND status IN ('delivered', 'failed')",
        )
        .bind(id)
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.write)
            .await?
            .ok_or_else(|| StoreError::MessageNotFound(id.to_owned()))?;
        let message = message_from_row(&row)?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotReplayable { id: id.to_owned(), status: message.status.as_str() });
        }
        Ok(message)
    }

    async fn recover(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let recovered = sqlx::query(
            "UPDATE messages SET status = 'pending', next_attempt_at = $4, tries = 0, finished_at = NULL \
             WHERE destination_id = $1 AND status = 'failed' AND created_at >= $2 AND created_at < $3",
        )
        .bind(destination_id)
        .bind(millis(since))
        .bind(millis(until))
        .bind(millis(now))
        .execute(&self.write)
        .await?;
        Ok(recovered.rows_affected())
    }

    async fn count_failed(
        &self,
        destination_id: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS failed FROM messages \
             WHERE destination_id = $1 AND status = 'failed' AND created_at >= $2 AND created_at < $3",
        )
        .bind(destination_id)
        .bind(millis(since))
        .bind(millis(until))
        .fetch_one(&self.read)
        .await?;
        Ok(u64::try_from(row.try_get::<i64, _>("failed")?).unwrap_or(0))
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "DELETE FROM attempts WHERE message_id IN \
             (SELECT id FROM messages WHERE finished_at < $1 AND status IN ('delivered', 'cancelled', 'grouped', 'suppressed', 'silenced'))",
        )
        .bind(millis(before))
        .execute(&mut *tx)
        .await?;
        let pruned =
            sqlx::query("DELETE FROM messages WHERE finished_at < $1 AND status IN ('delivered', 'cancelled', 'grouped', 'suppressed', 'silenced')")
                .bind(millis(before))
                .execute(&mut *tx)
                .await?
                .rows_affected();
        // Alerts are kept as long as any of their messages is, and for the
        // retention period at least (their ids de-duplicate senders' retries).
        sqlx::query(
            "DELETE FROM alerts WHERE received_at < $1 AND NOT EXISTS \
             (SELECT 1 FROM messages WHERE messages.alert_id = alerts.id)",
        )
        .bind(millis(before))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(pruned)
    }

    async fn queue_depths(&self) -> Result<Vec<QueueDepth>, StoreError> {
        let rows = sqlx::query(
            "SELECT destination_id, COUNT(*) AS queued, MIN(created_at) AS oldest FROM messages \
             WHERE finished_at IS NULL GROUP BY destination_id ORDER BY destination_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(QueueDepth {
                    destination_id: row.try_get("destination_id")?,
                    queued: u64::try_from(row.try_get::<i64, _>("queued")?).unwrap_or(0),
                    oldest_created_at: row
                        .try_get::<Option<i64>, _>("oldest")?
                        .map(|at| time(at, "messages"))
                        .transpose()?,
                })
            })
            .collect()
    }
}
