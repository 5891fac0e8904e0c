-- The audit trail becomes tamper-evident and keeps the connection's metadata
-- (Cabinet Regulation No. 442): each row carries its place in one total order (seq) and
-- a SHA-256 over its content and the previous row's hash (see
-- portal/src/store/audit_chain.rs for the encoding). Portable SQL, as 0001.

-- The browser session (s-…) or API token (t-…) an action came through, and the client's
-- User-Agent.
ALTER TABLE audit_events ADD COLUMN session_id TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_events ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- The row's place in the chain and its hash. Rows written before this migration get
-- both when the portal next starts (Store::migrate), oldest first; SHA-256 is not
-- portable SQL, so it cannot happen here.
ALTER TABLE audit_events ADD COLUMN seq BIGINT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_events_seq ON audit_events (seq);

-- The chain's head: the last row's seq and hash, in one row that every append updates
-- first. Updating it takes PostgreSQL's row lock (SQLite's write lock), which orders
-- the appends of every portal replica into one chain. The hash before the first row is
-- 64 zeros.
CREATE TABLE audit_chain (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_chain (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
