-- A destination's state at run time, apart from its settings: enabled, disabled
-- by an operator (API, CLI), or disabled by the channel (410 Gone), with the
-- reason and when. The config file, applied at every start and reload, rewrites
-- the settings (spec, enabled) but never these columns, so a channel's verdict
-- holds until an operator re-enables the destination.
--
-- Before, a 410 switched the settings' enabled flag off and the next start
-- switched it back on. A destination stored as disabled when this migration runs
-- is taken to be disabled by its channel (the flag alone cannot tell a 410 from
-- `enabled = false` in the file; the file's flag is applied again at start): it
-- stays disabled until re-enabled with `flockrelay destinations enable` or
-- POST /api/v1/destinations/{id}/enable.

ALTER TABLE destinations ADD COLUMN state TEXT NOT NULL DEFAULT 'enabled';
ALTER TABLE destinations ADD COLUMN state_reason TEXT;
ALTER TABLE destinations ADD COLUMN state_changed_at BIGINT;

UPDATE destinations
SET state = 'disabled_by_channel',
    state_reason = 'disabled before the upgrade that keeps channel verdicts (410 Gone, or enabled = false in the config file)',
    state_changed_at = updated_at,
    enabled = 1,
    spec = jsonb_set(spec::jsonb, '{enabled}', 'true')::text
WHERE enabled = 0;
