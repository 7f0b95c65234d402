//! The catalogue's queries: flocks and destinations, written by the config file
//! at start and by the API (the ownership rule for destinations: what the file
//! declares, the API cannot delete). Destination states are in `states.rs`.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use super::*;
use crate::destination::Destination;
use crate::flock::FlockSettings;
use crate::store::{FlockRecord, IfExists, Origin, StoreError};

impl SqlStore {
    pub(super) fn upsert_destination<'q>(destination: &'q Destination, spec: String, origin: Origin) -> AnyQuery<'q> {
        Self::bind_destination(
            "INSERT INTO destinations (id, name, scope, kind, spec, enabled, origin, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, scope = excluded.scope, kind = excluded.kind, \
             spec = excluded.spec, enabled = excluded.enabled, origin = excluded.origin, updated_at = excluded.updated_at",
            destination,
            spec,
            origin,
        )
    }

    /// Inserts a destination unless its id or name is taken (then nothing happens).
    pub(super) fn insert_destination<'q>(destination: &'q Destination, spec: String, origin: Origin) -> AnyQuery<'q> {
        Self::bind_destination(
            "INSERT INTO destinations (id, name, scope, kind, spec, enabled, origin, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            destination,
            spec,
            origin,
        )
    }

    /// A destinations row statement with its eight values bound, in column order.
    fn bind_destination<'q>(sql: &'q str, destination: &'q Destination, spec: String, origin: Origin) -> AnyQuery<'q> {
        sqlx::query(sql)
            .bind(destination.id.as_str())
            .bind(destination.name.as_str())
            .bind(destination.scope.as_str())
            .bind(destination.channel.kind().as_str())
            .bind(spec)
            .bind(flag(destination.enabled))
            .bind(origin.as_str())
            .bind(millis(Utc::now()))
    }

    pub(super) fn upsert_flock(flock: &FlockRecord) -> AnyQuery<'_> {
        Self::bind_flock(
            "INSERT INTO flocks (id, name, use_global, enabled, origin, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, use_global = excluded.use_global, \
             enabled = excluded.enabled, origin = excluded.origin, updated_at = excluded.updated_at",
            flock,
        )
    }

    /// A config file flock: inserted, or replacing a stored one the config file
    /// still owns. A flock the API took over keeps its name and settings.
    pub(super) fn upsert_config_flock(flock: &FlockRecord) -> AnyQuery<'_> {
        Self::bind_flock(
            "INSERT INTO flocks (id, name, use_global, enabled, origin, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, use_global = excluded.use_global, \
             enabled = excluded.enabled, origin = excluded.origin, updated_at = excluded.updated_at \
             WHERE flocks.origin = 'config'",
            flock,
        )
    }

    pub(super) fn bind_flock<'q>(sql: &'q str, flock: &'q FlockRecord) -> AnyQuery<'q> {
        sqlx::query(sql)
            .bind(flock.id.as_str())
            .bind(flock.name.as_str())
            .bind(flag(flock.settings.use_global))
            .bind(flag(flock.settings.enabled))
            .bind(flock.origin.as_str())
            .bind(millis(Utc::now()))
    }

    pub(super) fn cancel_messages_of(destination_id: &str) -> AnyQuery<'_> {
        sqlx::query(
            "UPDATE messages SET status = 'cancelled', lease_owner = NULL, lease_until = NULL, finished_at = $2, \
             last_error = 'destination deleted' WHERE destination_id = $1 AND finished_at IS NULL",
        )
        .bind(destination_id)
        .bind(millis(Utc::now()))
    }

    /// The destination as stored: its JSON, sealed (its channel settings hold
    /// tokens, passwords, signing secrets and secret URLs).
    pub(super) fn spec(&self, destination: &Destination) -> Result<String, StoreError> {
        let json = serde_json::to_string(destination)
            .map_err(|error| StoreError::Corrupt { table: "destinations", reason: error.to_string() })?;
        Ok(self.key.seal(&row_name("destinations", &destination.id), &json))
    }
}

#[async_trait]
impl CatalogueStore for SqlStore {
    async fn flocks(&self) -> Result<Vec<FlockRecord>, StoreError> {
        let rows = sqlx::query("SELECT id, name, use_global, enabled, origin FROM flocks ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(FlockRecord {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    settings: FlockSettings {
                        use_global: row.try_get::<i64, _>("use_global")? != 0,
                        enabled: row.try_get::<i64, _>("enabled")? != 0,
                    },
                    origin: origin_from(&row.try_get::<String, _>("origin")?),
                })
            })
            .collect()
    }

    async fn put_flock(&self, flock: &FlockRecord) -> Result<(), StoreError> {
        Self::upsert_flock(flock).execute(&self.write).await?;
        Ok(())
    }

    async fn delete_flock(&self, id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        // The ownership rule and the delete are one statement: a flock the
        // config file took over in the meantime is never deleted.
        let deleted = sqlx::query("DELETE FROM flocks WHERE id = $1 AND origin = $2")
            .bind(id)
            .bind(Origin::Api.as_str())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            let exists = sqlx::query("SELECT id FROM flocks WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            return Err(match exists {
                Some(_) => StoreError::FlockDeclaredInConfig(id.to_owned()),
                None => StoreError::FlockNotFound(id.to_owned()),
            });
        }
        let ids: Vec<String> = sqlx::query("SELECT id FROM destinations WHERE scope = $1")
            .bind(id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.try_get("id"))
            .collect::<Result<_, _>>()?;
        for destination_id in &ids {
            Self::cancel_messages_of(destination_id).execute(&mut *tx).await?;
        }
        sqlx::query("DELETE FROM destinations WHERE scope = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_flock_settings(&self, id: &str, settings: FlockSettings) -> Result<(), StoreError> {
        let updated =
            sqlx::query("UPDATE flocks SET use_global = $1, enabled = $2, origin = $3, updated_at = $4 WHERE id = $5")
                .bind(flag(settings.use_global))
                .bind(flag(settings.enabled))
                .bind(Origin::Api.as_str())
                .bind(millis(Utc::now()))
                .bind(id)
                .execute(&self.write)
                .await?;
        found(&updated, || StoreError::FlockNotFound(id.to_owned()))?;
        Ok(())
    }

    async fn rename_flock(&self, id: &str, name: &str) -> Result<(), StoreError> {
        let updated = sqlx::query("UPDATE flocks SET name = $1, origin = $2, updated_at = $3 WHERE id = $4")
            .bind(name)
            .bind(Origin::Api.as_str())
            .bind(millis(Utc::now()))
            .bind(id)
            .execute(&self.write)
            .await?;
        found(&updated, || StoreError::FlockNotFound(id.to_owned()))?;
        Ok(())
    }

    async fn destinations(&self) -> Result<Vec<Destination>, StoreError> {
        let rows = sqlx::query("SELECT spec, id, state FROM destinations ORDER BY name").fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let mut destination = destination_from_row(&self.key, row)?;
                destination.enabled &=
                    states::state_from(&row.try_get::<String, _>("state")?) == crate::store::DestinationState::Enabled;
                Ok(destination)
            })
            .collect()
    }

    async fn destination_states(&self) -> Result<Vec<crate::store::StateRecord>, StoreError> {
        self.read_destination_states().await
    }

    async fn set_destination_state(
        &self,
        id: &str,
        state: crate::store::DestinationState,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_destination_state(id, state, reason, at).await
    }

    async fn put_destination(&self, destination: &Destination, origin: Origin) -> Result<(), StoreError> {
        Self::upsert_destination(destination, self.spec(destination)?, origin).execute(&self.write).await?;
        Ok(())
    }

    async fn delete_destination(&self, id: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM destinations WHERE id = $1").bind(id).execute(&mut *tx).await?;
        found(&deleted, || StoreError::DestinationNotFound(id.to_owned()))?;
        let cancelled = Self::cancel_messages_of(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(cancelled)
    }

    async fn add_destination(
        &self,
        destination: &Destination,
        origin: Origin,
        if_exists: IfExists,
    ) -> Result<(), StoreError> {
        let spec = self.spec(destination)?;
        let mut tx = self.begin_write().await?;
        let flock = destination.scope.as_str();
        if sqlx::query("SELECT id FROM flocks WHERE id = $1").bind(flock).fetch_optional(&mut *tx).await?.is_none() {
            return Err(StoreError::FlockNotFound(flock.to_owned()));
        }
        match if_exists {
            IfExists::Fail => {
                let inserted = Self::insert_destination(destination, spec, origin).execute(&mut *tx).await?;
                if inserted.rows_affected() == 0 {
                    return Err(StoreError::DuplicateDestination(destination.id.clone()));
                }
            }
            IfExists::Replace => {
                let clash = sqlx::query("SELECT id FROM destinations WHERE name = $1 AND id <> $2")
                    .bind(destination.name.as_str())
                    .bind(destination.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if clash.is_some() {
                    return Err(StoreError::DuplicateDestination(destination.name.clone()));
                }
                let owner = sqlx::query("SELECT origin FROM destinations WHERE id = $1")
                    .bind(destination.id.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = owner {
                    if origin_from(&row.try_get::<String, _>("origin")?) != origin {
                        return Err(StoreError::DeclaredInConfig(destination.id.clone()));
                    }
                }
                self.lift_stale_verdict(&mut tx, destination).await?;
                Self::upsert_destination(destination, spec, origin).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn delete_api_destinations(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut cancelled = 0;
        for id in ids {
            let row = sqlx::query("SELECT origin FROM destinations WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| StoreError::DestinationNotFound(id.clone()))?;
            if origin_from(&row.try_get::<String, _>("origin")?) != Origin::Api {
                return Err(StoreError::DeclaredInConfig(id.clone()));
            }
            sqlx::query("DELETE FROM destinations WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
            cancelled += Self::cancel_messages_of(id).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(cancelled)
    }

    async fn apply_config(&self, flocks: &[FlockRecord], destinations: &[Destination]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for flock in flocks {
            Self::upsert_config_flock(flock).execute(&mut *tx).await?;
        }
        let kept: Vec<&str> = destinations.iter().map(|destination| destination.id.as_str()).collect();
        let stale = Self::config_ids_not_in(&mut tx, "destinations", &kept).await?;
        for id in &stale {
            Self::cancel_messages_of(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM destinations WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
            tracing::info!(destination = %id, "A destination removed from the config file was deleted.");
        }
        for destination in destinations {
            // A config destination replaces an API one of the same name.
            sqlx::query("DELETE FROM destinations WHERE name = $1 AND id <> $2")
                .bind(destination.name.as_str())
                .bind(destination.id.as_str())
                .execute(&mut *tx)
                .await?;
            self.lift_stale_verdict(&mut tx, destination).await?;
            Self::upsert_destination(destination, self.spec(destination)?, Origin::Config).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
