//! The two databases behind one set of operations: each backend answers the same calls,
//! and everything above them — the chain's order, signing, retention's decisions, the
//! verification, the search's paging and filters, the report's counts — is written once,
//! in the store. What the two backends share below this line is in [`super::rows`] and
//! [`super::blocks`].

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp, civil::Date};
use makonis_siem_core::{
    alerts::{AlertListRequest, Triage, TriageError, TriageRecord},
    block::TermKind,
    chain::{Checkpoint, End},
    event::Event,
    search::BlockTerms,
};

use super::{
    AlertFold, AlertRecord, PartitionKey, Quarantined, Removal, StoreError, StoredAlert, blocks::BlockMeta,
    postgres::Postgres, sqlite::Sqlite,
};

/// The database the store is in.
#[derive(Debug)]
pub(super) enum Db {
    /// SQLite files under a directory.
    Sqlite(Sqlite),
    /// A PostgreSQL database.
    Postgres(Postgres),
}

/// The same call on whichever backend the store is in.
macro_rules! on {
    ($db:expr, $backend:ident => $call:expr) => {
        match $db {
            Db::Sqlite($backend) => $call,
            Db::Postgres($backend) => $call,
        }
    };
}

impl Db {
    /// Records a partition the first time an event lands in it.
    pub(super) async fn register(&mut self, key: PartitionKey, now: Timestamp) -> Result<(), StoreError> {
        on!(self, db => db.catalog.register(key, now).await)
    }

    /// Partitions not removed, with event days in `from..=to`, by day then category.
    pub(super) async fn partitions(&mut self, from: Date, to: Date) -> Result<Vec<PartitionKey>, StoreError> {
        on!(self, db => db.catalog.partitions(from, to).await)
    }

    /// The names of the partitions removed by retention.
    pub(super) async fn removed(&mut self) -> Result<BTreeSet<String>, StoreError> {
        on!(self, db => db.catalog.removed().await)
    }

    pub(super) async fn add_checkpoint(&mut self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        on!(self, db => db.catalog.add_checkpoint(checkpoint).await)
    }

    /// Every checkpoint of a partition, oldest first.
    pub(super) async fn checkpoints(&mut self, partition: &str) -> Result<Vec<Checkpoint>, StoreError> {
        on!(self, db => db.catalog.checkpoints(partition).await)
    }

    pub(super) async fn quarantine(&mut self, items: &[Quarantined]) -> Result<(), StoreError> {
        on!(self, db => db.catalog.quarantine(items).await)
    }

    pub(super) async fn quarantined(
        &mut self,
        limit: i64,
    ) -> Result<Vec<(String, String, String, Vec<u8>)>, StoreError> {
        on!(self, db => db.catalog.quarantined(limit).await)
    }

    /// Records a removal and marks the partition removed, in one transaction.
    pub(super) async fn record_removal(&mut self, removal: &Removal) -> Result<(), StoreError> {
        on!(self, db => db.catalog.record_removal(removal).await)
    }

    /// Where detection has got to in each partition, by name.
    pub(super) async fn detection_positions(&mut self) -> Result<Vec<(String, u64)>, StoreError> {
        on!(self, db => db.catalog.detection_positions().await)
    }

    /// Records detection's positions and the alerts raised, in one transaction.
    pub(super) async fn record_detection(
        &mut self,
        positions: &[(String, u64)],
        alerts: &[AlertRecord],
        folds: &[AlertFold],
    ) -> Result<(), StoreError> {
        on!(self, db => db.catalog.record_detection(positions, alerts, folds).await)
    }

    /// Alerts as the request selects them.
    pub(super) async fn list_alerts(&mut self, request: &AlertListRequest) -> Result<Vec<StoredAlert>, StoreError> {
        on!(self, db => db.catalog.list_alerts(request).await)
    }

    /// One alert and its history.
    pub(super) async fn alert(&mut self, id: &str) -> Result<Option<(StoredAlert, Vec<TriageRecord>)>, StoreError> {
        on!(self, db => db.catalog.alert(id).await)
    }

    /// Records an action on an alert with the handling it leads to.
    pub(super) async fn triage(
        &mut self,
        id: &str,
        record: &TriageRecord,
    ) -> Result<Option<Result<Triage, TriageError>>, StoreError> {
        on!(self, db => db.catalog.triage(id, record).await)
    }

    /// Every removal recorded, oldest first.
    pub(super) async fn removals(&mut self) -> Result<Vec<Removal>, StoreError> {
        on!(self, db => db.catalog.removals().await)
    }

    /// Appends events to a partition (created on first use) as one transaction, each
    /// linked to the one before; `Ok` once committed.
    pub(super) async fn append(
        &mut self,
        key: PartitionKey,
        events: &[&Event],
        skew_limit: SignedDuration,
    ) -> Result<End, StoreError> {
        on!(self, db => db.append(key, events, skew_limit).await)
    }

    /// The store's own record of where a partition's chain ends.
    pub(super) async fn head(&mut self, key: PartitionKey) -> Result<End, StoreError> {
        on!(self, db => db.head(key).await)
    }

    /// Whether the partition's events are there (its file, or its table).
    pub(super) async fn exists(&mut self, key: PartitionKey) -> Result<bool, StoreError> {
        on!(self, db => db.exists(key).await)
    }

    /// At most `limit` blocks of a partition after the place `after`, in place order:
    /// `(first_seq, body)`.
    pub(super) async fn blocks_after(
        &mut self,
        key: PartitionKey,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        on!(self, db => db.blocks_after(key, after, limit).await)
    }

    /// A partition's blocks that have every term of `terms.all` and one of `terms.any`.
    pub(super) async fn block_metas(
        &mut self,
        key: PartitionKey,
        terms: &BlockTerms,
    ) -> Result<Vec<BlockMeta>, StoreError> {
        on!(self, db => db.block_metas(key, terms).await)
    }

    /// The bodies of a partition's blocks at `first_seqs` that are there:
    /// `(first_seq, body)`, in no particular order.
    pub(super) async fn bodies(
        &mut self,
        key: PartitionKey,
        first_seqs: &[i64],
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        on!(self, db => db.bodies(key, first_seqs).await)
    }

    /// The values of a partition's terms of `kind` (its LogSources, its agencies, …).
    pub(super) async fn term_values(&mut self, key: PartitionKey, kind: TermKind) -> Result<Vec<String>, StoreError> {
        on!(self, db => db.term_values(key, kind).await)
    }

    /// Removes a partition's events and head (its file, or its table).
    pub(super) async fn drop_partition(&mut self, key: PartitionKey) -> Result<(), StoreError> {
        on!(self, db => db.drop_partition(key).await)
    }
}
