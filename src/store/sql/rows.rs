//! Rows to records: every query's columns are read by name here, so that a
//! reordered `SELECT` cannot shift a value into the wrong field. Opening sealed
//! specs also happens here; no query is run.

use sqlx::any::AnyRow;
use sqlx::Row as _;

use super::*;
use crate::destination::{ChannelKind, Destination};
use crate::store::key::SecretKey;
use crate::store::{Message, MessageStatus, Origin, SourceRecord, StoreError};

/// The columns every message query returns, in [`message_from_row`]'s order.
pub const MESSAGE_COLUMNS: &str = "id, alert_id, destination_id, flock_id, kind, status, body, attempts, tries, \
     created_at, next_attempt_at, last_error, finished_at, hops";

pub(super) fn kind_from(text: &str, table: &'static str) -> Result<ChannelKind, StoreError> {
    ChannelKind::ALL
        .into_iter()
        .find(|kind| kind.as_str() == text)
        .ok_or_else(|| StoreError::Corrupt { table, reason: format!("unknown channel kind {text:?}") })
}

pub(super) fn message_from_row(row: &AnyRow) -> Result<Message, StoreError> {
    let status: String = row.try_get(5)?;
    let finished_at: Option<i64> = row.try_get(12)?;
    Ok(Message {
        id: row.try_get(0)?,
        alert_id: row.try_get(1)?,
        destination_id: row.try_get(2)?,
        flock_id: row.try_get(3)?,
        kind: kind_from(&row.try_get::<String, _>(4)?, "messages")?,
        status: MessageStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt { table: "messages", reason: format!("unknown status {status:?}") })?,
        body: row.try_get(6)?,
        attempts: count(row.try_get(7)?),
        tries: count(row.try_get(8)?),
        created_at: time(row.try_get(9)?, "messages")?,
        next_attempt_at: time(row.try_get(10)?, "messages")?,
        last_error: row.try_get(11)?,
        finished_at: finished_at.map(|at| time(at, "messages")).transpose()?,
        hops: count(row.try_get(13)?),
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

/// A destination from a row of `spec, id`.
pub(super) fn destination_from_row(key: &SecretKey, row: &AnyRow) -> Result<Destination, StoreError> {
    let (spec, id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    serde_json::from_str(&open_spec(key, "destinations", &id, &spec)?)
        .map_err(|error| StoreError::Corrupt { table: "destinations", reason: error.to_string() })
}

/// A source from a row of `spec, origin, id`.
pub(super) fn source_from_row(key: &SecretKey, row: &AnyRow) -> Result<SourceRecord, StoreError> {
    let (spec, id): (String, String) = (row.try_get(0)?, row.try_get(2)?);
    let source = serde_json::from_str(&open_spec(key, "sources", &id, &spec)?)
        .map_err(|error| StoreError::Corrupt { table: "sources", reason: error.to_string() })?;
    Ok(SourceRecord { source, origin: origin_from(&row.try_get::<String, _>(1)?) })
}

pub(super) fn origin_from(text: &str) -> Origin {
    if text == Origin::Config.as_str() {
        Origin::Config
    } else {
        Origin::Api
    }
}
