//! Rows to records shared by several queries: messages, destinations, sources.
//! Columns are read by name (here and in every concern file), so that a
//! reordered `SELECT` cannot shift a value into the wrong field. Opening sealed
//! specs happens here too; no query is run.

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::*;
use crate::destination::Destination;
use crate::notify::ChannelKind;
use crate::store::key::SecretKey;
use crate::store::{Message, MessageStatus, Origin, SourceRecord, StoreError};

/// The columns every message query returns, read by [`message_from_row`].
pub const MESSAGE_COLUMNS: &str = "id, alert_id, destination_id, flock_id, kind, status, body, attempts, tries, \
     created_at, next_attempt_at, last_error, finished_at, hops";

pub(super) fn kind_from(text: &str, table: &'static str) -> Result<ChannelKind, StoreError> {
    ChannelKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt { table, reason: format!("unknown channel kind {text:?}") })
}

/// A result row whose columns are read by name: sqlx's rows, and the rows of
/// the SQLite writer thread's own connection (`store::sqlite::writer`), so
/// that one function maps each record whichever connection read it.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn optional_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn integer(&self, column: &str) -> Result<i64, StoreError>;
    fn optional_integer(&self, column: &str) -> Result<Option<i64>, StoreError>;
}

impl Columns for AnyRow {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn optional_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn integer(&self, column: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(column)?)
    }

    fn optional_integer(&self, column: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(column)?)
    }
}

pub(crate) fn message_from_row(row: &impl Columns) -> Result<Message, StoreError> {
    let status = row.text("status")?;
    Ok(Message {
        id: row.text("id")?,
        alert_id: row.text("alert_id")?,
        destination_id: row.text("destination_id")?,
        flock_id: row.text("flock_id")?,
        kind: kind_from(&row.text("kind")?, "messages")?,
        status: MessageStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt { table: "messages", reason: format!("unknown status {status:?}") })?,
        body: row.text("body")?,
        attempts: count(row.integer("attempts")?),
        tries: count(row.integer("tries")?),
        created_at: time(row.integer("created_at")?, "messages")?,
        next_attempt_at: time(row.integer("next_attempt_at")?, "messages")?,
        last_error: row.optional_text("last_error")?,
        finished_at: row.optional_integer("finished_at")?.map(|at| time(at, "messages")).transpose()?,
        hops: count(row.integer("hops")?),
    })
}

/// The row name sealed values are bound to (`destinations:soc_hec`).
pub(super) fn row_name(table: &str, id: &str) -> String {
    format!("{table}:{id}")
}

/// Opens a stored spec (sealed, or an earlier version's plaintext).
pub(super) fn open_spec(key: &SecretKey, table: &'static str, id: &str, spec: &str) -> Result<String, StoreError> {
    key.open(&row_name(table, id), spec).map_err(|error| StoreError::Sealed { table, id: id.to_owned(), source: error })
}

/// A destination from a row with `spec` and `id`.
pub(super) fn destination_from_row(key: &SecretKey, row: &AnyRow) -> Result<Destination, StoreError> {
    let (spec, id): (String, String) = (row.try_get("spec")?, row.try_get("id")?);
    serde_json::from_str(&open_spec(key, "destinations", &id, &spec)?)
        .map_err(|error| StoreError::Corrupt { table: "destinations", reason: error.to_string() })
}

/// A source from a row with `spec`, `origin` and `id`.
pub(super) fn source_from_row(key: &SecretKey, row: &AnyRow) -> Result<SourceRecord, StoreError> {
    let (spec, id): (String, String) = (row.try_get("spec")?, row.try_get("id")?);
    let source = serde_json::from_str(&open_spec(key, "sources", &id, &spec)?)
        .map_err(|error| StoreError::Corrupt { table: "sources", reason: error.to_string() })?;
    Ok(SourceRecord { source, origin: origin_from(&row.try_get::<String, _>("origin")?) })
}

pub(super) fn origin_from(text: &str) -> Origin {
    if text == Origin::Config.as_str() {
        Origin::Config
    } else {
        Origin::Api
    }
}
