-- The outbox and the catalogue, PostgreSQL flavour. Times are Unix epoch milliseconds;
-- flags are 0/1 integers (the same column types as the SQLite schema).

CREATE TABLE flocks (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    use_global  BIGINT NOT NULL,
    enabled     BIGINT NOT NULL,
    origin      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE destinations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    scope       TEXT NOT NULL,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    enabled     BIGINT NOT NULL,
    origin      TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE alerts (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT UNIQUE,
    flock_id         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    received_at      BIGINT NOT NULL,
    messages         BIGINT NOT NULL
);

CREATE TABLE messages (
    id               TEXT PRIMARY KEY,
    alert_id         TEXT NOT NULL,
    destination_id   TEXT NOT NULL,
    flock_id         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL,
    body             TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    tries            BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    last_error       TEXT,
    finished_at      BIGINT
);

-- What workers claim: due messages of one destination, oldest first. For a message
-- being delivered, next_attempt_at holds the end of its lease.
CREATE INDEX messages_due ON messages (destination_id, next_attempt_at) WHERE status IN ('pending', 'delivering');
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX messages_alert ON messages (alert_id);
CREATE INDEX messages_finished ON messages (status, finished_at);

CREATE TABLE attempts (
    message_id   TEXT NOT NULL,
    number       BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    http_status  BIGINT,
    outcome      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    PRIMARY KEY (message_id, number)
);
