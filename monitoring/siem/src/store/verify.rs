//! `makonis siem verify`: every partition's chain recomputed against every anchor.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use makonis_siem_core::{
    block::{BlockError, decode},
    chain::{Break, Checkpoint, End, Verifier},
};

use super::{PartitionKey, Store, StoreError, checkpoint_log};

/// Blocks read at a time.
const SCAN_BLOCKS: i64 = 16;

/// What is wrong with a partition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The chain is broken: the first altered, removed or inserted event.
    #[error(transparent)]
    Broken(#[from] Break),
    /// A checkpoint's signature is not the platform key's.
    #[error("the checkpoint at event {last_seq} is not signed by the platform's key")]
    Signature {
        /// The checkpoint's last event.
        last_seq: u64,
    },
    /// The catalog and the checkpoint log disagree: one was changed or a checkpoint removed.
    #[error("the checkpoint at event {last_seq} is in the {only_in} only")]
    Unmatched {
        /// The checkpoint's last event.
        last_seq: u64,
        /// `catalog` or `checkpoint log`.
        only_in: &'static str,
    },
    /// The partition's events are gone (its file, or its table), though its checkpoints
    /// remain.
    #[error("the partition's events are missing")]
    Missing,
    /// A block cannot be read at all: damaged, or written by something else.
    #[error("the block that starts at event {first_seq} cannot be read: {error}")]
    Unreadable {
        /// The block's first place, as its row names it.
        first_seq: i64,
        /// Why.
        error: BlockError,
    },
}

impl Problem {
    /// A bounded name for metric labels and reports.
    pub fn category(&self) -> &'static str {
        match self {
            Problem::Broken(broken) => broken.category(),
            Problem::Signature { .. } => "signature",
            Problem::Unmatched { .. } => "unmatched_checkpoint",
            Problem::Missing => "missing",
            Problem::Unreadable { .. } => "unreadable",
        }
    }
}

/// The check of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionReport {
    /// `YYYY-MM-DD/category`.
    pub partition: String,
    /// Events checked.
    pub events: u64,
    /// Checkpoints the chain was checked against.
    pub checkpoints: usize,
    /// The first problem found, if any.
    pub problem: Option<Problem>,
}

impl Store {
    /// Checks every partition with event days in `from..=to`: the chain, each checkpoint's
    /// signature (by `public_key`), the catalog against the checkpoint log, and files that
    /// disappeared.
    pub async fn verify(
        &mut self,
        from: Date,
        to: Date,
        public_key: &[u8],
    ) -> Result<Vec<PartitionReport>, StoreError> {
        self.verify_where(from, to, public_key, |_| true).await
    }

    /// [`Store::verify`], of the partitions `wanted` picks only (the others are not read).
    pub async fn verify_where(
        &mut self,
        from: Date,
        to: Date,
        public_key: &[u8],
        wanted: impl Fn(&PartitionKey) -> bool,
    ) -> Result<Vec<PartitionReport>, StoreError> {
        let mut logged: BTreeMap<String, Vec<Checkpoint>> = BTreeMap::new();
        for checkpoint in checkpoint_log::read(&self.checkpoint_log).await? {
            logged.entry(checkpoint.partition.clone()).or_default().push(checkpoint);
        }
        let removed = self.db.removed().await?;
        let mut keys: BTreeSet<PartitionKey> = self.db.partitions(from, to).await?.into_iter().collect();
        for name in logged.keys().filter(|name| !removed.contains(*name)) {
            if let Some(key) = PartitionKey::parse(name).filter(|k| k.day >= from && k.day <= to) {
                keys.insert(key);
            }
        }
        let mut reports = Vec::new();
        for key in keys.into_iter().filter(|key| wanted(key)) {
            let log = logged.remove(&key.name()).unwrap_or_default();
            reports.push(self.verify_partition(key, log, public_key).await?);
        }
        Ok(reports)
    }

    async fn verify_partition(
        &mut self,
        key: PartitionKey,
        log: Vec<Checkpoint>,
        public_key: &[u8],
    ) -> Result<PartitionReport, StoreError> {
        let name = key.name();
        let catalog = self.db.checkpoints(&name).await?;
        let report =
            |events, problem| PartitionReport { partition: name.clone(), events, checkpoints: log.len(), problem };
        if let Some(problem) = compare(&catalog, &log, public_key) {
            return Ok(report(0, Some(problem)));
        }
        if !self.db.exists(key).await? {
            return Ok(report(0, Some(Problem::Missing)));
        }
        let head = self.db.head(key).await?;
        // The chain passes through every checkpoint. A partition closed by one ends at the
        // last (an event beyond it was never signed); an open one, signed so far by
        // interim checkpoints or not at all, at the store's own head.
        let mut anchors: Vec<End> = log.iter().map(|c| c.end).collect();
        if log.iter().all(|c| c.interim) {
            anchors.push(head);
        }
        // Every block in its stored order, whichever database it is read from, and every
        // event of each in the order it holds them.
        let mut verifier = Verifier::new(&name, anchors);
        let (mut events, mut after) = (0, i64::MIN);
        let outcome = 'blocks: loop {
            let blocks = self.db.blocks_after(key, after, SCAN_BLOCKS).await?;
            if blocks.is_empty() {
                break 'blocks verifier.finish().map(|_| ()).map_err(Problem::Broken);
            }
            for (first_seq, body) in blocks {
                after = first_seq;
                let stored = match decode(&body) {
                    Ok(stored) => stored,
                    Err(error) => break 'blocks Err(Problem::Unreadable { first_seq, error }),
                };
                for event in stored {
                    events += 1;
                    if let Err(broken) = verifier.push(&event.stored()) {
                        break 'blocks Err(Problem::Broken(broken));
                    }
                }
            }
        };
        Ok(report(events, outcome.err()))
    }
}

/// The catalog's checkpoints against the log's closing ones (the log alone keeps the
/// interim ones), and every signature.
fn compare(catalog: &[Checkpoint], log: &[Checkpoint], public_key: &[u8]) -> Option<Problem> {
    if let Some(bad) = catalog.iter().chain(log).find(|c| !c.signed_by(public_key)) {
        return Some(Problem::Signature { last_seq: bad.end.last_seq });
    }
    let log: Vec<&Checkpoint> = log.iter().filter(|c| !c.interim).collect();
    let log = log.as_slice();
    if let Some(only) = catalog.iter().find(|c| !log.contains(c)) {
        return Some(Problem::Unmatched { last_seq: only.end.last_seq, only_in: "catalog" });
    }
    if let Some(only) = log.iter().find(|c| !catalog.contains(c)) {
        return Some(Problem::Unmatched { last_seq: only.end.last_seq, only_in: "checkpoint log" });
    }
    None
}
