-- The lease moves out of next_attempt_at into its own column, and no index
-- mentions status any more: a claim (status, lease_owner, lease_until) then
-- changes no indexed column, so it writes no index entry (PostgreSQL: a
-- heap-only update). Before, each claim added an entry to every index of
-- messages, and each of those was garbage to clean up afterwards.
--
-- Unfinished messages (pending, delivering) are those with no finished_at; a
-- message being delivered keeps its due time in next_attempt_at, and is due
-- again once lease_until has passed.
--
-- Relays of an earlier version read leases from next_attempt_at: stop them all
-- before a relay with this migration starts on the same database, or they
-- would take messages that new relays hold.

ALTER TABLE messages ADD COLUMN lease_until BIGINT;
UPDATE messages SET lease_until = next_attempt_at WHERE status = 'delivering';

DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (destination_id, next_attempt_at, created_at) WHERE finished_at IS NULL;

-- Pruning looks up finished messages by finish time.
DROP INDEX messages_delivered;
CREATE INDEX messages_finished ON messages (finished_at) WHERE finished_at IS NOT NULL;

-- Room on every page for the claim's new row version, so that it stays on the
-- page (a heap-only update) instead of moving and needing new index entries.
ALTER TABLE messages SET (fillfactor = 80);
