//! The SQLite store's catalog (`catalog.sqlite` beside the partitions): which partitions
//! exist, every checkpoint signed, what was quarantined, and every partition removed and
//! why.

use std::path::Path;

use jiff::{Timestamp, civil::Date};
use makonis_siem_core::chain::{Checkpoint, hex};
use sqlx::{Connection, Row, SqliteConnection};

use crate::store::{PartitionKey, Quarantined, Removal, StoreError, records::quarantine_insert, rows};

/// Quarantined items per multi-row INSERT: one statement per item costs a round trip to
/// sqlx's SQLite thread each; 100 items of 7 parameters stay far below SQLite's limit of
/// 32,766.
const ROWS_PER_INSERT: usize = 100;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS partitions (
    name TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    category TEXT NOT NULL,
    created_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE TABLE IF NOT EXISTS checkpoints (
    partition TEXT NOT NULL,
    count INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    head TEXT NOT NULL,
    signed_at TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (partition, last_seq)
);
CREATE TABLE IF NOT EXISTS quarantine (
    received_at TEXT NOT NULL,
    transport TEXT NOT NULL,
    peer TEXT,
    source TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    original BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS removals (
    partition TEXT NOT NULL,
    removed_at TEXT NOT NULL,
    events INTEGER NOT NULL,
    last_checkpoint TEXT,
    policy TEXT NOT NULL,
    months INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS detection_positions (
    partition TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT NOT NULL UNIQUE,
    raised_at TEXT NOT NULL,
    object TEXT NOT NULL,
    rule_id TEXT,
    title TEXT NOT NULL,
    level TEXT NOT NULL,
    kind TEXT NOT NULL,
    agency TEXT,
    group_json TEXT NOT NULL,
    first TEXT NOT NULL,
    last TEXT NOT NULL,
    events TEXT NOT NULL,
    delay_seconds REAL NOT NULL,
    late INTEGER NOT NULL,
    firings INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_triage (
    alert_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    assignee TEXT,
    verdict TEXT,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS alert_actions (
    alert_id TEXT NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    address TEXT NOT NULL,
    action_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_actions_alert ON alert_actions (alert_id);
";

crate::store::alert_catalog::alert_catalog!(Catalog, prefix: "", row: "rowid", lock: "", |this| &mut this.connection);

/// The catalog's connection.
#[derive(Debug)]
pub(in crate::store) struct Catalog {
    connection: SqliteConnection,
}

impl Catalog {
    pub(in crate::store) async fn open(path: &Path) -> Result<Self, StoreError> {
        let mut connection = super::connect(path, true).await?;
        super::create_schema(&mut connection, SCHEMA).await?;
        Ok(Self { connection })
    }

    /// Records a partition the first time an event lands in it.
    pub(in crate::store) async fn register(&mut self, key: PartitionKey, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO partitions (name, day, category, created_at) VALUES ($1, $2, $3, $4)")
            .bind(key.name())
            .bind(key.day.to_string())
            .bind(key.category.as_str())
            .bind(now.to_string())
            .execute(&mut self.connection)
            .await?;
        Ok(())
    }

    /// Partitions not removed, with event days in `from..=to`.
    pub(in crate::store) async fn partitions(&mut self, from: Date, to: Date) -> Result<Vec<PartitionKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, category FROM partitions WHERE removed_at IS NULL AND day >= $1 AND day <= $2 ORDER BY day, category",
        )
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&mut self.connection)
        .await?;
        rows.iter().map(|row| rows::partition_key(row.get(0), row.get(1))).collect()
    }

    /// The names of the partitions removed by retention.
    pub(in crate::store) async fn removed(&mut self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM partitions WHERE removed_at IS NOT NULL")
            .fetch_all(&mut self.connection)
            .await?;
        Ok(names.into_iter().collect())
    }

    pub(in crate::store) async fn add_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR REPLACE INTO checkpoints (partition, count, last_seq, head, signed_at, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&checkpoint.partition)
        .bind(checkpoint.count as i64)
        .bind(checkpoint.end.last_seq as i64)
        .bind(hex(&checkpoint.end.head))
        .bind(checkpoint.signed_at.to_string())
        .bind(&checkpoint.key_id)
        .bind(&checkpoint.signature)
        .execute(&mut self.connection)
        .await?;
        Ok(())
    }

    /// Every checkpoint of a partition, oldest first.
    pub(in crate::store) async fn checkpoints(&mut self, partition: &str) -> Result<Vec<Checkpoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT count, last_seq, head, signed_at, key_id, signature FROM checkpoints WHERE partition = $1 ORDER BY last_seq",
        )
        .bind(partition)
        .fetch_all(&mut self.connection)
        .await?;
        rows.iter()
            .map(|row| {
                rows::checkpoint(partition, (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5)))
            })
            .collect()
    }

    /// Keeps frames and records that could not be stored as events.
    pub(in crate::store) async fn quarantine(&mut self, items: &[Quarantined]) -> Result<(), StoreError> {
        let mut tx = self.connection.begin().await?;
        for chunk in items.chunks(ROWS_PER_INSERT) {
            let mut insert = quarantine_insert::<sqlx::Sqlite>("INSERT INTO quarantine", chunk);
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest quarantined items, as `(source, reason, detail, original)`.
    pub(in crate::store) async fn quarantined(
        &mut self,
        limit: i64,
    ) -> Result<Vec<(String, String, String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query("SELECT source, reason, detail, original FROM quarantine ORDER BY rowid DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&mut self.connection)
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect())
    }

    /// Records a removal and marks the partition removed, in one transaction.
    pub(in crate::store) async fn record_removal(&mut self, removal: &Removal) -> Result<(), StoreError> {
        let mut tx = self.connection.begin().await?;
        sqlx::query(
            "INSERT INTO removals (partition, removed_at, events, last_checkpoint, policy, months) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&removal.partition)
        .bind(removal.removed_at.to_string())
        .bind(removal.events as i64)
        .bind(&removal.last_checkpoint)
        .bind(&removal.policy)
        .bind(i64::from(removal.months))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE partitions SET removed_at = $1 WHERE name = $2")
            .bind(removal.removed_at.to_string())
            .bind(&removal.partition)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where detection has got to in each partition, by name.
    pub(in crate::store) async fn detection_positions(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT partition, seq FROM detection_positions").fetch_all(&mut self.connection).await?;
        rows.into_iter().map(|(name, seq)| Ok((name, rows::seq_of(seq)?))).collect()
    }

    /// Every removal recorded, oldest first.
    pub(in crate::store) async fn removals(&mut self) -> Result<Vec<Removal>, StoreError> {
        let rows = sqlx::query(
            "SELECT partition, removed_at, events, last_checkpoint, policy, months FROM removals ORDER BY rowid",
        )
        .fetch_all(&mut self.connection)
        .await?;
        rows.iter()
            .map(|row| rows::removal((row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5))))
            .collect()
    }
}
