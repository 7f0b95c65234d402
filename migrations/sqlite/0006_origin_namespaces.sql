-- Alert ids and idempotency keys move into their origin's namespace: API alerts
-- are `api:<id>`, an inbound source's are `hook:<source>:<id>` (see src/origin.rs).
-- Before, an API alert kept the id it was posted with and a webhook's was
-- `<source>:<id>`, so an API client could post `console:INC-42` and make the
-- console source's genuine INC-42 a duplicate.
--
-- An old alert's origin is inferred: its idempotency key says it when it has a
-- namespaced one (`api:…`, `hook:…`); otherwise an id `<source>:…` of a source
-- that exists now, in the alert's flock, is that source's; everything else was
-- posted to the API. Keys from before keys were namespaced get the same prefix.
-- The table is rebuilt rather than updated in place: an old id such as
-- `api:x` must not clash, half-way through, with the new id of `x`.

CREATE TABLE alert_origins_0006 AS
SELECT alerts.id AS id,
       CASE
           WHEN substr(alerts.idempotency_key, 1, 4) = 'api:' THEN 'api'
           WHEN substr(alerts.idempotency_key, 1, 5) = 'hook:' THEN 'hook'
           WHEN EXISTS (SELECT 1 FROM sources
                        WHERE substr(alerts.id, 1, length(sources.id) + 1) = sources.id || ':'
                          AND sources.flock_id = alerts.flock_id) THEN 'hook'
           ELSE 'api'
       END AS origin
FROM alerts;

-- One statement, so every message is renamed from its old alert id exactly once.
-- A message whose alert row is gone is judged by its own id and flock.
UPDATE messages SET alert_id = COALESCE(
    (SELECT origin FROM alert_origins_0006 WHERE alert_origins_0006.id = messages.alert_id),
    CASE
        WHEN EXISTS (SELECT 1 FROM sources
                     WHERE substr(messages.alert_id, 1, length(sources.id) + 1) = sources.id || ':'
                       AND sources.flock_id = messages.flock_id) THEN 'hook'
        ELSE 'api'
    END
) || ':' || alert_id;

CREATE TABLE alerts_namespaced (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT UNIQUE,
    flock_id         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    received_at      INTEGER NOT NULL,
    messages         INTEGER NOT NULL
);

INSERT INTO alerts_namespaced (id, idempotency_key, flock_id, kind, received_at, messages)
SELECT alert_origins_0006.origin || ':' || alerts.id,
       CASE
           WHEN alerts.idempotency_key IS NULL THEN NULL
           WHEN substr(alerts.idempotency_key, 1, 4) = 'api:' OR substr(alerts.idempotency_key, 1, 5) = 'hook:'
               THEN alerts.idempotency_key
           ELSE alert_origins_0006.origin || ':' || alerts.idempotency_key
       END,
       alerts.flock_id, alerts.kind, alerts.received_at, alerts.messages
FROM alerts JOIN alert_origins_0006 ON alert_origins_0006.id = alerts.id;

DROP TABLE alerts;
ALTER TABLE alerts_namespaced RENAME TO alerts;
DROP TABLE alert_origins_0006;
