-- Alert storms (issue 15): groups collecting alerts into digests, the alerts
-- each group holds until its window closes, fingerprints of recent alerts
-- (duplicate suppression), silences, and which alerts each digest carried.
-- Times are Unix epoch milliseconds.

-- One open group per (destination, group key). Its window closes at
-- window_end; whoever flushes it does so in one transaction with creating the
-- digest message, holding the row (FOR UPDATE on PostgreSQL).
CREATE TABLE storm_groups (
    destination_id  TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    label           TEXT NOT NULL,
    flock_id        TEXT NOT NULL,
    window_start    BIGINT NOT NULL,
    window_end      BIGINT NOT NULL,
    interval_ms     BIGINT NOT NULL,
    announced       BIGINT NOT NULL,
    collected       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (destination_id, group_key)
);
CREATE INDEX storm_groups_due ON storm_groups (window_end);

-- Alerts a group collected since its last digest; facts is the JSON the
-- digest is rendered from.
CREATE TABLE storm_members (
    destination_id  TEXT NOT NULL,
    group_key       TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    alert_id        TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    hops            BIGINT NOT NULL,
    facts           TEXT NOT NULL,
    PRIMARY KEY (destination_id, group_key, message_id)
);

CREATE TABLE storm_fingerprints (
    destination_id  TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    alert_id        TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    suppressed      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (destination_id, fingerprint)
);
CREATE INDEX storm_fingerprints_expiry ON storm_fingerprints (expires_at);

CREATE TABLE silences (
    id          TEXT PRIMARY KEY,
    matchers    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    author      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX silences_expiry ON silences (expires_at);

CREATE TABLE digest_alerts (
    message_id  TEXT NOT NULL,
    alert_id    TEXT NOT NULL,
    PRIMARY KEY (message_id, alert_id)
);
CREATE INDEX digest_alerts_alert ON digest_alerts (alert_id);
