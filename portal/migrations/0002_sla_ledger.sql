-- The SLA ledger, written by the SLO engine (`makonis slo`) and read for the monthly
-- reports. Outages are intervals, not samples. Times are Unix milliseconds (UTC).

-- Every objective the engine has measured, kept after deletion so past months stay
-- reportable: one row per incarnation (an objective deleted and created again under
-- the same name is a new row from its new creation).
CREATE TABLE slo_objectives (
    namespace        TEXT NOT NULL,
    name             TEXT NOT NULL,
    agency           TEXT NOT NULL,
    instance         TEXT NOT NULL,
    service          TEXT NOT NULL,
    probe            TEXT NOT NULL,
    target_percent   DOUBLE PRECISION NOT NULL,
    support_hours    TEXT NOT NULL,
    window_kind      TEXT NOT NULL,
    maintenance_json TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    deleted_at       BIGINT,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (namespace, name, created_at)
);
CREATE INDEX slo_objectives_agency ON slo_objectives (agency);

-- Confirmed outages of a probe's target: open while ended_at is NULL.
CREATE TABLE slo_outages (
    id          TEXT PRIMARY KEY,
    namespace   TEXT NOT NULL,
    probe       TEXT NOT NULL,
    agency      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    ended_at    BIGINT,
    cause       TEXT NOT NULL,
    incident_id TEXT
);
CREATE INDEX slo_outages_probe ON slo_outages (namespace, probe, started_at);
CREATE INDEX slo_outages_started ON slo_outages (started_at);

-- Incidents opened by burn-rate alerts; minimal until incident management arrives.
CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    agency      TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    instance    TEXT NOT NULL,
    objective   TEXT NOT NULL,
    source      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    summary     TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX incidents_agency ON incidents (agency, opened_at);
CREATE INDEX incidents_objective ON incidents (namespace, objective, resolved_at);

-- Days off declared by the government besides the holidays in law (`makonis slo run
-- --extra-day-off`), so that the reports count support time as the engine does.
CREATE TABLE slo_days_off (
    day TEXT PRIMARY KEY
);
