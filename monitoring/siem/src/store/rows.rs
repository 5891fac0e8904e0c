//! What both databases read and write the same way: events linked onto a partition's
//! chain before they are kept in blocks, and catalog rows decoded as they are read back.
//! Free of either database, so that both backends build on it.

use jiff::SignedDuration;
use makonis_siem_core::{
    block::BlockEvent,
    chain::{Checkpoint, End, Hash, from_hex, link},
    event::Event,
    retention::SourceCategory,
};

use super::{AlertRecord, PartitionKey, Removal, StoreError};

/// Links `events` one after the other onto the chain ending at `head`, as a block keeps
/// them; the new end.
pub(super) fn link_all(head: End, events: &[&Event], skew_limit: SignedDuration) -> (Vec<BlockEvent>, End) {
    let End { last_seq: mut seq, head: mut previous } = head;
    let mut linked = Vec::with_capacity(events.len());
    for event in events {
        seq += 1;
        let document = event.document(skew_limit);
        let hash = link(&previous, seq, document.as_bytes(), &event.original);
        linked.push(BlockEvent::of(event, skew_limit, seq, document, hash));
        previous = hash;
    }
    (linked, End { last_seq: seq, head: previous })
}

/// A stored hash.
pub(super) fn hash_of(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::try_from(bytes.as_slice()).map_err(|_| StoreError::Corrupt(format!("a hash of {} bytes", bytes.len())))
}

/// A stored head's place.
pub(super) fn seq_of(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt("negative head".into()))
}

/// A catalog's partition row.
pub(super) fn partition_key(day: &str, category: &str) -> Result<PartitionKey, StoreError> {
    Ok(PartitionKey {
        day: day.parse().map_err(|_| StoreError::Corrupt(format!("partition day {day:?}")))?,
        category: SourceCategory::parse(category)
            .ok_or_else(|| StoreError::Corrupt(format!("partition category {category:?}")))?,
    })
}

/// A catalog's checkpoint row: `(count, last_seq, head, signed_at, key_id, signature)`, a
/// closing one.
pub(super) fn checkpoint(
    partition: &str,
    (count, last_seq, head, signed_at, key_id, signature): (i64, i64, String, String, String, Vec<u8>),
) -> Result<Checkpoint, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("checkpoint of {partition}: {what}"));
    Ok(Checkpoint {
        partition: partition.to_owned(),
        count: u64::try_from(count).map_err(|_| corrupt("count"))?,
        end: End {
            last_seq: u64::try_from(last_seq).map_err(|_| corrupt("last_seq"))?,
            head: from_hex(&head).ok_or_else(|| corrupt("head"))?,
        },
        signed_at: signed_at.parse().map_err(|_| corrupt("signed_at"))?,
        // The catalog keeps the checkpoints that close a partition only.
        interim: false,
        key_id,
        signature,
    })
}

/// A catalog's removal row: `(partition, removed_at, events, last_checkpoint, policy, months)`.
pub(super) fn removal(
    (partition, removed_at, events, last_checkpoint, policy, months): (
        String,
        String,
        i64,
        Option<String>,
        String,
        i64,
    ),
) -> Result<Removal, StoreError> {
    Ok(Removal {
        partition,
        removed_at: removed_at.parse().map_err(|_| StoreError::Corrupt("removed_at".into()))?,
        events: u64::try_from(events).unwrap_or(0),
        last_checkpoint,
        policy,
        months: u8::try_from(months).unwrap_or(0),
    })
}

/// The columns of an alert row, in the order both catalogs select them.
pub(super) const ALERT_COLUMNS: &str = "id, raised_at, object, rule_id, title, level, kind, agency, group_json, first, last, \
     events, delay_seconds, late, firings";

/// The INSERT of an alert into `table`, its values in the order of [`ALERT_COLUMNS`].
pub(super) fn alert_insert(table: &str) -> String {
    format!(
        "INSERT INTO {table} ({ALERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    )
}

/// The UPDATE that folds firings into an alert of `table` (`$1` firings, `$2` the newest
/// time, `$3` the id).
pub(super) fn alert_fold(table: &str) -> String {
    format!("UPDATE {table} SET firings = firings + $1, last = CASE WHEN last < $2 THEN $2 ELSE last END WHERE id = $3")
}

/// A catalog's alert row: the texts of [`ALERT_COLUMNS`] (times as RFC 3339), then the
/// delay, whether it was raised late and its firings.
pub(super) fn alert(
    texts: [Option<String>; 12],
    delay_seconds: f64,
    late: bool,
    firings: i64,
) -> Result<AlertRecord, StoreError> {
    let [id, raised_at, object, rule_id, title, level, kind, agency, group, first, last, events] = texts;
    let time = |text: Option<String>| -> Result<jiff::Timestamp, StoreError> {
        text.unwrap_or_default().parse().map_err(|e| StoreError::Corrupt(format!("an alert's time: {e}")))
    };
    Ok(AlertRecord {
        id: id.unwrap_or_default(),
        raised_at: time(raised_at)?,
        object: object.unwrap_or_default(),
        rule_id,
        title: title.unwrap_or_default(),
        level: level.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        agency,
        group: group.unwrap_or_default(),
        first: time(first)?,
        last: time(last)?,
        events: events.unwrap_or_default(),
        delay_seconds,
        late,
        firings,
    })
}

/// An alert's time as the catalog keeps it: RFC 3339 in UTC with six digits of the
/// second, so that comparing the texts compares the times (folding keeps the latest).
pub(super) fn alert_time(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
