-- Issue 26: evaluations a channel sent with another key than the contract's (or none), found
-- outside their transaction's partition of ratings.raw and counted after going home through
-- the worker's rekeyed topic (streams/rekey.py); `haochaping report` shows their share per
-- channel, for the channel teams to fix their producers.
-- (18.16 has no ADD COLUMN IF NOT EXISTS: sinks/migrate.py checks system.columns first there)
ALTER TABLE ratings ADD COLUMN IF NOT EXISTS miskeyed UInt8 DEFAULT 0 AFTER beyond_horizon;
