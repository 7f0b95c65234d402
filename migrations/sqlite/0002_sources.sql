-- Inbound webhook sources, SQLite flavour. `spec` is the source as JSON (flock,
-- scheme, secrets, template), like destinations.spec; origin is config or api.

CREATE TABLE sources (
    id          TEXT PRIMARY KEY,
    flock_id    TEXT NOT NULL,
    scheme      TEXT NOT NULL,
    spec        TEXT NOT NULL,
    origin      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
