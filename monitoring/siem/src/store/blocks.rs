//! Blocks as both databases keep them: the rows an append writes (the plan of
//! [`makonis_siem_core::block`] carried out) and what is read back of them.

use std::{collections::BTreeMap, ops::ControlFlow};

use makonis_siem_core::{
    block::{AppendPlan, BlockEvent, BlockSpan, decode, encode, terms},
    search::BlockTerms,
};

use super::{PartitionKey, Store, StoreError};

/// The most bodies read in one query: a reader asks for one block first, then twice as
/// many each time up to this, so that a reader that stops early reads little more than it
/// uses, and one that reads a day does not pay a round trip per block.
const BODIES_AT_ONCE: usize = 16;

/// The newest blocks an append's plan looks at: enough to see every small block at the
/// end of a chain.
pub(super) const NEWEST: i64 = makonis_siem_core::block::TAIL_BLOCKS as i64 + 1;

/// A block to write: its row.
#[derive(Debug)]
pub(super) struct NewBlock {
    /// Its first place in the chain (the row's key).
    pub(super) first_seq: i64,
    /// Its last place.
    pub(super) last_seq: i64,
    /// The earliest event time in it, µs.
    pub(super) min_time: i64,
    /// The latest event time in it, µs.
    pub(super) max_time: i64,
    /// The latest receive time in it, µs.
    pub(super) max_created: i64,
    /// Its terms.
    pub(super) terms: Vec<String>,
    /// Its events, encoded and compressed.
    pub(super) body: Vec<u8>,
}

/// A stored block but its body: what a search or a scan decides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BlockMeta {
    /// Its first place.
    pub(super) first_seq: i64,
    /// The earliest event time in it, µs.
    pub(super) min_time: i64,
    /// The latest event time in it, µs.
    pub(super) max_time: i64,
    /// The latest receive time in it, µs.
    pub(super) max_created: i64,
}

impl From<(i64, i64, i64, i64)> for BlockMeta {
    /// A row of `first_seq, min_time, max_time, max_created`.
    fn from((first_seq, min_time, max_time, max_created): (i64, i64, i64, i64)) -> Self {
        Self { first_seq, min_time, max_time, max_created }
    }
}

/// The newest blocks' places (`(first_seq, last_seq)`, newest first, as read) as the
/// plan takes them.
pub(super) fn spans(newest_first: &[(i64, i64)]) -> Vec<BlockSpan> {
    newest_first
        .iter()
        .rev()
        .map(|&(first, last)| BlockSpan {
            first_seq: u64::try_from(first).unwrap_or(0),
            events: usize::try_from(last - first + 1).unwrap_or(0),
        })
        .collect()
}

/// The blocks an append writes: `events` (the rewritten blocks' events, then the new
/// ones) cut as `plan` says.
pub(super) fn blocks_of(plan: &AppendPlan, events: &[BlockEvent]) -> Result<Vec<NewBlock>, StoreError> {
    let mut blocks = Vec::with_capacity(plan.blocks.len());
    let mut rest = events;
    for &size in &plan.blocks {
        let (block, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        let (Some(first), Some(last)) = (block.first(), block.last()) else { continue };
        blocks.push(NewBlock {
            first_seq: first.seq as i64,
            last_seq: last.seq as i64,
            min_time: block.iter().map(|e| e.time).min().unwrap_or(first.time),
            max_time: block.iter().map(|e| e.time).max().unwrap_or(first.time),
            max_created: block.iter().map(|e| e.created).max().unwrap_or(first.created),
            terms: terms(block).into_iter().collect(),
            body: encode(block).map_err(StoreError::Encode)?,
        });
    }
    Ok(blocks)
}

/// A stored block's events, or which block of which partition cannot be read.
pub(super) fn events_of(partition: &str, first_seq: i64, body: &[u8]) -> Result<Vec<BlockEvent>, StoreError> {
    decode(body).map_err(|e| StoreError::Corrupt(format!("block {first_seq} of {partition}: {e}")))
}

impl Store {
    /// A partition's blocks that have `terms` and may hold events of `from..to` (µs).
    pub(super) async fn blocks_within(
        &mut self,
        key: PartitionKey,
        terms: &BlockTerms,
        from: i64,
        to: i64,
    ) -> Result<Vec<BlockMeta>, StoreError> {
        let mut blocks = self.db.block_metas(key, terms).await?;
        blocks.retain(|block| block.max_time >= from && block.min_time < to);
        Ok(blocks)
    }

    /// Hands `blocks` of a partition, in their order, to `visit` (with each block's body)
    /// until it says stop; a block no longer there is passed over.
    pub(super) async fn visit_blocks(
        &mut self,
        key: PartitionKey,
        blocks: &[BlockMeta],
        mut visit: impl FnMut(&BlockMeta, &[u8]) -> Result<ControlFlow<()>, StoreError>,
    ) -> Result<(), StoreError> {
        let (mut next, mut at_once) = (0, 1);
        while next < blocks.len() {
            let chunk = &blocks[next..(next + at_once).min(blocks.len())];
            next += chunk.len();
            at_once = (at_once * 2).min(BODIES_AT_ONCE);
            let first_seqs: Vec<i64> = chunk.iter().map(|block| block.first_seq).collect();
            let bodies: BTreeMap<i64, Vec<u8>> = self.db.bodies(key, &first_seqs).await?.into_iter().collect();
            for block in chunk {
                if let Some(body) = bodies.get(&block.first_seq)
                    && visit(block, body)?.is_break()
                {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}
