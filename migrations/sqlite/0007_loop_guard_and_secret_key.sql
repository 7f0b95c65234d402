-- The loop guard: how many relays an alert passed through before this one (the
-- X-Flockrelay-Hops of the request it came from; 0 for API and CLI alerts).
-- Each message keeps its alert's count, so that retries and replays send the
-- same X-Flockrelay-Hops (count + 1) as the first attempt.

ALTER TABLE alerts ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;
