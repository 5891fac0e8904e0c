//! The PostgreSQL store's catalog tables (`siem.partitions`, `siem.checkpoints`,
//! `siem.quarantine`, `siem.removals`): the same rows as the SQLite catalog's.

use std::collections::BTreeSet;

use jiff::{Timestamp, civil::Date};
use makonis_siem_core::chain::{Checkpoint, hex};
use sqlx::{PgPool, Postgres, Row};

use crate::store::{PartitionKey, Quarantined, Removal, StoreError, records::quarantine_insert, rows};

/// Quarantined items per multi-row INSERT (8 parameters each, within PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 1000;

crate::store::alert_catalog::alert_catalog!(Catalog, prefix: "siem.", row: "row_id", lock: " FOR UPDATE", |this| &this.pool);

/// The catalog, through the store's pool.
#[derive(Debug)]
pub(in crate::store) struct Catalog {
    pool: PgPool,
}

impl Catalog {
    pub(super) fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub(in crate::store) async fn register(&mut self, key: PartitionKey, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO siem.partitions (name, day, category, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(key.name())
        .bind(key.day.to_string())
        .bind(key.category.as_str())
        .bind(now.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn partitions(&mut self, from: Date, to: Date) -> Result<Vec<PartitionKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, category FROM siem.partitions WHERE removed_at IS NULL AND day >= $1 AND day <= $2 \
             ORDER BY day, category",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| rows::partition_key(row.get(0), row.get(1))).collect()
    }

    pub(in crate::store) async fn removed(&mut self) -> Result<BTreeSet<String>, StoreError> {
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM siem.partitions WHERE removed_at IS NOT NULL")
            .fetch_all(&self.pool)
            .await?;
        Ok(names.into_iter().collect())
    }

    pub(in crate::store) async fn add_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO siem.checkpoints (partition, count, last_seq, head, signed_at, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (partition, last_seq) DO UPDATE SET \
             count = excluded.count, head = excluded.head, signed_at = excluded.signed_at, \
             key_id = excluded.key_id, signature = excluded.signature",
        )
        .bind(&checkpoint.partition)
        .bind(checkpoint.count as i64)
        .bind(checkpoint.end.last_seq as i64)
        .bind(hex(&checkpoint.end.head))
        .bind(checkpoint.signed_at.to_string())
        .bind(&checkpoint.key_id)
        .bind(&checkpoint.signature)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(in crate::store) async fn checkpoints(&mut self, partition: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT count, last_seq, head, signed_at, key_id, signature FROM siem.checkpoints \
             WHERE partition = $1 ORDER BY last_seq",
        )
        .bind(partition)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                rows::checkpoint(partition, (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5)))
            })
            .collect()
    }

    pub(in crate::store) async fn quarantine(&mut self, items: &[Quarantined]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in items.chunks(ROWS_PER_INSERT) {
            let mut insert = quarantine_insert::<Postgres>("INSERT INTO siem.quarantine", chunk);
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(in crate::store) async fn quarantined(
        &mut self,
        limit: i64,
    ) -> Result<Vec<(String, String, String, Vec<u8>)>, StoreError> {
        let rows =
            sqlx::query("SELECT source, reason, detail, original FROM siem.quarantine ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }

    pub(in crate::store) async fn record_removal(&mut self, removal: &Removal) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO siem.removals (partition, removed_at, events, last_checkpoint, policy, months) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&removal.partition)
        .bind(removal.removed_at.to_string())
        .bind(removal.events as i64)
        .bind(&removal.last_checkpoint)
        .bind(&removal.policy)
        .bind(i64::from(removal.months))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE siem.partitions SET removed_at = $1 WHERE name = $2")
            .bind(removal.removed_at.to_string())
            .bind(&removal.partition)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(in crate::store) async fn detection_positions(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT partition, seq FROM siem.detection_positions").fetch_all(&self.pool).await?;
        rows.into_iter().map(|(name, seq)| Ok((name, rows::seq_of(seq)?))).collect()
    }

    pub(in crate::store) async fn removals(&mut self) -> Result<Vec<Removal>, StoreError> {
        let rows = sqlx::query(
            "SELECT partition, removed_at, events, last_checkpoint, policy, months FROM siem.removals ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| rows::removal((row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5))))
            .collect()
    }
}
