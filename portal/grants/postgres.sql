-- Least privilege for the portal's database on PostgreSQL (docs/operator-guide.md, "The
-- audit trail"). Three roles, created beforehand with passwords of their own:
--   makonis_owner    owns the schema: runs `makonis portal migrate`, then this file;
--   makonis_portal   what the portal (and the SLO engine) connect as: rows, never the schema;
--   makonis_auditor  reads the audit trail: `makonis portal verify-audit`.
-- Run it as makonis_owner after every migration: a table a migration adds gets its grant
-- here, or the portal cannot use it (tests/security/audit.rs checks that every table is
-- granted).

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO makonis_portal, makonis_auditor;

-- Which migrations are applied: the portal starts without schema rights when all are.
GRANT SELECT ON _sqlx_migrations TO makonis_portal;

-- The portal's working tables.
GRANT SELECT, INSERT, UPDATE, DELETE
    ON accounts, sessions, preferences, api_tokens, api_token_agencies, login_throttle, agency_counters, requests,
       request_events
    TO makonis_portal;

-- The SLA ledger, written by the SLO engine and read by the portal's reports.
GRANT SELECT, INSERT, UPDATE, DELETE ON slo_objectives, slo_outages, incidents, slo_days_off, slo_working_days
    TO makonis_portal;

-- The audit trail: rows are added and read, never changed or removed. The chain's head is
-- updated by every append (its row lock orders the appends of every replica).
GRANT SELECT, INSERT ON audit_events TO makonis_portal;
GRANT SELECT, UPDATE ON audit_chain TO makonis_portal;
-- How far the trail is shipped to the SIEM: only ever moved forward by the portal.
GRANT SELECT, INSERT, UPDATE ON audit_shipping TO makonis_portal;

-- Auditors read the trail and nothing else.
GRANT SELECT ON audit_events, audit_chain TO makonis_auditor;
