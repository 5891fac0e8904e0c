//! What the store keeps besides events, and the names of its partitions: the same on
//! either database.

use std::path::{Path, PathBuf};

use jiff::{Timestamp, civil::Date};
use makonis_siem_core::retention::{SourceCategory, partition_name};

/// The identity of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartitionKey {
    /// The event day, UTC.
    pub day: Date,
    /// The category of the LogSources whose events it holds.
    pub category: SourceCategory,
}

impl PartitionKey {
    /// `YYYY-MM-DD/category`.
    pub fn name(&self) -> String {
        partition_name(self.day, self.category)
    }

    /// Its SQLite file under the store's root: `partitions/YYYY-MM-DD/category.sqlite`.
    pub fn path(&self, root: &Path) -> PathBuf {
        root.join("partitions").join(self.day.to_string()).join(format!("{}.sqlite", self.category.as_str()))
    }

    /// Its PostgreSQL table, `blocks_YYYYMMDD_category` (the category's `-` as `_`):
    /// made of the day and the category only, never of anything a sender wrote.
    pub fn table(&self) -> String {
        format!("blocks_{}_{}", self.day.strftime("%Y%m%d"), self.category.as_str().replace('-', "_"))
    }

    /// The key of a partition's name, `YYYY-MM-DD/category`.
    pub fn parse(name: &str) -> Option<Self> {
        let (day, category) = name.split_once('/')?;
        Some(Self { day: day.parse().ok()?, category: SourceCategory::parse(category)? })
    }
}

/// What was removed, when, and under which policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// The partition.
    pub partition: String,
    /// When.
    pub removed_at: Timestamp,
    /// How many events it held.
    pub events: u64,
    /// Its last checkpoint, `SEQ:HASH`, if it had one.
    pub last_checkpoint: Option<String>,
    /// The policy whose months decided.
    pub policy: String,
    /// The months kept.
    pub months: u8,
}

/// A frame or record that could not be stored as an event, kept with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// When it was received.
    pub received_at: Timestamp,
    /// `udp`, `tcp`, `tls`, `relp` or `https`.
    pub transport: &'static str,
    /// The sender's address.
    pub peer: Option<std::net::IpAddr>,
    /// The LogSource that claims the sender, or `unknown`.
    pub source: String,
    /// A bounded reason: `unknown_source`, or a framing, syslog or JSON error category.
    pub reason: &'static str,
    /// The reason in words.
    pub detail: String,
    /// What was received, byte for byte.
    pub original: Vec<u8>,
}

/// The quarantine INSERT of `chunk`, its columns in the order both catalogs name them,
/// after `into` (`INSERT INTO … quarantine`).
pub(super) fn quarantine_insert<'a, DB>(into: &str, chunk: &[Quarantined]) -> sqlx::QueryBuilder<'a, DB>
where
    DB: sqlx::Database,
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    Vec<u8>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let mut insert =
        sqlx::QueryBuilder::new(format!("{into} (received_at, transport, peer, source, reason, detail, original) "));
    insert.push_values(chunk, |mut row, item| {
        row.push_bind(item.received_at.to_string())
            .push_bind(item.transport.to_owned())
            .push_bind(item.peer.map(|ip| ip.to_string()))
            .push_bind(item.source.clone())
            .push_bind(item.reason.to_owned())
            .push_bind(item.detail.clone())
            .push_bind(item.original.clone());
    });
    insert
}
