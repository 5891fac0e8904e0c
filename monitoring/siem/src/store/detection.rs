//! Detection's record in the store: how far the engine has evaluated each partition, and
//! the alerts it raised, written together in one transaction, so that a restart goes on
//! exactly where the last alerts were recorded. Also the reads the engine catches up
//! with: partitions, where each ends, and their events from a place on.

use std::collections::BTreeMap;

use jiff::{Timestamp, civil::Date};
use makonis_siem_core::{
    alerts::{AlertDetail, AlertListRequest, AlertView, MAX_SHOWN_EVENTS, Triage, TriageError, TriageRecord},
    block::BlockEvent,
};

use super::{PartitionKey, Store, StoreError, blocks::events_of, search::hit};

/// An alert as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRecord {
    /// Its identity: hex SHA-256 of its rule object, rule and first event's place.
    pub id: String,
    /// When it was raised.
    pub raised_at: Timestamp,
    /// The rule object: `DetectionRule namespace/name` or `ClusterDetectionRule name`.
    pub object: String,
    /// The Sigma rule's id (or name).
    pub rule_id: Option<String>,
    /// The rule's title.
    pub title: String,
    /// Its level.
    pub level: String,
    /// `detection` or `correlation`.
    pub kind: String,
    /// The agency of its events (none: the platform's).
    pub agency: Option<String>,
    /// The group-by fields and values, a JSON object.
    pub group: String,
    /// The first event's time.
    pub first: Timestamp,
    /// The last event's time.
    pub last: Timestamp,
    /// Its events in the store, a JSON array of `{"partition", "seq", "time"}`.
    pub events: String,
    /// Seconds from receiving its newest event to raising it.
    pub delay_seconds: f64,
    /// Raised while catching up with events stored while detection was not running.
    pub late: bool,
    /// How many firings of its rule and group it stands for: repeats within the
    /// suppression period are folded into it.
    pub firings: i64,
}

/// An alert with its row number and its handling.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    /// Its order among the alerts: later alerts have larger numbers.
    pub row: i64,
    /// The alert.
    pub record: AlertRecord,
    /// How people have handled it.
    pub triage: Triage,
}

impl StoredAlert {
    /// The alert as the portal shows it.
    pub fn view(self) -> Result<AlertView, StoreError> {
        let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("an alert's {what}: {e}"));
        let AlertRecord { id, raised_at, object, rule_id, title, level, kind, agency, .. } = self.record;
        Ok(AlertView {
            row: self.row,
            id,
            raised_at: raised_at.to_string(),
            object,
            rule_id,
            title,
            level,
            kind,
            agency,
            group: serde_json::from_str(&self.record.group).map_err(|e| corrupt("group", e))?,
            first: self.record.first.to_string(),
            last: self.record.last.to_string(),
            events: serde_json::from_str(&self.record.events).map_err(|e| corrupt("events", e))?,
            delay_seconds: self.record.delay_seconds,
            late: self.record.late,
            firings: self.record.firings,
            triage: self.triage,
        })
    }
}

/// Later firings folded into an alert already recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFold {
    /// The alert.
    pub id: String,
    /// Firings added.
    pub firings: i64,
    /// The newest event's time among them.
    pub last: Timestamp,
    /// Their events, a JSON array like [`AlertRecord::events`], added to the alert's: a
    /// repeat folded into an open alert must still show what happened (an intruder's
    /// ClusterRoleBinding folded into the alert the platform's installation raised).
    pub events: String,
}

/// The most events an alert lists; later firings still count in its firings.
pub const ALERT_EVENTS_KEPT: usize = 1000;

/// The JSON array of `existing` events followed by `added` ones, at most
/// [`ALERT_EVENTS_KEPT`]; text that is not an array counts as none.
pub fn merge_events(existing: &str, added: &str) -> String {
    let array = |text: &str| match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let mut events = array(existing);
    events.extend(array(added));
    events.truncate(ALERT_EVENTS_KEPT);
    serde_json::Value::Array(events).to_string()
}

/// How many blocks one read of a partition's events takes at most.
const READ_BLOCKS: i64 = 16;

/// The most events a block holds (`makonis_siem_core::block`), to find the block that
/// holds a place.
const BLOCK_EVENTS: i64 = 512;

impl Store {
    /// Where detection has got to in each partition: the place of the last event
    /// evaluated. Empty before detection first ran on this store.
    pub async fn detection_positions(&mut self) -> Result<BTreeMap<PartitionKey, u64>, StoreError> {
        let rows = self.db.detection_positions().await?;
        Ok(rows.into_iter().filter_map(|(name, seq)| Some((PartitionKey::parse(&name)?, seq))).collect())
    }

    /// Records where detection has got to, the alerts it raised on the way and the
    /// firings folded into alerts recorded before, in one transaction.
    pub async fn record_detection(
        &mut self,
        positions: &BTreeMap<PartitionKey, u64>,
        alerts: &[AlertRecord],
        folds: &[AlertFold],
    ) -> Result<(), StoreError> {
        let positions: Vec<(String, u64)> = positions.iter().map(|(key, seq)| (key.name(), *seq)).collect();
        self.db.record_detection(&positions, alerts, folds).await
    }

    /// The newest alerts, at most `limit`, newest first.
    pub async fn alerts(&mut self, limit: usize) -> Result<Vec<AlertRecord>, StoreError> {
        let request = AlertListRequest { limit, ..AlertListRequest::default() };
        Ok(self.db.list_alerts(&request).await?.into_iter().map(|stored| stored.record).collect())
    }

    /// Alerts as `request` selects them (checked by the caller), in its order.
    pub async fn list_alerts(&mut self, request: &AlertListRequest) -> Result<Vec<StoredAlert>, StoreError> {
        self.db.list_alerts(request).await
    }

    /// One alert with its handling, without its history or events; `None` when there
    /// is no such alert.
    pub async fn alert(&mut self, id: &str) -> Result<Option<AlertView>, StoreError> {
        self.db.alert(id).await?.map(|(stored, _)| stored.view()).transpose()
    }

    /// One alert with its history and its first events read back from the store;
    /// `None` when there is no such alert.
    pub async fn alert_detail(&mut self, id: &str) -> Result<Option<AlertDetail>, StoreError> {
        let Some((stored, history)) = self.db.alert(id).await? else { return Ok(None) };
        let alert = stored.view()?;
        let shown = &alert.events[..alert.events.len().min(MAX_SHOWN_EVENTS)];
        let mut found = BTreeMap::new();
        let mut partitions: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for place in shown {
            partitions.entry(place.partition.as_str()).or_default().push(place.seq);
        }
        for (partition, seqs) in partitions {
            for event in self.stored_events(partition, &seqs).await? {
                found.insert((partition.to_owned(), event.seq), hit(partition, event)?.1);
            }
        }
        let events = shown.iter().filter_map(|p| found.remove(&(p.partition.clone(), p.seq))).collect();
        Ok(Some(AlertDetail { alert, history, events }))
    }

    /// The events at `seqs` of a partition, read in one sweep from the first to the
    /// last; none when retention removed the partition.
    async fn stored_events(&mut self, partition: &str, seqs: &[u64]) -> Result<Vec<BlockEvent>, StoreError> {
        let Some(key) = PartitionKey::parse(partition) else { return Ok(Vec::new()) };
        let (Some(&first), Some(&last)) = (seqs.iter().min(), seqs.iter().max()) else { return Ok(Vec::new()) };
        if !self.db.exists(key).await? {
            return Ok(Vec::new());
        }
        let mut events = Vec::new();
        let mut next = first;
        while next <= last {
            let read = self.events_from(key, next).await?;
            let Some(end) = read.last().map(|e| e.seq) else { break };
            events.extend(read.into_iter().filter(|e| seqs.contains(&e.seq)));
            next = end + 1;
        }
        Ok(events)
    }

    /// Records `record` on alert `id` with the handling it leads to; `None` when there
    /// is no such alert, the refusal when its state does not allow the action.
    pub async fn triage_alert(
        &mut self,
        id: &str,
        record: &TriageRecord,
    ) -> Result<Option<Result<Triage, TriageError>>, StoreError> {
        self.db.triage(id, record).await
    }

    /// The partitions not removed whose day is `from` or later.
    pub async fn partitions_since(&mut self, from: Date) -> Result<Vec<PartitionKey>, StoreError> {
        self.db.partitions(from, Date::MAX).await
    }

    /// The place of a partition's last event (0 when it has none).
    pub async fn last_seq(&mut self, key: PartitionKey) -> Result<u64, StoreError> {
        Ok(self.db.head(key).await?.last_seq)
    }

    /// A partition's events from place `from` on, in place order: a few blocks' worth;
    /// none past its end.
    pub async fn events_from(&mut self, key: PartitionKey, from: u64) -> Result<Vec<BlockEvent>, StoreError> {
        let from = i64::try_from(from).unwrap_or(i64::MAX);
        let name = key.name();
        let mut events = Vec::new();
        for (first_seq, body) in self.db.blocks_after(key, from - BLOCK_EVENTS - 1, READ_BLOCKS).await? {
            events.extend(events_of(&name, first_seq, &body)?.into_iter().filter(|e| e.seq >= from as u64));
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fold_adds_its_events_to_the_alerts_up_to_the_limit() {
        let merged = merge_events(r#"[{"seq":1}]"#, r#"[{"seq":7},{"seq":8}]"#);
        assert_eq!(merged, r#"[{"seq":1},{"seq":7},{"seq":8}]"#);
        assert_eq!(merge_events("not json", r#"[{"seq":2}]"#), r#"[{"seq":2}]"#);
        let many = serde_json::Value::Array(vec![serde_json::json!({"seq": 0}); ALERT_EVENTS_KEPT]).to_string();
        let full = merge_events(&many, r#"[{"seq":9}]"#);
        assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&full).unwrap().len(), ALERT_EVENTS_KEPT);
    }
}
