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

mod block_rows;
mod catalog;
mod convert;
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
        sqlite::{SqliteConnectOptions, SqliteSynchronous},
    };
    let options =
        SqliteConnectOptions::new().filename(path).create_if_missing(create).synchronous(SqliteSynchronous::Full);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
    write_ahead_log(&mut connection).await?;
    Ok(connection)
}

/// How long switching a file to WAL is tried while another connection holds a lock.
const WAL_SWITCH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Puts the file in WAL mode (a no-op once it is). Switching a new file takes a lock that
/// SQLite's busy timeout does not wait for, so two writers opening the same new partition
/// at once would see "database is locked": the switch is tried again for a while instead.
async fn write_ahead_log(connection: &mut sqlx::SqliteConnection) -> Result<(), StoreError> {
    let deadline = std::time::Instant::now() + WAL_SWITCH_WAIT;
    loop {
        let refused =
            match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL").fetch_one(&mut *connection).await {
                Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
                // SQLite answers with the mode the file stays in when it cannot switch.
                Ok(mode) => StoreError::Journal(mode),
                Err(error) if is_busy(&error) => error.into(),
                Err(error) => return Err(error.into()),
            };
        if std::time::Instant::now() >= deadline {
            return Err(refused);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Whether SQLite said the database is locked (`SQLITE_BUSY` or one of its extended codes).
fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    error
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
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
    /// The partition files open, each with when it was last used (a count of uses).
    open: BTreeMap<PartitionKey, (PartitionFile, u64)>,
    /// Uses so far: the clock of `open`.
    uses: u64,
}

/// Partition files kept open at once. Closing a round of past days touches every
/// partition, and each open file holds three descriptors (the file, its WAL, its shared
/// memory): 18 months of six categories would hold about 10,000. The least recently used
/// is closed when another is needed.
const OPEN_FILES: usize = 64;

impl Sqlite {
    /// Opens the catalog under `root`, creating the directory when `create`.
    pub(super) async fn open(root: PathBuf, create: bool) -> Result<Self, StoreError> {
        if create {
            tokio::fs::create_dir_all(&root).await.map_err(|e| StoreError::Io(root.clone(), e))?;
        }
        let catalog = Catalog::open(&root.join("catalog.sqlite")).await?;
        Ok(Self { root, catalog, open: BTreeMap::new(), uses: 0 })
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
        if let Some((file, _)) = self.open.remove(&key) {
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

    /// The open partition file, opened (and created when `create`) on first use; the
    /// least recently used is closed first when [`OPEN_FILES`] are open.
    async fn file(&mut self, key: PartitionKey, create: bool) -> Result<&mut PartitionFile, StoreError> {
        self.uses += 1;
        if !self.open.contains_key(&key) && self.open.len() >= OPEN_FILES {
            let oldest = self.open.iter().min_by_key(|(_, (_, used))| *used).map(|(key, _)| *key);
            if let Some((file, _)) = oldest.and_then(|oldest| self.open.remove(&oldest)) {
                file.close().await?;
            }
        }
        let path = key.path(&self.root);
        let (file, used) = match self.open.entry(key) {
            Entry::Occupied(open) => open.into_mut(),
            Entry::Vacant(slot) => slot.insert((PartitionFile::open(&path, create).await?, 0)),
        };
        *used = self.uses;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::connect;

    /// Two connections opening the same new file at once (two writers' first events of a
    /// day) both get it in WAL mode: without waiting for the switch, a few in a hundred
    /// failed with "database is locked" here.
    #[tokio::test]
    async fn connections_opening_one_new_file_at_once_both_get_it() {
        let dir = std::env::temp_dir().join(format!("makonis-siem-wal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for round in 0..300 {
            let path = dir.join(format!("{round}.sqlite"));
            let (one, two) = tokio::join!(
                tokio::spawn({
                    let path = path.clone();
                    async move { connect(&path, true).await.map(drop) }
                }),
                tokio::spawn({
                    let path = path.clone();
                    async move { connect(&path, true).await.map(drop) }
                }),
            );
            for opened in [one.unwrap(), two.unwrap()] {
                opened.unwrap_or_else(|e| panic!("round {round}: {e}"));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
