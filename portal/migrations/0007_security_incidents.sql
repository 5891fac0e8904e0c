-- Security incidents: high and critical SIEM alerts open one each (source 'siem'), linked
-- to the alert by its id in the SIEM's store and its row there (how far the portal has
-- read the SIEM's alerts). One incident per alert, however often the feed reads it.
ALTER TABLE incidents ADD COLUMN alert_id TEXT;
ALTER TABLE incidents ADD COLUMN alert_row BIGINT;
CREATE UNIQUE INDEX incidents_alert ON incidents (alert_id);
