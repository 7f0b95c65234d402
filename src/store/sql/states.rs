//! Destination states (migration 0005): the run-time verdict of an operator or
//! a channel, stored beside the destination's settings and never rewritten by
//! the config file. The queries behind [`Store::destinations`]'s `enabled`,
//! [`Store::destination_states`] and [`Store::set_destination_state`].
//!
//! [`Store::destinations`]: crate::store::Store::destinations
//! [`Store::destination_states`]: crate::store::Store::destination_states
//! [`Store::set_destination_state`]: crate::store::Store::set_destination_state

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row as _};

use super::{millis, SqlStore};
use crate::destination::Destination;
use crate::store::{DestinationState, StateRecord, StoreError};

/// A stored state column, read leniently: a value this version does not know
/// counts as a disable by the operator (never as enabled).
pub(super) fn state_from(text: &str) -> DestinationState {
    DestinationState::parse(text).unwrap_or(DestinationState::DisabledByOperator)
}

fn record_from_row(row: &AnyRow) -> Result<StateRecord, StoreError> {
    let changed_at: Option<i64> = row.try_get("state_changed_at")?;
    Ok(StateRecord {
        destination_id: row.try_get("id")?,
        switched_on: row.try_get::<i64, _>("enabled")? != 0,
        state: state_from(&row.try_get::<String, _>("state")?),
        reason: row.try_get("state_reason")?,
        changed_at: changed_at.map(|at| super::time(at, "destinations")).transpose()?,
    })
}

impl SqlStore {
    pub(super) async fn read_destination_states(&self) -> Result<Vec<StateRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT id, enabled, state, state_reason, state_changed_at FROM destinations ORDER BY name")
                .fetch_all(self.reader())
                .await?;
        rows.iter().map(record_from_row).collect()
    }

    pub(super) async fn write_destination_state(
        &self,
        id: &str,
        state: DestinationState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let updated =
            sqlx::query("UPDATE destinations SET state = $1, state_reason = $2, state_changed_at = $3 WHERE id = $4")
                .bind(state.as_str())
                .bind(reason)
                .bind(millis(at))
                .bind(id)
                .execute(self.writer())
                .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::DestinationNotFound(id.to_owned()));
        }
        Ok(())
    }

    /// Before `destination` replaces what is stored under its id: a channel's
    /// verdict on other channel settings (another URL, host or token) was about
    /// an endpoint that is no longer used, so it is lifted.
    pub(super) async fn lift_stale_verdict(
        &self,
        tx: &mut sqlx::Transaction<'_, Any>,
        destination: &Destination,
    ) -> Result<(), StoreError> {
        let row = sqlx::query("SELECT spec, id, state FROM destinations WHERE id = $1")
            .bind(destination.id.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        let Some(row) = row else {
            return Ok(());
        };
        if state_from(&row.try_get::<String, _>("state")?) != DestinationState::DisabledByChannel {
            return Ok(());
        }
        // An unreadable stored spec counts as different: the new settings replace it.
        let stored = super::destination_from_row(self.key(), &row).ok();
        if stored.is_some_and(|stored| stored.channel == destination.channel) {
            return Ok(());
        }
        sqlx::query(
            "UPDATE destinations SET state = 'enabled', state_reason = NULL, state_changed_at = $1 WHERE id = $2",
        )
        .bind(millis(Utc::now()))
        .bind(destination.id.as_str())
        .execute(&mut **tx)
        .await?;
        tracing::info!(destination = %destination.name, "The channel settings changed; the channel's verdict on the old ones no longer applies.");
        Ok(())
    }
}
