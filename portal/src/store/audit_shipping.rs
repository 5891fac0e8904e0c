//! Shipping the audit trail elsewhere: the chained rows after a point, and how far each
//! sink has confirmed. Several portal replicas may ship at once: a sink's mark only ever
//! moves forward, and the SIEM stores a row sent twice once.

use sqlx::Row;

use super::{
    Store, StoreError,
    audit::{AuditRecord, read_record},
};

impl Store {
    /// Up to `limit` chained audit rows after `seq`, in chain order.
    pub async fn audit_after(&self, seq: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            super::audit::COLUMNS
        ))
        .bind(seq)
        .bind(limit.max(1))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(read_record).collect::<Result<_, _>>()?)
    }

    /// The sequence number of the last row `sink` confirmed; 0 before any.
    pub async fn audit_shipped(&self, sink: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT shipped_seq FROM audit_shipping WHERE sink = $1")
            .bind(sink)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>("shipped_seq")).transpose()?.unwrap_or(0))
    }

    /// Records that `sink` confirmed every row up to `seq`; never moves the mark back.
    pub async fn mark_audit_shipped(&self, sink: &str, seq: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_shipping (sink, shipped_seq) VALUES ($1, $2) \
             ON CONFLICT (sink) DO UPDATE SET shipped_seq = excluded.shipped_seq \
             WHERE audit_shipping.shipped_seq < excluded.shipped_seq",
        )
        .bind(sink)
        .bind(seq)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The chain's last sequence number (0 when empty): how far there is to ship.
    pub async fn audit_last_seq(&self) -> Result<i64, StoreError> {
        Ok(self.audit_head().await?.map_or(0, |head| head.seq))
    }
}
