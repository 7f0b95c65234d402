//! The store's secret key and the rows it seals: adopting a key at start
//! (check value, refusing a different key) and sealing what an earlier version
//! stored in plaintext.

use chrono::Utc;
use sqlx::Row as _;

use super::*;
use crate::store::key::is_sealed;
use crate::store::StoreError;

impl SqlStore {
    /// Makes `key` the database's secret key: records its check value when the
    /// database has none (a new database, or one of an earlier version), refuses
    /// a different key ([`StoreError::WrongKey`]), and seals the specs still in
    /// plaintext (written by an earlier version). One transaction; safe when
    /// several instances start together.
    pub async fn adopt_key(&self, lock: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if let Some(lock) = lock {
            sqlx::query(lock).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO flockrelay_secret_key (id, key_check, created_at) VALUES (1, $1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(self.key.check_value())
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await?;
        let stored: String = sqlx::query("SELECT key_check FROM flockrelay_secret_key WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get("key_check")?;
        if stored != self.key.check_value() {
            return Err(StoreError::WrongKey { given: self.key.id(), database: stored.chars().take(8).collect() });
        }
        let mut sealed = 0_u64;
        for table in ["destinations", "sources"] {
            let rows = sqlx::query(&format!("SELECT id, spec FROM {table}")).fetch_all(&mut *tx).await?;
            for row in rows {
                let (id, spec): (String, String) = (row.try_get("id")?, row.try_get("spec")?);
                if is_sealed(&spec) {
                    continue;
                }
                sqlx::query(&format!("UPDATE {table} SET spec = $1 WHERE id = $2"))
                    .bind(self.key.seal(&row_name(table, &id), &spec))
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await?;
                sealed += 1;
            }
        }
        tx.commit().await?;
        if sealed > 0 {
            tracing::info!(rows = sealed, key = %self.key.id(), "Encrypted the secrets an earlier version stored in plaintext.");
            // The plaintext is still in the old row versions (PostgreSQL), free
            // pages and the WAL (SQLite): rewrite the tables (the catalogue is small).
            let rewrite = match self.dialect.backend {
                "sqlite" => "VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
                _ => "VACUUM (FULL) destinations, sources",
            };
            sqlx::raw_sql(rewrite).execute(&self.write).await?;
        }
        Ok(())
    }
}
