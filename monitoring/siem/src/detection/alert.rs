//! An alert as detection raises it, and where its events are: what the log, the metrics,
//! Alertmanager and the store are told.

use jiff::Timestamp;
use sha2::{Digest as _, Sha256};

use crate::store::{AlertRecord, PartitionKey};

/// Where an alert's event is: its place in the store, its LogSource and when it was
/// received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The partition.
    pub partition: PartitionKey,
    /// Its place in the partition's chain.
    pub seq: u64,
    /// The LogSource (`namespace/name`).
    pub source: String,
    /// When the SIEM received it.
    pub received: Timestamp,
}

/// An alert as raised: what its log record and the metrics say of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityAlert {
    /// The rule object.
    pub object: String,
    /// The Sigma rule's id (or name).
    pub rule_id: Option<String>,
    /// Its title.
    pub title: String,
    /// The level: the object's severity override, or the rule's level (`medium` when it
    /// has none).
    pub level: String,
    /// `detection` or `correlation`.
    pub kind: &'static str,
    /// The group-by fields and values.
    pub group: Vec<(String, String)>,
    /// The events' times and places, in event time order.
    pub events: Vec<(Timestamp, Reference)>,
    /// The agency of the event that raised it (none: the platform's).
    pub agency: Option<String>,
    /// Raised while catching up with events stored while detection was not running.
    pub late: bool,
}

impl SecurityAlert {
    /// The newest event's time.
    pub fn last(&self) -> Option<Timestamp> {
        self.events.last().map(|(t, _)| *t)
    }

    /// The alert as the store keeps it, raised `now`.
    pub fn record(&self, now: Timestamp) -> AlertRecord {
        let received = self.events.iter().map(|(_, r)| r.received).max().unwrap_or(now);
        let group: serde_json::Map<String, serde_json::Value> =
            self.group.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
        let events: Vec<serde_json::Value> = self
            .events
            .iter()
            .map(|(time, r)| serde_json::json!({"partition": r.partition.name(), "seq": r.seq, "time": time.to_string()}))
            .collect();
        let first = self.events.first().map(|(_, r)| format!("{}:{}", r.partition.name(), r.seq)).unwrap_or_default();
        let id = Sha256::digest(format!("{}\u{1f}{}\u{1f}{first}", self.object, self.suppression_key()).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        AlertRecord {
            id,
            raised_at: now,
            object: self.object.clone(),
            rule_id: self.rule_id.clone(),
            title: self.title.clone(),
            level: self.level.clone(),
            kind: self.kind.to_owned(),
            agency: self.agency.clone(),
            group: serde_json::Value::Object(group).to_string(),
            first: self.events.first().map_or(now, |(t, _)| *t),
            last: self.events.last().map_or(now, |(t, _)| *t),
            events: serde_json::Value::Array(events).to_string(),
            delay_seconds: now.duration_since(received).as_secs_f64().max(0.0),
            late: self.late,
            firings: 1,
        }
    }

    /// What makes repeats one alert: its rule object, its rule and its group.
    pub fn suppression_key(&self) -> String {
        let group: Vec<String> = self.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}\u{1f}{}\u{1f}{}", self.object, self.rule_id.as_deref().unwrap_or(&self.title), group.join(","))
    }
}
