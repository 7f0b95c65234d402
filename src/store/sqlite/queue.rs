//! The outbox's hot writes as the SQLite writer thread runs them, each in a
//! savepoint of the transaction its group shares ([`super::writer`]): the
//! same statements, rows and results as the sqlx path (`store::sql::queue`),
//! which still runs an enqueue that storm rules must look at (their queries
//! are sqlx's).

use std::collections::HashSet;

use rusqlite::{params_from_iter, Connection};

use super::writer::numbered;
use crate::store::sql::{
    alert_row, attempt_row, duplicate, message_from_row, message_rows, outcome_row, split_inserted, vanished,
    without_clashes, Field, Statements, EXISTING_ALERT,
};
use crate::store::{Enqueued, Finished, Message, NewAlert, StoreError};

/// Stores alerts and their messages; an alert whose id or
/// idempotency key is stored already is reported as a duplicate. Alerts of
/// the batch that share an id or key are decided in order, as if one at a time.
pub fn enqueue(tx: &Connection, statements: &Statements, alerts: &[NewAlert]) -> Result<Vec<Enqueued>, StoreError> {
    let mut results: Vec<Option<Enqueued>> = vec![None; alerts.len()];
    let mut waiting: Vec<usize> = (0..alerts.len()).collect();
    while !waiting.is_empty() {
        let (now, later) = without_clashes(alerts, &waiting);
        let rows: Vec<_> = now.iter().map(|&index| alert_row(&alerts[index])).collect();
        let mut inserted = HashSet::with_capacity(rows.len());
        for (sql, piece) in statements.insert_alerts.split(&rows) {
            let mut statement = tx.prepare_cached(sql)?;
            let mut ids = statement.query(params_from_iter(piece.iter().flatten()))?;
            while let Some(row) = ids.next()? {
                inserted.insert(row.get::<_, String>(0)?);
            }
        }
        let (fresh, before) = split_inserted(alerts, &now, &inserted, &mut results);
        for index in before {
            let alert = &alerts[index];
            let mut statement = tx.prepare_cached(&numbered(EXISTING_ALERT))?;
            let mut rows = statement.query((alert.id.as_str(), alert.idempotency_key.as_deref()))?;
            results[index] = Some(duplicate(rows.next()?.ok_or_else(|| vanished(alert))?)?);
        }
        let rows: Vec<_> = message_rows(alerts, &fresh).collect();
        execute_rows(tx, &statements.insert_messages.split(&rows))?;
        waiting = later;
    }
    Ok(results.into_iter().flatten().collect())
}

/// Leases due messages (the store's claim statement, `?n` placeholders).
pub fn claim(connection: &Connection, sql: &str, binds: [Field<'_>; 5]) -> Result<Vec<Message>, StoreError> {
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(params_from_iter(binds.iter()))?;
    let mut messages = Vec::new();
    while let Some(row) = rows.next()? {
        messages.push(message_from_row(row)?);
    }
    messages.sort_by_key(|message| message.created_at);
    Ok(messages)
}

/// Records attempts and applies their outcomes.
pub fn finish(connection: &Connection, statements: &Statements, results: &[Finished]) -> Result<(), StoreError> {
    let attempts: Vec<_> = results.iter().map(attempt_row).collect();
    let outcomes: Vec<_> = results.iter().map(outcome_row).collect();
    execute_rows(connection, &statements.insert_attempts.split(&attempts))?;
    execute_rows(connection, &statements.apply_outcomes.split(&outcomes))
}

fn execute_rows<const FIELDS: usize>(
    connection: &Connection,
    pieces: &[(&str, &[[Field<'_>; FIELDS]])],
) -> Result<(), StoreError> {
    for (sql, piece) in pieces {
        connection.prepare_cached(sql)?.execute(params_from_iter(piece.iter().flatten()))?;
    }
    Ok(())
}
