-- Identity and sessions: sign-in throttling shared by every replica, API tokens re-checked
-- against the directory, sessions with an id of their own. Portable SQL, like 0001.

-- Sessions made before roles were matched by group DN carry group names: they end here,
-- and everybody signs in again.
DELETE FROM sessions;
-- The session's public id (the audit trail names it; the cookie's token stays secret), when
-- its identity was last checked against the directory or the local accounts, and the
-- browser that opened it.
ALTER TABLE sessions ADD COLUMN id TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';

-- API tokens: when the owner was last checked (0: check on next use), the last use and
-- from where, and who revoked the token (the owner, an administrator, or the portal when
-- the owner left the directory) and why.
ALTER TABLE api_tokens ADD COLUMN checked_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_ip TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_by TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_reason TEXT;

-- The agencies in which a token's owner held a role at the last check: whose
-- administrators see and may revoke the token.
CREATE TABLE api_token_agencies (
    token_id TEXT NOT NULL,
    agency   TEXT NOT NULL,
    PRIMARY KEY (token_id, agency)
);
CREATE INDEX api_token_agencies_agency ON api_token_agencies (agency);

-- Sign-in attempts per counter (an account from an address, an account, an address):
-- a slot is taken before the password is checked; the window starts with the first
-- attempt.
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    attempts     BIGINT NOT NULL
);
CREATE INDEX login_throttle_window ON login_throttle (window_start);
