-- The portal's schema. Portable SQL: the same file runs on SQLite and PostgreSQL.
-- Times are Unix milliseconds (UTC); ids are text; JSON is stored as text.

-- Local accounts: the embedded default and break-glass administrators.
CREATE TABLE accounts (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    email         TEXT,
    groups_json   TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

-- Signed-in browser sessions; the cookie holds a token whose SHA-256 is the key.
CREATE TABLE sessions (
    token_hash    TEXT PRIMARY KEY,
    identity_json TEXT NOT NULL,
    csrf_token    TEXT NOT NULL,
    source_ip     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Each user's remembered language.
CREATE TABLE preferences (
    username TEXT PRIMARY KEY,
    lang     TEXT NOT NULL
);

-- API tokens for automation; the secret is shown once, only its SHA-256 is kept.
CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    username      TEXT NOT NULL,
    identity_json TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX api_tokens_owner ON api_tokens (username);

-- One row per agency: taken (updated) first in every transaction that reserves quota or
-- numbers a request, so concurrent portal replicas serialise per agency.
CREATE TABLE agency_counters (
    agency      TEXT PRIMARY KEY,
    last_number BIGINT NOT NULL
);

-- Orders, resizes and retirements, with the quota they reserve while pending.
CREATE TABLE requests (
    id              TEXT PRIMARY KEY,
    agency          TEXT NOT NULL,
    number          BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    catalog_item    TEXT NOT NULL,
    plan            TEXT NOT NULL,
    parameters_json TEXT NOT NULL,
    instance        TEXT NOT NULL,
    requester       TEXT NOT NULL,
    requester_name  TEXT NOT NULL,
    approval        TEXT NOT NULL,
    state           TEXT NOT NULL,
    cpu_milli       BIGINT NOT NULL,
    memory_milli    BIGINT NOT NULL,
    storage_milli   BIGINT NOT NULL,
    monthly_price   TEXT NOT NULL,
    message         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (agency, number)
);
CREATE INDEX requests_agency_state ON requests (agency, state);
CREATE INDEX requests_requester ON requests (requester);
CREATE INDEX requests_instance ON requests (agency, instance);

-- The timeline of each request.
CREATE TABLE request_events (
    request_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    actor      TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    event      TEXT NOT NULL,
    comment    TEXT NOT NULL,
    PRIMARY KEY (request_id, seq)
);

-- The audit trail (Cabinet Regulation No. 442): who, what, when (UTC), from where, outcome.
CREATE TABLE audit_events (
    id        TEXT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    agency    TEXT,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    source_ip TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_agency_at ON audit_events (agency, at);
