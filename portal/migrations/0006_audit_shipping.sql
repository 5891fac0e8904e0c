-- How far the audit trail has been shipped to each sink (the SIEM's HTTPS intake, by its
-- URL), as the chain's sequence number of the last row the sink confirmed stored.
CREATE TABLE audit_shipping (
    sink TEXT PRIMARY KEY,
    shipped_seq BIGINT NOT NULL
);
