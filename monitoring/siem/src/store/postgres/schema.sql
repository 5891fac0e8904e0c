-- The SIEM store in PostgreSQL: schema `siem`, created by `makonis siem run` on start.
-- Every statement is idempotent, and they run one by one under an advisory lock.

CREATE SCHEMA IF NOT EXISTS siem;

-- The catalog: the same tables as the SQLite store's catalog.sqlite.
CREATE TABLE IF NOT EXISTS siem.partitions (
    name TEXT PRIMARY KEY,      -- YYYY-MM-DD/category
    day TEXT NOT NULL,          -- YYYY-MM-DD, UTC
    category TEXT NOT NULL,
    created_at TEXT NOT NULL,   -- RFC 3339
    removed_at TEXT
);

CREATE TABLE IF NOT EXISTS siem.checkpoints (
    partition TEXT NOT NULL,
    count BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    head TEXT NOT NULL,         -- hex
    signed_at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature BYTEA NOT NULL,
    PRIMARY KEY (partition, last_seq)
);

CREATE TABLE IF NOT EXISTS siem.quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at TEXT NOT NULL,
    transport TEXT NOT NULL,
    peer TEXT,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    original BYTEA NOT NULL
);

CREATE TABLE IF NOT EXISTS siem.removals (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition TEXT NOT NULL,
    removed_at TEXT NOT NULL,
    events BIGINT NOT NULL,
    last_checkpoint TEXT,
    policy TEXT NOT NULL,
    months BIGINT NOT NULL
);

-- Where each partition's chain ends: one row per partition, locked (FOR UPDATE) by the
-- transaction that appends to it.
CREATE TABLE IF NOT EXISTS siem.heads (
    partition TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

-- The events: the columns of a SQLite partition file's `events`, plus the partition's
-- name, by which the table is partitioned: one partition per event day and category,
-- siem.events_YYYYMMDD_category, created on first use and dropped by retention.
CREATE TABLE IF NOT EXISTS siem.events (
    partition TEXT NOT NULL,
    seq BIGINT NOT NULL,
    time BIGINT NOT NULL,       -- the time it is kept and searched by, µs since the epoch
    created BIGINT NOT NULL,
    source TEXT NOT NULL,
    agency TEXT,
    user_name TEXT,
    source_ip TEXT,
    action TEXT,
    outcome TEXT NOT NULL,
    mandatory INTEGER NOT NULL,
    document TEXT NOT NULL,
    original BYTEA NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (partition, seq)
) PARTITION BY LIST (partition);

-- Each partition gets these indexes when it is created. Results come newest first by
-- (time, seq), so the time index carries seq: a first page reads 101 entries instead of
-- sorting the partition (SQLite's time index carries the rowid, which is seq). The
-- time-only index of the first schema is replaced.
DROP INDEX IF EXISTS siem.events_time;
CREATE INDEX IF NOT EXISTS events_time_seq ON siem.events (time, seq);
CREATE INDEX IF NOT EXISTS events_user ON siem.events (user_name, time);
CREATE INDEX IF NOT EXISTS events_source_ip ON siem.events (source_ip, time)
