//! The event store: kept apart from the systems it watches, tamper-evident, by event time.
//!
//! ```text
//! <root>/catalog.sqlite                          partitions, checkpoints, removals
//! <root>/partitions/2026-12-06/authentication.sqlite   one event day (UTC) of one category:
//!                                                      events (seq, hash, document, original, …)
//!                                                      and the chain's head
//! <checkpoint log> (elsewhere)                    every checkpoint again, one JSON line each
//! ```
//!
//! Events are appended in batches, one transaction per partition, each event chained to
//! the one before; `append` returns once they are durable (WAL, `synchronous = FULL`).
//! A partition is closed by a checkpoint signed with the platform's Ed25519 key, written
//! to the catalog and to the checkpoint log outside the store; a late event reopens the
//! chain and the next checkpoint signs it again. [`Store::verify`] recomputes every chain
//! against every anchor; [`Store::apply_retention`] removes whole partitions under the
//! RetentionPolicies and records each removal.

mod catalog;
mod checkpoint_log;
mod partition;
mod search;
mod verify;

use std::{
    collections::{BTreeMap, btree_map::Entry},
    path::{Path, PathBuf},
};

use jiff::{SignedDuration, Timestamp, tz::TimeZone};
use makonis_siem_core::{
    chain::{Checkpoint, End, SigningKey, hex},
    event::Event,
    retention::{Decision, Partition, Policy, SourceCategory, decide},
};

pub use catalog::{Quarantined, Removal};
pub use partition::PartitionKey;
pub use verify::{PartitionReport, Problem};

use self::{catalog::Catalog, partition::PartitionFile};

/// A connection to one of the store's SQLite files: WAL, and durable on commit
/// (`synchronous = FULL`), since an acknowledged event must survive a crash.
async fn connect(path: &Path, create: bool) -> Result<sqlx::SqliteConnection, StoreError> {
    use sqlx::{
        Connection as _,
        sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    };
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full);
    Ok(sqlx::SqliteConnection::connect_with(&options).await?)
}

/// Rows per multi-row INSERT: one statement per row costs a round trip to sqlx's SQLite
/// thread each, which dominated appending; 100 rows of at most 13 parameters stay far
/// below SQLite's limit of 32,766.
const ROWS_PER_INSERT: usize = 100;

/// Runs a schema's statements one by one. (`sqlx::raw_sql` would run them at once, but
/// its future trips the compiler's higher-ranked `Send` check inside spawned tasks,
/// rust-lang/rust#102211.)
async fn create_schema(connection: &mut sqlx::SqliteConnection, schema: &'static str) -> Result<(), StoreError> {
    for statement in schema.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::query(statement).execute(&mut *connection).await?;
    }
    Ok(())
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused or failed.
    #[error("store database: {0}")]
    Database(#[from] sqlx::Error),
    /// A file or directory could not be used.
    #[error("{path}: {source}", path = .0.display(), source = .1)]
    Io(PathBuf, #[source] std::io::Error),
    /// Stored data is not readable (a bug, or someone edited it).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    /// A partition's file ends elsewhere than this process wrote it: someone else wrote it.
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
            StoreError::NoKey => "no_key",
        }
    }
}

/// The store's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory of the catalog and the partitions.
    pub root: PathBuf,
    /// The file every checkpoint is appended to as well; keep it on other storage.
    pub checkpoint_log: PathBuf,
    /// Beyond this difference from the receive time, an event is kept by receive time.
    pub skew_limit: SignedDuration,
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
    config: Config,
    signer: Option<SigningKey>,
    catalog: Catalog,
    open: BTreeMap<PartitionKey, PartitionFile>,
    /// Where each partition this process appended to ends, as it wrote it: what it signs.
    written: BTreeMap<PartitionKey, End>,
    /// Partitions known to be in the catalog, and whether they have a checkpoint: read
    /// once per process, so that an append costs one transaction, not three.
    registered: BTreeMap<PartitionKey, bool>,
}

impl Store {
    /// Opens (or creates) the store; `signer` signs its checkpoints.
    pub async fn open(config: Config, signer: SigningKey) -> Result<Self, StoreError> {
        tokio::fs::create_dir_all(&config.root).await.map_err(|e| StoreError::Io(config.root.clone(), e))?;
        Self::with(config, Some(signer)).await
    }

    /// Opens an existing store to check it, without the private key: whatever needs a
    /// signature (appending to a closed partition, closing one) fails with
    /// [`StoreError::NoKey`].
    pub async fn open_read_only(config: Config) -> Result<Self, StoreError> {
        Self::with(config, None).await
    }

    async fn with(config: Config, signer: Option<SigningKey>) -> Result<Self, StoreError> {
        let catalog = Catalog::open(&config.root.join("catalog.sqlite")).await?;
        Ok(Self {
            config,
            signer,
            catalog,
            open: BTreeMap::new(),
            written: BTreeMap::new(),
            registered: BTreeMap::new(),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.config.root
    }

    /// The partition an event of a LogSource of `category` goes to: its retention time's
    /// day in UTC.
    pub fn partition_of(&self, event: &Event, category: SourceCategory) -> PartitionKey {
        let day = event.retention_time(self.config.skew_limit).to_zoned_datetime(TimeZone::UTC).date();
        PartitionKey { day, category }
    }

    /// Stores events durably, each with its LogSource's category, one transaction per
    /// partition. Each partition's events leave `batch` once committed, so that after an
    /// error `batch` holds exactly what is not stored yet and a retry stores nothing
    /// twice. A late event that lands in a partition already closed by a checkpoint is
    /// signed again at once, so that a closed partition never holds an event no
    /// checkpoint covers (if that signature fails, the next `checkpoint_closed` signs it).
    pub async fn append(&mut self, batch: &mut Vec<(Event, SourceCategory)>, now: Timestamp) -> Result<(), StoreError> {
        while let Some(key) = batch.first().map(|(event, category)| self.partition_of(event, *category)) {
            let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(batch)
                .into_iter()
                .partition(|(event, category)| self.partition_of(event, *category) == key);
            *batch = rest;
            if let Err(error) = self.append_partition(key, &mine, now).await {
                batch.extend(mine);
                return Err(error);
            }
        }
        Ok(())
    }

    /// Appends one partition's events; `Ok` once they are committed.
    async fn append_partition(
        &mut self,
        key: PartitionKey,
        events: &[(Event, SourceCategory)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let closed = match self.registered.get(&key) {
            Some(closed) => *closed,
            None => {
                self.catalog.register(key, now).await?;
                let closed = !self.catalog.checkpoints(&key.name()).await?.is_empty();
                self.registered.insert(key, closed);
                closed
            }
        };
        let skew = self.config.skew_limit;
        let events: Vec<&Event> = events.iter().map(|(event, _)| event).collect();
        let end = self.file(key, true).await?.append(&key.name(), &events, skew).await?;
        self.written.insert(key, end);
        if closed && let Err(error) = self.sign(key, end, now).await {
            tracing::error!(partition = %key.name(), %error, "signing a late event's partition failed; the next round of closing signs it");
        }
        Ok(())
    }

    /// Signs every partition whose day ended more than `lateness` ago and that changed
    /// since its last checkpoint: its end as this process wrote it. A file whose head is
    /// not where this process left it was written by someone else: it is not signed, and
    /// is named among the refusals; the other partitions are signed all the same. (After a
    /// restart, what the file holds is signed.)
    pub async fn checkpoint_closed(&mut self, now: Timestamp, lateness: SignedDuration) -> Result<Closed, StoreError> {
        let today = (now - lateness).to_zoned_datetime(TimeZone::UTC).date();
        let mut closed = Closed::default();
        let all = self.catalog.partitions(jiff::civil::Date::MIN, today).await?;
        for key in all.into_iter().filter(|k| k.day < today) {
            match self.close(key, now).await {
                Ok(Some(checkpoint)) => closed.signed.push(checkpoint),
                Ok(None) => {}
                Err(error) => closed.refused.push(error),
            }
        }
        Ok(closed)
    }

    /// Signs one past partition if it changed since its last checkpoint.
    async fn close(&mut self, key: PartitionKey, now: Timestamp) -> Result<Option<Checkpoint>, StoreError> {
        let end = self.file(key, false).await?.head(&key.name()).await?;
        if let Some(written) = self.written.get(&key)
            && *written != end
        {
            return Err(StoreError::HeadMoved {
                partition: key.name(),
                written: written.last_seq,
                found: end.last_seq,
            });
        }
        let last = self.catalog.checkpoints(&key.name()).await?.last().map(|c| c.end);
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
        checkpoint_log::append(&self.config.checkpoint_log, &checkpoint).await?;
        self.catalog.add_checkpoint(&checkpoint).await?;
        self.registered.insert(key, true);
        Ok(checkpoint)
    }

    /// Removes every partition the policies allow to remove, recording each removal
    /// before its file is deleted.
    pub async fn apply_retention(&mut self, policies: &[Policy], now: Timestamp) -> Result<Vec<Removal>, StoreError> {
        let mut removed = Vec::new();
        for key in self.catalog.partitions(jiff::civil::Date::MIN, jiff::civil::Date::MAX).await? {
            let file = self.file(key, false).await?;
            let (sources, agencies) = file.owners().await?;
            let partition = Partition {
                day: key.day,
                category: key.category,
                sources: sources.into_iter().collect(),
                agencies: agencies.into_iter().collect(),
            };
            let Decision::Remove { policy, months } = decide(&partition, policies, now) else {
                continue;
            };
            let end = file.head(&key.name()).await?;
            let last_checkpoint = self
                .catalog
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
            self.catalog.record_removal(&removal).await?;
            if let Some(file) = self.open.remove(&key) {
                file.close().await?;
            }
            self.registered.remove(&key);
            self.written.remove(&key);
            let path = key.path(&self.config.root);
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                match tokio::fs::remove_file(&file).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::Io(file, e)),
                }
            }
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
        self.catalog.quarantine(items).await
    }

    /// The newest quarantined items, as `(source, reason, detail, original)`.
    pub async fn quarantined(&mut self, limit: i64) -> Result<Vec<(String, String, String, Vec<u8>)>, StoreError> {
        self.catalog.quarantined(limit).await
    }

    /// The newest documents of a partition, newest first (none if it does not exist).
    pub async fn documents(&mut self, key: PartitionKey, limit: i64) -> Result<Vec<String>, StoreError> {
        if !tokio::fs::try_exists(key.path(&self.config.root)).await.unwrap_or(false) {
            return Ok(Vec::new());
        }
        self.file(key, false).await?.documents(limit).await
    }

    /// The source and original bytes of every event received since `since`, from the
    /// partitions of its day (UTC) on.
    pub async fn received_since(&mut self, since: Timestamp) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let first = since.to_zoned_datetime(TimeZone::UTC).date();
        let mut received = Vec::new();
        for key in self.catalog.partitions(first, jiff::civil::Date::MAX).await? {
            received.extend(self.file(key, false).await?.received_since(since).await?);
        }
        Ok(received)
    }

    /// Every removal recorded.
    pub async fn removals(&mut self) -> Result<Vec<Removal>, StoreError> {
        self.catalog.removals().await
    }

    /// The open partition file, opened (and created when `create`) on first use.
    async fn file(&mut self, key: PartitionKey, create: bool) -> Result<&mut PartitionFile, StoreError> {
        let path = key.path(&self.config.root);
        match self.open.entry(key) {
            Entry::Occupied(open) => Ok(open.into_mut()),
            Entry::Vacant(slot) => Ok(slot.insert(PartitionFile::open(&path, create).await?)),
        }
    }
}
