-- The loop guard: how many relays an alert passed through before this one (the
-- X-Flockrelay-Hops of the request it came from; 0 for API and CLI alerts).
-- Each message keeps its alert's count, so that retries and replays send the
-- same X-Flockrelay-Hops (count + 1) as the first attempt.

ALTER TABLE alerts ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;

-- Secrets at rest: destinations.spec and sources.spec are sealed with the
-- relay's secret key (enc:v1:…); this row recognises the key (an HMAC of a
-- constant under it), so a relay started with another key is refused instead
-- of reading garbage. Plaintext specs of earlier versions are sealed when the
-- first relay with this migration starts.
CREATE TABLE flockrelay_secret_key (
    id          BIGINT PRIMARY KEY,
    key_check   TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
