//! The embedded backend: a catalog file and one SQLite file per partition.
//!
//! ```text
//! <root>/catalog.sqlite                                partitions, checkpoints, quarantine, removals
//! <root>/partitions/2026-12-06/authentication.sqlite   one event day (UTC) of one category:
//!                                                      its events in blocks, each block's
//!                                                      terms, and the chain's head
//! ```
//!
//! Every file is in WAL mode and durable on commit (`synchronous = FULL`); WAL lets the
//! search API read while the writer appends.

mod catalog;
mod partition;

use std::{
    collections::{BTreeMap, btree_map::Entry},
    path::{Path, PathBuf},
};

use jiff::SignedDuration;
use makonis_siem_core::{block::TermKind, chain::End, event::Event, search::BlockTerms};

pub(super) use self::catalog::Catalog;
use self::partition::PartitionFile;
use super::{PartitionKey, StoreError, blocks::BlockMeta};

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

/// Runs a schema's statements one by one. (`sqlx::raw_sql` would run them at once, but
/// its future trips the compiler's higher-ranked `Send` check inside spawned tasks,
/// rust-lang/rust#102211.)
async fn create_schema(connection: &mut sqlx::SqliteConnection, schema: &'static str) -> Result<(), StoreError> {
    for statement in schema.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        sqlx::query(statement).execute(&mut *connection).await?;
    }
    Ok(())
}

/// The SQLite store under one directory.
#[derive(Debug)]
pub(super) struct Sqlite {
    root: PathBuf,
    pub(super) catalog: Catalog,
    open: BTreeMap<PartitionKey, PartitionFile>,
}

impl Sqlite {
    /// Opens the catalog under `root`, creating the directory when `create`.
    pub(super) async fn open(root: PathBuf, create: bool) -> Result<Self, StoreError> {
        if create {
            tokio::fs::create_dir_all(&root).await.map_err(|e| StoreError::Io(root.clone(), e))?;
        }
        let catalog = Catalog::open(&root.join("catalog.sqlite")).await?;
        Ok(Self { root, catalog, open: BTreeMap::new() })
    }

    /// Appends events to a partition, creating its file on first use.
    pub(super) async fn append(
        &mut self,
        key: PartitionKey,
        events: &[&Event],
        skew_limit: SignedDuration,
    ) -> Result<End, StoreError> {
        self.file(key, true).await?.append(&key.name(), events, skew_limit).await
    }

    pub(super) async fn head(&mut self, key: PartitionKey) -> Result<End, StoreError> {
        self.file(key, false).await?.head(&key.name()).await
    }

    pub(super) async fn exists(&mut self, key: PartitionKey) -> Result<bool, StoreError> {
        Ok(tokio::fs::try_exists(key.path(&self.root)).await.unwrap_or(false))
    }

    pub(super) async fn blocks_after(
        &mut self,
        key: PartitionKey,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        self.file(key, false).await?.blocks_after(after, limit).await
    }

    pub(super) async fn block_metas(
        &mut self,
        key: PartitionKey,
        terms: &BlockTerms,
    ) -> Result<Vec<BlockMeta>, StoreError> {
        self.file(key, false).await?.block_metas(terms).await
    }

    pub(super) async fn bodies(
        &mut self,
        key: PartitionKey,
        first_seqs: &[i64],
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        self.file(key, false).await?.bodies(first_seqs).await
    }

    pub(super) async fn term_values(&mut self, key: PartitionKey, kind: TermKind) -> Result<Vec<String>, StoreError> {
        self.file(key, false).await?.term_values(kind).await
    }

    /// Deletes a partition's file (and its WAL).
    pub(super) async fn drop_partition(&mut self, key: PartitionKey) -> Result<(), StoreError> {
        if let Some(file) = self.open.remove(&key) {
            file.close().await?;
        }
        let path = key.path(&self.root);
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            match tokio::fs::remove_file(&file).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Io(file, e)),
            }
        }
        Ok(())
    }

    /// The open partition file, opened (and created when `create`) on first use.
    async fn file(&mut self, key: PartitionKey, create: bool) -> Result<&mut PartitionFile, StoreError> {
        let path = key.path(&self.root);
        match self.open.entry(key) {
            Entry::Occupied(open) => Ok(open.into_mut()),
            Entry::Vacant(slot) => Ok(slot.insert(PartitionFile::open(&path, create).await?)),
        }
    }
}
