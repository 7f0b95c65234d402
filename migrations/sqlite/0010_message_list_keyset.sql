-- The message list (API and console) pages by keyset — newest first by
-- (created_at, id), each page starting where the previous one stopped — and
-- filters by destination, flock, status and time. With these indexes every
-- page, the first or the ten-thousandth, reads only the rows it shows (plus
-- those its filters skip), however many messages are stored; OFFSET is never
-- used.
--
-- None of them mentions a column a claim changes (status, lease): the failed
-- index is partial on status, and a claim moves a message between pending and
-- delivering only, neither of which it holds.

DROP INDEX messages_created;
CREATE INDEX messages_created ON messages (created_at, id);
CREATE INDEX messages_destination_created ON messages (destination_id, created_at, id);
CREATE INDEX messages_flock_created ON messages (flock_id, created_at, id);
CREATE INDEX messages_failed_created ON messages (created_at, id) WHERE status = 'failed';
