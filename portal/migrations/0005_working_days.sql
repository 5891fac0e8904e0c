-- Weekend days the government declared working days (`makonis slo run
-- --extra-working-day`, e.g. Saturday 2025-05-10 in place of Friday 2025-05-02), beside
-- the declared days off of `slo_days_off`, so that the reports count support time as the
-- engine does.
CREATE TABLE slo_working_days (
    day TEXT PRIMARY KEY
);
