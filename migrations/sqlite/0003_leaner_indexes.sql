-- Leaner message indexes: every index entry is written once per message state
-- change, and the queue figures must not read or sort the whole table.

-- The due index also carries created_at, so that the queue figures of /metrics
-- (count and oldest message per destination) are read from this index alone, in
-- order, without sorting or touching table rows, however long the queue.
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (destination_id, next_attempt_at, created_at) WHERE status IN ('pending', 'delivering');

-- Only delivered messages are looked up by finish time (pruning); queued, failed
-- and cancelled ones need no entry.
DROP INDEX messages_finished;
CREATE INDEX messages_delivered ON messages (finished_at) WHERE status = 'delivered';
