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

-- Where detection has got to in each partition (the place of the last event evaluated),
-- and the alerts it raised: written together in one transaction.
CREATE TABLE IF NOT EXISTS siem.detection_positions (
    partition TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS siem.alerts (
    row_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    raised_at TEXT NOT NULL,
    object TEXT NOT NULL,
    rule_id TEXT,
    title TEXT NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    agency TEXT,
    group_json TEXT NOT NULL,
    first TEXT NOT NULL,
    last TEXT NOT NULL,
    events TEXT NOT NULL,
    delay_seconds DOUBLE PRECISION NOT NULL,
    late BOOLEAN NOT NULL,
    firings BIGINT NOT NULL
);

-- Alerts as people work them: the handling now, and every action with who and whence.
CREATE TABLE IF NOT EXISTS siem.alert_triage (
    alert_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    assignee TEXT,
    verdict TEXT,
    updated_at TEXT
);

CREATE TABLE IF NOT EXISTS siem.alert_actions (
    row_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    address TEXT NOT NULL,
    action_json TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS alert_actions_alert ON siem.alert_actions (alert_id);

-- Where each partition's chain ends: one row per partition, locked (FOR UPDATE) by the
-- transaction that appends to it.
CREATE TABLE IF NOT EXISTS siem.heads (
    partition TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);

-- The events, in blocks (see makonis_siem_core::block): the columns of a SQLite partition
-- file's `blocks`, plus the partition's name, by which the table is partitioned: one
-- partition per event day and category, siem.blocks_YYYYMMDD_category, created on first use
-- and dropped whole by retention. A block's terms are split in two: its owners (LogSources
-- and agencies: few, in nearly every block, so small enough to stay in the row and be
-- checked on each), and its users and addresses (many: stored out of line, and found
-- through the GIN index, one entry per term with a compressed list of the blocks that
-- have it).
CREATE TABLE IF NOT EXISTS siem.blocks (
    partition TEXT NOT NULL,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    min_time BIGINT NOT NULL,   -- the times events are kept and searched by, µs since the epoch
    max_time BIGINT NOT NULL,
    max_created BIGINT NOT NULL,
    owners TEXT[] NOT NULL,
    terms TEXT[] NOT NULL,
    body BYTEA NOT NULL,        -- compressed already: kept out of line as it is (STORAGE EXTERNAL)
    PRIMARY KEY (partition, first_seq)
) PARTITION BY LIST (partition);

CREATE INDEX IF NOT EXISTS blocks_terms ON siem.blocks USING gin (terms)
