//! The event store: kept apart from the systems it watches, tamper-evident, by event time.
//!
//! The events are in SQLite files under a directory (embedded, the default) or in a
//! PostgreSQL database (production); either way, one partition per event day (UTC) and
//! category, each a hash chain with its head, beside a catalog of partitions, checkpoints,
//! quarantine and removals:
//!
//! ```text
//! SQLite      <root>/catalog.sqlite, <root>/partitions/2026-12-06/authentication.sqlite
//! PostgreSQL  schema siem: catalog tables, and table blocks partitioned by list into
//!             blocks_20261206_authentication, …
//! <checkpoint log> (elsewhere)   every checkpoint again, one JSON line each
//! ```
//!
//! Events are appended in batches, one transaction per partition, each event chained to
//! the one before; `append` returns once they are committed and durable. A partition
//! keeps its events in compressed blocks of consecutive places, each with the terms a
//! search finds it by (see `makonis_siem_core::block`). A partition is
//! closed by a checkpoint signed with the platform's Ed25519 key, written to the catalog
//! and to the checkpoint log outside the store; a late event reopens the chain and the
//! next checkpoint signs it again. [`Store::verify`] recomputes every chain against every
//! anchor; [`Store::apply_retention`] removes whole partitions under the
//! RetentionPolicies and records each removal.

mod alert_catalog;
mod backend;
mod blocks;
mod checkpoint_log;
mod detection;
mod postgres;
mod records;
mod row_format;
mod rows;
mod search;
mod sqlite;
mod verify;

use std::{collections::BTreeMap, ops::ControlFlow, path::PathBuf};

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use makonis_siem_core::{
    block::TermKind,
    chain::{Checkpoint, End, SigningKey, hex},
    event::Event,
    retention::{Decision, Partition, Policy, SourceCategory, decide},
    search::BlockTerms,
};

pub use detection::{ALERT_EVENTS_KEPT, AlertFold, AlertRecord, StoredAlert, merge_events};
pub use records::{PartitionKey, Quarantined, Removal};
pub use verify::{PartitionReport, Problem};

use self::{backend::Db, blocks::events_of, postgres::Postgres, sqlite::Sqlite};

/// Terms every block has: no condition.
const ALL_BLOCKS: BlockTerms = BlockTerms { all: Vec::new(), any: None };

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed.
    #[error("store database: {0}")]
    Database(#[from] sqlx::Error),
    /// A file or directory could not be used.
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(PathBuf, #[source] std::io::Error),
    /// Stored data is not readable (a bug, or someone edited it).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// A partition ends elsewhere than this process wrote it: someone else wrote it.
    #[error(
        "partition {partition} ends at event {found}, but this SIEM wrote it up to event {written}: it was written by someone else and is not signed"
    )]
    HeadMoved {
        /// The partition.
        partition: String,
        /// The last event this process wrote.
        written: u64,
        /// The last event the file's head names.
        found: u64,
    },
    /// A block could not be encoded (a bug: encoding events cannot fail otherwise).
    #[error("a block of events could not be encoded: {0}")]
    Encode(#[source] makonis_siem_core::block::BlockError),
    /// SQLite keeps a file in another journal mode than WAL, which the store needs.
    #[error(
        "SQLite keeps a store file in journal mode {0}, not WAL: keep the store on a local filesystem that supports shared memory (not a network one)"
    )]
    Journal(String),
    /// A checkpoint was to be signed by a store opened without the key.
    #[error("the store was opened without the checkpoint key, so it cannot sign")]
    NoKey,
}

impl StoreError {
    /// A bounded name for metric labels.
    pub fn category(&self) -> &'static str {
        match self {
            StoreError::Database(_) => "database",
            StoreError::Io(..) => "io",
            StoreError::Corrupt(_) => "corrupt",
            StoreError::HeadMoved { .. } => "head_moved",
            StoreError::Encode(_) => "encode",
            StoreError::NoKey => "no_key",
            StoreError::Journal(_) => "journal",
        }
    }
}

/// The settings of a store in SQLite files under a directory.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory of the catalog and the partitions.
    pub root: PathBuf,
    /// The file every checkpoint is appended to as well; keep it on other storage.
    pub checkpoint_log: PathBuf,
    /// Beyond this difference from the receive time, an event is kept by receive time.
    pub skew_limit: SignedDuration,
}

/// The settings of a store in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `postgres://ROLE@HOST:PORT/DATABASE`; the store's tables are in its schema `siem`.
    pub url: String,
    /// The file every checkpoint is appended to as well; keep it on other storage.
    pub checkpoint_log: PathBuf,
    /// Beyond this difference from the receive time, an event is kept by receive time.
    pub skew_limit: SignedDuration,
}

/// Which database keeps the events, and how to reach it.
#[derive(Debug, Clone)]
pub enum Backend {
    /// SQLite files under a directory: embedded, the default.
    Sqlite(Config),
    /// A PostgreSQL database: production.
    Postgres(PostgresConfig),
}

impl std::fmt::Display for Backend {
    /// The directory, or the database's host, port and name: never its credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite(config) => write!(f, "{}", config.root.display()),
            Backend::Postgres(config) => match config.url.parse::<sqlx::postgres::PgConnectOptions>() {
                Ok(options) => write!(
                    f,
                    "postgres://{}:{}/{}",
                    options.get_host(),
                    options.get_port(),
                    options.get_database().unwrap_or_default()
                ),
                Err(_) => f.write_str("a PostgreSQL database"),
            },
        }
    }
}

impl From<Config> for Backend {
    fn from(config: Config) -> Self {
        Backend::Sqlite(config)
    }
}

impl From<PostgresConfig> for Backend {
    fn from(config: PostgresConfig) -> Self {
        Backend::Postgres(config)
    }
}

/// One partition's events as appended: they hold the places up to `last_seq`, in order.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The partition.
    pub key: PartitionKey,
    /// The place of its last event.
    pub last_seq: u64,
    /// The events, in place order.
    pub events: Vec<Event>,
}

impl Appended {
    /// The place of the first event.
    pub fn first_seq(&self) -> u64 {
        self.last_seq + 1 - self.events.len() as u64
    }
}

/// What a round of closing past partitions did.
#[derive(Debug, Default)]
pub struct Closed {
    /// The checkpoints signed.
    pub signed: Vec<Checkpoint>,
    /// The partitions that could not be signed, and why.
    pub refused: Vec<StoreError>,
}

/// The event store.
#[derive(Debug)]
pub struct Store {
    db: Db,
    checkpoint_log: PathBuf,
    skew_limit: SignedDuration,
    signer: Option<SigningKey>,
    /// Where each partition this process appended to ends, as it wrote it: what it signs.
    written: BTreeMap<PartitionKey, End>,
    /// Partitions known to be in the catalog, and whether they have a checkpoint: read
    /// once per process, so that an append costs one transaction, not three.
    registered: BTreeMap<PartitionKey, bool>,
    /// Where each open partition was last signed with an interim checkpoint, by this
    /// process.
    interim: BTreeMap<PartitionKey, End>,
}

impl Store {
    /// Opens (or creates) the store; `signer` signs its checkpoints.
    pub async fn open(config: impl Into<Backend>, signer: SigningKey) -> Result<Self, StoreError> {
        Self::with(config.into(), Some(signer)).await
    }

    /// Opens an existing store to check it, without the private key: whatever needs a
    /// signature (appending to a closed partition, closing one) fails with
    /// [`StoreError::NoKey`].
    pub async fn open_read_only(config: impl Into<Backend>) -> Result<Self, StoreError> {
        Self::with(config.into(), None).await
    }

    /// Opens an existing store for the detection engine and for alert triage: they read
    /// partitions and write only the alerts' records (positions, alerts, their handling);
    /// nothing they do needs the key.
    pub async fn open_for_alerts(config: impl Into<Backend>) -> Result<Self, StoreError> {
        Self::with(config.into(), None).await
    }

    async fn with(backend: Backend, signer: Option<SigningKey>) -> Result<Self, StoreError> {
        let writes = signer.is_some();
        let (db, checkpoint_log, skew_limit) = match backend {
            Backend::Sqlite(config) => {
                (Db::Sqlite(Sqlite::open(config.root, writes).await?), config.checkpoint_log, config.skew_limit)
            }
            Backend::Postgres(config) => {
                (Db::Postgres(Postgres::open(&config.url, writes).await?), config.checkpoint_log, config.skew_limit)
            }
        };
        Ok(Self {
            db,
            checkpoint_log,
            skew_limit,
            signer,
            written: BTreeMap::new(),
            registered: BTreeMap::new(),
            interim: BTreeMap::new(),
        })
    }

    /// The partition an event of a LogSource of `category` goes to: its retention time's
    /// day in UTC.
    pub fn partition_of(&self, event: &Event, category: SourceCategory) -> PartitionKey {
        let day = event.retention_time(self.skew_limit).to_zoned_datetime(TimeZone::UTC).date();
        PartitionKey { day, category }
    }

    /// Stores events durably, each with its LogSource's category, one transaction per
    /// partition. Each partition's events leave `batch` once committed, so that after an
    /// error `batch` holds exactly what is not stored yet and a retry stores nothing
    /// twice. A late event that lands in a partition already closed by a checkpoint is
    /// signed again at once, so that a closed partition never holds an event no
    /// checkpoint covers (if that signature fails, the next `checkpoint_closed` signs it).
    ///
    /// Returns where each partition's new events went, in the order appended, so that a
    /// caller can tell every event's place: a partition's events keep their order in the
    /// batch.
    pub async fn append(
        &mut self,
        batch: &mut Vec<(Event, SourceCategory)>,
        now: Timestamp,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut appended = Vec::new();
        self.append_into(batch, now, &mut appended).await?;
        Ok(appended)
    }

    /// [`Store::append`], adding each partition's events to `appended` as it is committed:
    /// after an error, `appended` holds what was committed before it and `batch` the rest.
    pub async fn append_into(
        &mut self,
        batch: &mut Vec<(Event, SourceCategory)>,
        now: Timestamp,
        appended: &mut Vec<Appended>,
    ) -> Result<(), StoreError> {
        while let Some(key) = batch.first().map(|(event, category)| self.partition_of(event, *category)) {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(batch)
                .into_iter()
                .partition(|(event, category)| self.partition_of(event, *category) == key);
            *batch = rest;
            match self.append_partition(key, &mine, now).await {
                Ok(last_seq) => {
                    appended.push(Appended { key, last_seq, events: mine.into_iter().map(|(e, _)| e).collect() })
                }
                Err(error) => {
                    batch.extend(mine);
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Appends one partition's events; the place of the last, once they are committed.
    async fn append_partition(
        &mut self,
        key: PartitionKey,
        events: &[(Event, SourceCategory)],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let closed = match self.registered.get(&key) {
            Some(closed) => *closed,
            None => {
                self.db.register(key, now).await?;
                let closed = !self.db.checkpoints(&key.name()).await?.is_empty();
                self.registered.insert(key, closed);
                closed
            }
        };
        let skew = self.skew_limit;
        let events: Vec<&Event> = events.iter().map(|(event, _)| event).collect();
        let end = self.db.append(key, &events, skew).await?;
        self.written.insert(key, end);
        if closed && let Err(error) = self.sign(key, end, now).await {
            tracing::error!(partition = %key.name(), %error, "signing a late event's partition failed; the next round of closing signs it");
        }
        Ok(end.last_seq)
    }

    /// Signs every partition whose day ended more than `lateness` ago and that changed
    /// since its last checkpoint: its end as this process wrote it. A partition whose head
    /// is not where this process left it was written by someone else: it is not signed, and
    /// is named among the refusals; the other partitions are signed all the same. (After a
    /// restart, what the partition holds is signed.)
    pub async fn checkpoint_closed(&mut self, now: Timestamp, lateness: SignedDuration) -> Result<Closed, StoreError> {
        let today = (now - lateness).to_zoned_datetime(TimeZone::UTC).date();
        let mut closed = Closed::default();
        let all = self.db.partitions(jiff::civil::Date::MIN, today).await?;
        for key in all.into_iter().filter(|k| k.day < today) {
            match self.close(key, now).await {
                Ok(Some(checkpoint)) => closed.signed.push(checkpoint),
                Ok(None) => {}
                Err(error) => closed.refused.push(error),
            }
        }
        Ok(closed)
    }

    /// Signs every open partition (of today, or a past day not closed yet) that changed
    /// since this process last signed it, with an interim checkpoint written to the
    /// checkpoint log: the chain must pass through it, and may go on. Events stored
    /// behind the SIEM's back are then signed by nobody for at most the interval between
    /// two rounds. Refusals as in [`Store::checkpoint_closed`].
    pub async fn checkpoint_open(&mut self, now: Timestamp, lateness: SignedDuration) -> Result<Closed, StoreError> {
        let today = (now - lateness).to_zoned_datetime(TimeZone::UTC).date();
        let mut signed = Closed::default();
        for key in self.db.partitions(today, jiff::civil::Date::MAX).await? {
            let end = match self.end_as_written(key).await {
                Ok(end) => end,
                Err(error) => {
                    signed.refused.push(error);
                    continue;
                }
            };
            if end.last_seq == 0 || self.interim.get(&key) == Some(&end) {
                continue;
            }
            let checkpoint =
                self.signer.as_ref().ok_or(StoreError::NoKey)?.interim(&key.name(), end.last_seq, end, now);
            checkpoint_log::append(&self.checkpoint_log, &checkpoint).await?;
            self.interim.insert(key, end);
            signed.signed.push(checkpoint);
        }
        Ok(signed)
    }

    /// Where a partition ends, if that is where this process left it (or it wrote nothing
    /// there); [`StoreError::HeadMoved`] if someone else wrote it.
    async fn end_as_written(&mut self, key: PartitionKey) -> Result<End, StoreError> {
        let end = self.db.head(key).await?;
        match self.written.get(&key) {
            Some(written) if *written != end => {
                Err(StoreError::HeadMoved { partition: key.name(), written: written.last_seq, found: end.last_seq })
            }
            _ => Ok(end),
        }
    }

    /// Signs one past partition if it changed since its last checkpoint.
    async fn close(&mut self, key: PartitionKey, now: Timestamp) -> Result<Option<Checkpoint>, StoreError> {
        let end = self.end_as_written(key).await?;
        let last = self.db.checkpoints(&key.name()).await?.last().map(|c| c.end);
        if end.last_seq == 0 || last == Some(end) {
            return Ok(None);
        }
        self.sign(key, end, now).await.map(Some)
    }

    /// Signs a partition's end and records the checkpoint in the checkpoint log, then in
    /// the catalog.
    async fn sign(&mut self, key: PartitionKey, end: End, now: Timestamp) -> Result<Checkpoint, StoreError> {
        let signer = self.signer.as_ref().ok_or(StoreError::NoKey)?;
        let checkpoint = signer.checkpoint(&key.name(), end.last_seq, end, now);
        checkpoint_log::append(&self.checkpoint_log, &checkpoint).await?;
        self.db.add_checkpoint(&checkpoint).await?;
        self.registered.insert(key, true);
        Ok(checkpoint)
    }

    /// Removes every partition the policies allow to remove, recording each removal
    /// before its events are deleted (its file, or its table dropped).
    pub async fn apply_retention(&mut self, policies: &[Policy], now: Timestamp) -> Result<Vec<Removal>, StoreError> {
        let mut removed = Vec::new();
        for key in self.db.partitions(jiff::civil::Date::MIN, jiff::civil::Date::MAX).await? {
            let sources = self.db.term_values(key, TermKind::Source).await?;
            let agencies = self.db.term_values(key, TermKind::Agency).await?;
            let partition = Partition {
                day: key.day,
                category: key.category,
                sources: sources.into_iter().collect(),
                agencies: agencies.into_iter().collect(),
            };
            let Decision::Remove { policy, months } = decide(&partition, policies, now) else {
                continue;
            };
            let end = self.db.head(key).await?;
            let last_checkpoint = self
                .db
                .checkpoints(&key.name())
                .await?
                .last()
                .map(|c| format!("{}:{}", c.end.last_seq, hex(&c.end.head)));
            let removal = Removal {
                partition: key.name(),
                removed_at: now,
                events: end.last_seq,
                last_checkpoint,
                policy,
                months,
            };
            self.db.record_removal(&removal).await?;
            self.registered.remove(&key);
            self.written.remove(&key);
            self.interim.remove(&key);
            self.db.drop_partition(key).await?;
            tracing::info!(partition = %removal.partition, events = removal.events, policy = %removal.policy, "partition removed by retention");
            removed.push(removal);
        }
        Ok(removed)
    }

    /// Keeps frames and records that could not be stored as events, durably.
    pub async fn quarantine(&mut self, items: &[Quarantined]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        self.db.quarantine(items).await
    }

    /// The newest quarantined items, as `(source, reason, detail, original)`.
    pub async fn quarantined(&mut self, limit: i64) -> Result<Vec<(String, String, String, Vec<u8>)>, StoreError> {
        self.db.quarantined(limit).await
    }

    /// The newest documents of a partition, newest first (none if it does not exist).
    pub async fn documents(&mut self, key: PartitionKey, limit: i64) -> Result<Vec<String>, StoreError> {
        if !self.db.exists(key).await? {
            return Ok(Vec::new());
        }
        let name = key.name();
        let wanted = usize::try_from(limit).unwrap_or(0);
        let mut blocks = self.db.block_metas(key, &ALL_BLOCKS).await?;
        blocks.sort_by_key(|block| std::cmp::Reverse(block.first_seq));
        let mut documents = Vec::new();
        self.visit_blocks(key, &blocks, |block, body| {
            if documents.len() >= wanted {
                return Ok(ControlFlow::Break(()));
            }
            documents.extend(events_of(&name, block.first_seq, body)?.into_iter().rev().map(|e| e.document));
            Ok(ControlFlow::Continue(()))
        })
        .await?;
        documents.truncate(wanted);
        Ok(documents)
    }

    /// The source and original bytes of every event received since `since`, from the
    /// partitions of its day (UTC) on.
    pub async fn received_since(&mut self, since: Timestamp) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let first = since.to_zoned_datetime(TimeZone::UTC).date();
        let since = since.as_microsecond();
        let mut received = Vec::new();
        for key in self.db.partitions(first, jiff::civil::Date::MAX).await? {
            let name = key.name();
            let mut blocks = self.db.block_metas(key, &ALL_BLOCKS).await?;
            blocks.retain(|block| block.max_created >= since);
            self.visit_blocks(key, &blocks, |block, body| {
                let events = events_of(&name, block.first_seq, body)?;
                received.extend(events.into_iter().filter(|e| e.created >= since).map(|e| (e.source, e.original)));
                Ok(ControlFlow::Continue(()))
            })
            .await?;
        }
        Ok(received)
    }

    /// Every removal recorded.
    pub async fn removals(&mut self) -> Result<Vec<Removal>, StoreError> {
        self.db.removals().await
    }
}
