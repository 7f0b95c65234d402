//! What differs between the two SQL engines: the few statements and limits
//! each backend gives [`super::SqlStore`]. No queries here.

/// What differs between backends.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    pub backend: &'static str,
    /// See [`crate::store::Store::concurrent_writes`].
    pub concurrent_writes: usize,
    /// Row locking added to the claim's inner SELECT (PostgreSQL:
    /// `FOR UPDATE SKIP LOCKED`; SQLite has one writer and needs none).
    pub claim_lock: &'static str,
    /// How many rows one multi-row statement may carry (rounded down to a power
    /// of two). Far below the bound parameter limits: every connection keeps
    /// each statement shape it prepared, with per-parameter metadata and a
    /// buffer as large as its largest message, so big shapes cost memory on
    /// every connection for little gain (a group of ordinary requests is tens
    /// of rows).
    pub max_rows_per_statement: usize,
    /// Multi-row statements use anonymous `?` placeholders instead of `$n`. For
    /// SQLite: sqlx looks up the name of every numbered parameter when binding,
    /// a linear search in SQLite, so statements with thousands of `$n` spend
    /// more time binding than inserting.
    pub anonymous_placeholders: bool,
    /// Reclaims the old row versions of `messages`, run in the background after
    /// every [`VACUUM_AFTER_FINISHED`] finished or [`VACUUM_AFTER_ENQUEUED`] new
    /// messages (see [`Vacuum`]).
    pub vacuum: Option<&'static str>,
    /// How write transactions begin. SQLite: `BEGIN IMMEDIATE`, taking the
    /// write lock at once: the writer thread (`store::sqlite::writer`) is a
    /// second writer, and a deferred transaction that read before it wrote
    /// would fail (`SQLITE_BUSY`) if the other committed in between, where an
    /// immediate one waits its turn (`busy_timeout`).
    pub begin: &'static str,
    /// The engine runs `INSERT` inside `WITH` (PostgreSQL; SQLite does not),
    /// so a finish's two writes can be one statement.
    pub data_modifying_with: bool,
}
