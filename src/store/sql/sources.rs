//! Inbound sources: their rows (specs sealed with the store's key), written by
//! the config file at start and by the API.

use chrono::Utc;

use super::*;
use crate::ingest::inbound::Source;
use crate::store::{Origin, SourceRecord, StoreError};

impl SqlStore {
    pub(super) fn upsert_source(source: &Source, spec: String, origin: Origin) -> AnyQuery<'_> {
        Self::bind_source(
            "INSERT INTO sources (id, flock_id, scheme, spec, origin, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO UPDATE SET flock_id = excluded.flock_id, scheme = excluded.scheme, \
             spec = excluded.spec, origin = excluded.origin, updated_at = excluded.updated_at",
            source,
            spec,
            origin,
        )
    }

    /// A sources row statement with its six values bound, in column order.
    fn bind_source<'q>(sql: &'q str, source: &'q Source, spec: String, origin: Origin) -> AnyQuery<'q> {
        sqlx::query(sql)
            .bind(source.id.as_str())
            .bind(source.flock.as_str())
            .bind(source.scheme.name().as_str())
            .bind(spec)
            .bind(origin.as_str())
            .bind(millis(Utc::now()))
    }

    /// The source as stored: its JSON, sealed (it holds the source's secrets).
    pub(super) fn source_spec(&self, source: &Source) -> Result<String, StoreError> {
        let json = serde_json::to_string(source)
            .map_err(|error| StoreError::Corrupt { table: "sources", reason: error.to_string() })?;
        Ok(self.key.seal(&row_name("sources", &source.id), &json))
    }
}

#[async_trait]
impl SourceStore for SqlStore {
    async fn sources(&self) -> Result<Vec<SourceRecord>, StoreError> {
        let rows = sqlx::query("SELECT spec, origin, id FROM sources ORDER BY id").fetch_all(&self.read).await?;
        rows.iter().map(|row| source_from_row(&self.key, row)).collect()
    }

    async fn source(&self, id: &str) -> Result<Option<SourceRecord>, StoreError> {
        let row = sqlx::query("SELECT spec, origin, id FROM sources WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(|row| source_from_row(&self.key, row)).transpose()
    }

    async fn put_source(&self, source: &Source, origin: Origin) -> Result<(), StoreError> {
        Self::upsert_source(source, self.source_spec(source)?, origin).execute(&self.write).await?;
        Ok(())
    }

    async fn add_source(&self, source: &Source, origin: Origin) -> Result<(), StoreError> {
        let inserted = Self::bind_source(
            "INSERT INTO sources (id, flock_id, scheme, spec, origin, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (id) DO NOTHING",
            source,
            self.source_spec(source)?,
            origin,
        )
        .execute(&self.write)
        .await?;
        found(&inserted, || StoreError::SourceExists(source.id.clone()))
    }

    async fn delete_source(&self, id: &str) -> Result<(), StoreError> {
        // The ownership rule and the delete are one statement (see delete_flock).
        let deleted = sqlx::query("DELETE FROM sources WHERE id = $1 AND origin = $2")
            .bind(id)
            .bind(Origin::Api.as_str())
            .execute(&self.write)
            .await?;
        if deleted.rows_affected() > 0 {
            return Ok(());
        }
        let exists = sqlx::query("SELECT id FROM sources WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        Err(match exists {
            Some(_) => StoreError::SourceDeclaredInConfig(id.to_owned()),
            None => StoreError::SourceNotFound(id.to_owned()),
        })
    }

    async fn apply_config_sources(&self, sources: &[Source]) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let kept: Vec<&str> = sources.iter().map(|source| source.id.as_str()).collect();
        let stale = Self::config_ids_not_in(&mut tx, "sources", &kept).await?;
        for id in &stale {
            sqlx::query("DELETE FROM sources WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?;
            tracing::info!(source = %id, "A source removed from the config file was deleted.");
        }
        for source in sources {
            Self::upsert_source(source, self.source_spec(source)?, Origin::Config).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
