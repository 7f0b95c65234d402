//! Background vacuuming of the outbox on PostgreSQL (SQLite rewrites rows in
//! place and needs none): counts the messages written and starts a vacuum past
//! a threshold, one at a time, never in a caller's way.

use std::sync::Arc;

use super::*;

/// Finished messages between two vacuums of `messages` (PostgreSQL): each
/// leaves two dead row versions (claim, finish) behind.
pub const VACUUM_AFTER_FINISHED: u64 = 20_000;

/// New messages between two vacuums of `messages` when none finish (a queue
/// filling for a dead destination). They leave nothing to clean up, but until
/// a vacuum marks their pages all-visible, counting the queue for `/metrics`
/// has to visit every row instead of reading the index alone.
pub const VACUUM_AFTER_ENQUEUED: u64 = 100_000;

/// Background vacuuming of the outbox (PostgreSQL).
///
/// Every message is updated twice (claim, finish) and PostgreSQL keeps the old
/// versions, with an entry in each index, until VACUUM. Autovacuum looks at a
/// database once a minute by default; at thousands of messages a second that
/// is hundreds of thousands of dead versions, which every insert, claim and
/// finish then has to step over: in the relay bench, deliveries fell from
/// 7,000/s to 1,200/s within a minute. Vacuuming after every
/// [`VACUUM_AFTER_FINISHED`] messages keeps them flat; it takes about 0.2 s
/// with a million messages queued and blocks no reader or writer.
#[derive(Debug, Default)]
pub(super) struct Vacuum {
    pub(super) finished: std::sync::atomic::AtomicU64,
    pub(super) enqueued: std::sync::atomic::AtomicU64,
    pub(super) running: std::sync::atomic::AtomicBool,
}

impl SqlStore {
    /// Counts enqueued and finished messages and, past [`VACUUM_AFTER_ENQUEUED`]
    /// or [`VACUUM_AFTER_FINISHED`], starts a vacuum in the background (one at
    /// a time; the caller does not wait).
    pub(super) fn wrote(&self, enqueued: usize, finished: usize) {
        use std::sync::atomic::Ordering;
        let Some(sql) = self.dialect.vacuum else {
            return;
        };
        let add = |counter: &std::sync::atomic::AtomicU64, count: usize| {
            let count = u64::try_from(count).unwrap_or(u64::MAX);
            counter.fetch_add(count, Ordering::Relaxed).saturating_add(count)
        };
        let enqueued = add(&self.vacuum.enqueued, enqueued);
        let finished = add(&self.vacuum.finished, finished);
        let due = enqueued >= VACUUM_AFTER_ENQUEUED || finished >= VACUUM_AFTER_FINISHED;
        if !due || self.vacuum.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.vacuum.finished.store(0, Ordering::Relaxed);
        self.vacuum.enqueued.store(0, Ordering::Relaxed);
        let (pool, vacuum) = (self.write.clone(), Arc::clone(&self.vacuum));
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match sqlx::raw_sql(sql).execute(&pool).await {
                Ok(_) => tracing::debug!(took = ?started.elapsed(), "Vacuumed the messages table."),
                Err(error) => {
                    tracing::warn!(%error, "Cannot vacuum the messages table; autovacuum will, later.");
                }
            }
            vacuum.running.store(false, Ordering::Release);
        });
    }
}
