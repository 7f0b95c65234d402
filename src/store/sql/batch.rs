//! Multi-row statements: the outbox's hot writes (enqueue, finish) carry many
//! rows per statement, because every statement is a round trip and at
//! thousands of messages a second the round trips, not the rows, are the cost.
//! Builds the statements once per store; knows nothing of what the rows mean.

use super::*;

/// One field of one row of a multi-row statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field<'a> {
    Text(Option<&'a str>),
    BigInt(Option<i64>),
}

pub(crate) const MESSAGE_FIELDS: usize = 12;

pub(crate) const ALERT_FIELDS: usize = 7;

pub(crate) const ATTEMPT_FIELDS: usize = 7;

pub(crate) const OUTCOME_FIELDS: usize = 7;

/// Row counts up to which a multi-row statement exists in every size; above,
/// in powers of two. A group of up to this many rows (a usual ingest group or
/// delivery round) is one statement: every statement is a hand-over to
/// SQLite's worker thread or a round trip to PostgreSQL, and on SQLite's single
/// writer every one of them holds up the next transaction.
pub(super) const EVERY_SIZE_UP_TO: usize = 16;

/// One multi-row statement in every size up to [`EVERY_SIZE_UP_TO`] rows, then
/// in powers of two up to a maximum: 18 shapes of each statement, within sqlx's
/// cache of 100 prepared statements per connection.
#[derive(Debug)]
pub(crate) struct RowsStatement {
    /// The statements with the number of rows each carries, ascending.
    pub(super) by_size: Vec<(usize, String)>,
    /// Placeholders per row.
    pub(super) fields: usize,
}

impl RowsStatement {
    /// `build` turns the `(…), (…)` list of placeholder rows into the statement.
    pub(super) fn new(dialect: &Dialect, fields: usize, build: impl Fn(&str) -> String) -> Self {
        Self::sized(dialect, fields, |rows| {
            let values: Vec<String> = (0..rows)
                .map(|row| {
                    if dialect.anonymous_placeholders {
                        format!("({})", vec!["?"; fields].join(", "))
                    } else {
                        placeholders(1 + row * fields, fields)
                    }
                })
                .collect();
            build(&values.join(", "))
        })
    }

    /// A statement with two lists of rows side by side, as many in each: a
    /// bound row's first `first` fields go to the first list, the other
    /// `second` to the second. `build` gets both lists. Numbered placeholders only.
    pub(super) fn paired(dialect: &Dialect, first: usize, second: usize, build: impl Fn(&str, &str) -> String) -> Self {
        let fields = first + second;
        Self::sized(dialect, fields, |rows| {
            let (mut firsts, mut seconds) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
            for row in 0..rows {
                firsts.push(placeholders(1 + row * fields, first));
                seconds.push(placeholders(1 + row * fields + first, second));
            }
            build(&firsts.join(", "), &seconds.join(", "))
        })
    }

    /// The statement for every size: each up to [`EVERY_SIZE_UP_TO`] rows,
    /// then powers of two up to the dialect's maximum.
    fn sized(dialect: &Dialect, fields: usize, for_rows: impl Fn(usize) -> String) -> Self {
        let mut by_size = Vec::new();
        let mut rows = 1;
        while rows <= dialect.max_rows_per_statement.max(1) {
            by_size.push((rows, for_rows(rows)));
            rows = if rows < EVERY_SIZE_UP_TO { rows + 1 } else { rows * 2 };
        }
        Self { by_size, fields }
    }

    /// Whether one statement carries exactly `rows` rows.
    pub(super) fn has_size(&self, rows: usize) -> bool {
        self.by_size.iter().any(|(size, _)| *size == rows)
    }

    /// The statements that carry `rows`, with their rows bound.
    pub(super) fn queries<'q, const FIELDS: usize>(&'q self, rows: &[[Field<'q>; FIELDS]]) -> Vec<AnyQuery<'q>> {
        debug_assert_eq!(FIELDS, self.fields, "rows fit the statement's placeholders");
        self.split(rows)
            .into_iter()
            .map(|(sql, piece)| piece.iter().flatten().copied().fold(sqlx::query(sql), bind))
            .collect()
    }

    /// `rows` cut into the pieces the statements carry, each with its statement.
    pub(crate) fn split<'s, 'r, T>(&'s self, rows: &'r [T]) -> Vec<(&'s str, &'r [T])> {
        let mut rest = rows;
        self.pieces(rows.len())
            .into_iter()
            .map(|index| {
                let (size, sql) = &self.by_size[index];
                let (piece, after) = rest.split_at(*size);
                rest = after;
                (sql.as_str(), piece)
            })
            .collect()
    }

    /// Which statements (indices into `by_size`) carry `total` rows: each the
    /// largest that fits what is left.
    pub(super) fn pieces(&self, total: usize) -> Vec<usize> {
        let mut pieces = Vec::new();
        let mut remaining = total;
        while let Some(index) = self.by_size.iter().rposition(|(size, _)| *size <= remaining) {
            pieces.push(index);
            remaining -= self.by_size[index].0;
        }
        pieces
    }
}

/// `query` with `field` bound to its next placeholder.
pub(super) fn bind<'q>(query: AnyQuery<'q>, field: Field<'q>) -> AnyQuery<'q> {
    match field {
        Field::Text(text) => query.bind(text),
        Field::BigInt(number) => query.bind(number),
    }
}

/// The outbox's multi-row statements, built once per store.
#[derive(Debug)]
pub(crate) struct Statements {
    /// New alerts; returns the ids actually inserted (not already stored).
    pub(crate) insert_alerts: RowsStatement,
    pub(crate) insert_messages: RowsStatement,
    pub(crate) insert_attempts: RowsStatement,
    /// Applies attempt outcomes to messages still leased by the attempt's worker.
    pub(crate) apply_outcomes: RowsStatement,
    /// Both of a finish's writes as one statement, where the engine runs an
    /// `INSERT` inside `WITH` (PostgreSQL): one round trip instead of four
    /// (`BEGIN`, the two writes, `COMMIT`). Rows are [`finish_row`]s.
    ///
    /// [`finish_row`]: super::finish_row
    pub(crate) finish_together: Option<RowsStatement>,
}

impl Statements {
    pub(super) fn new(dialect: &Dialect) -> Self {
        Self {
            insert_alerts: RowsStatement::new(dialect, ALERT_FIELDS, |values| {
                format!(
                    "INSERT INTO alerts (id, idempotency_key, flock_id, kind, received_at, messages, hops) \
                     VALUES {values} ON CONFLICT DO NOTHING RETURNING id"
                )
            }),
            insert_messages: RowsStatement::new(dialect, MESSAGE_FIELDS, |values| {
                format!(
                    "INSERT INTO messages (id, alert_id, destination_id, flock_id, kind, status, body, created_at, \
                     next_attempt_at, last_error, finished_at, hops) VALUES {values}"
                )
            }),
            insert_attempts: RowsStatement::new(dialect, ATTEMPT_FIELDS, insert_attempts),
            apply_outcomes: RowsStatement::new(dialect, OUTCOME_FIELDS, apply_outcomes),
            finish_together: dialect.data_modifying_with.then(|| {
                RowsStatement::paired(dialect, ATTEMPT_FIELDS, OUTCOME_FIELDS, |attempts, outcomes| {
                    format!(
                        "WITH attempt AS ({}), {} {APPLY_OUTCOMES}",
                        insert_attempts(attempts),
                        outcome_rows(outcomes)
                    )
                })
            }),
        }
    }
}

fn insert_attempts(values: &str) -> String {
    format!(
        "INSERT INTO attempts (message_id, number, started_at, duration_ms, http_status, outcome, detail) \
         VALUES {values} ON CONFLICT DO NOTHING"
    )
}

/// The outcomes as a `WITH` list entry named `outcome`.
fn outcome_rows(values: &str) -> String {
    format!("outcome (id, owner, status, next_attempt_at, finished_at, last_error, counted) AS (VALUES {values})")
}

/// Applies `outcome` to the messages; leaves one whose lease was lost
/// untouched (the owner must match).
const APPLY_OUTCOMES: &str = "UPDATE messages SET status = outcome.status, next_attempt_at = outcome.next_attempt_at, \
     finished_at = outcome.finished_at, last_error = outcome.last_error, attempts = attempts + 1, \
     tries = tries + outcome.counted, lease_owner = NULL, lease_until = NULL FROM outcome \
     WHERE messages.id = outcome.id AND messages.lease_owner = outcome.owner AND messages.status = 'delivering'";

fn apply_outcomes(values: &str) -> String {
    format!("WITH {} {APPLY_OUTCOMES}", outcome_rows(values))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::Dialect;

    const DIALECT: Dialect = Dialect {
        backend: "test",
        concurrent_writes: 1,
        claim_lock: "",
        max_rows_per_statement: 64,
        anonymous_placeholders: false,
        vacuum: None,
        begin: "BEGIN",
        data_modifying_with: true,
    };

    fn sizes(total: usize) -> Vec<usize> {
        let statement = RowsStatement::new(&DIALECT, 2, |values| format!("INSERT INTO t VALUES {values}"));
        statement.pieces(total).into_iter().map(|index| statement.by_size[index].0).collect()
    }

    #[test]
    fn up_to_sixteen_rows_are_one_statement_and_more_go_in_few_pieces() {
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(13), [13]);
        assert_eq!(sizes(16), [16]);
        assert_eq!(sizes(23), [16, 7]);
        assert_eq!(sizes(64), [64]);
        assert_eq!(sizes(100), [64, 32, 4]);
        assert_eq!(sizes(200), [64, 64, 64, 8]);
    }

    #[test]
    fn paired_rows_number_each_row_across_both_lists() {
        let statement = RowsStatement::paired(&DIALECT, 2, 1, |first, second| format!("{first} | {second}"));
        assert_eq!(statement.by_size[1], (2, "($1, $2), ($4, $5) | ($3), ($6)".to_owned()));
        assert!(statement.has_size(16) && statement.has_size(64) && !statement.has_size(20));
    }

    #[test]
    fn every_shape_has_its_own_placeholders() {
        let statement = RowsStatement::new(&DIALECT, 2, |values| format!("VALUES {values}"));
        assert_eq!(statement.by_size.len(), 18, "1..=16, 32, 64");
        assert_eq!(statement.by_size[2], (3, "VALUES ($1, $2), ($3, $4), ($5, $6)".to_owned()));
    }
}
