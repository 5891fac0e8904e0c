//! One partition: an SQLite file holding one event day (UTC) of one category, as a hash
//! chain. Its path comes from the day and the category only, never from anything a
//! sender wrote.

use std::path::{Path, PathBuf};

use jiff::{SignedDuration, civil::Date};
use makonis_siem_core::{
    chain::{End, Hash, Stored, genesis, link},
    event::Event,
    retention::{SourceCategory, partition_name},
};
use sqlx::{Connection as _, QueryBuilder, Row, Sqlite, SqliteConnection};

use super::StoreError;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    time INTEGER NOT NULL, -- the time it is kept and searched by (Event::retention_time), µs

    created INTEGER NOT NULL,
    source TEXT NOT NULL,
    agency TEXT,
    user_name TEXT,
    source_ip TEXT,
    action TEXT,
    outcome TEXT NOT NULL,
    mandatory INTEGER NOT NULL,
    document TEXT NOT NULL,
    original BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE INDEX IF NOT EXISTS events_user ON events (user_name, time);
CREATE INDEX IF NOT EXISTS events_source_ip ON events (source_ip, time);
";

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

    /// The file under the store's root: `partitions/YYYY-MM-DD/category.sqlite`.
    pub fn path(&self, root: &Path) -> PathBuf {
        root.join("partitions").join(self.day.to_string()).join(format!("{}.sqlite", self.category.as_str()))
    }
}

/// An open partition file.
#[derive(Debug)]
pub(super) struct PartitionFile {
    connection: SqliteConnection,
}

impl PartitionFile {
    /// Opens the file, creating it (and its schema) when `create`.
    pub(super) async fn open(path: &Path, create: bool) -> Result<Self, StoreError> {
        if create && let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| StoreError::Io(dir.to_path_buf(), e))?;
        }
        let mut connection = super::connect(path, create).await?;
        if create {
            super::create_schema(&mut connection, SCHEMA).await?;
        }
        Ok(Self { connection })
    }

    /// Appends events as one transaction, each linked to the one before; durable when
    /// this returns.
    pub(super) async fn append(
        &mut self,
        name: &str,
        events: &[&Event],
        skew_limit: SignedDuration,
    ) -> Result<End, StoreError> {
        // IMMEDIATE: the write lock is taken before the head is read.
        sqlx::query("BEGIN IMMEDIATE").execute(&mut self.connection).await?;
        let appended = match self.append_rows(name, events, skew_limit).await {
            Ok(end) => sqlx::query("COMMIT").execute(&mut self.connection).await.map(|_| end).map_err(StoreError::from),
            Err(error) => Err(error),
        };
        match appended {
            Ok(end) => Ok(end),
            Err(error) => {
                if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut self.connection).await {
                    tracing::warn!(%rollback, "rolling back a failed append failed");
                }
                Err(error)
            }
        }
    }

    async fn append_rows(
        &mut self,
        name: &str,
        events: &[&Event],
        skew_limit: SignedDuration,
    ) -> Result<End, StoreError> {
        let connection = &mut self.connection;
        sqlx::query("INSERT OR IGNORE INTO head (id, seq, hash) VALUES (1, 0, $1)")
            .bind(genesis(name).to_vec())
            .execute(&mut *connection)
            .await?;
        let head = sqlx::query("SELECT seq, hash FROM head WHERE id = 1").fetch_one(&mut *connection).await?;
        let mut seq = u64::try_from(head.get::<i64, _>(0)).map_err(|_| StoreError::Corrupt("negative head".into()))?;
        let mut previous = hash_of(head.get::<Vec<u8>, _>(1))?;
        // The chain first, then the rows in multi-row INSERTs (see ROWS_PER_INSERT).
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            seq += 1;
            let document = event.document(skew_limit);
            let hash = link(&previous, seq, document.as_bytes(), &event.original);
            rows.push((seq, *event, document, hash));
            previous = hash;
        }
        for chunk in rows.chunks(super::ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (seq, time, created, source, agency, user_name, source_ip, action, outcome, \
                 mandatory, document, original, hash) ",
            );
            insert.push_values(chunk, |mut row, (seq, event, document, hash)| {
                row.push_bind(*seq as i64)
                    .push_bind(event.retention_time(skew_limit).as_microsecond())
                    .push_bind(event.created.as_microsecond())
                    .push_bind(&event.source)
                    .push_bind(&event.agency)
                    .push_bind(&event.user_name)
                    .push_bind(event.source_ip.map(|ip| ip.to_string()))
                    .push_bind(&event.action)
                    .push_bind(event.outcome.as_str())
                    .push_bind(i64::from(event.mandatory().bits()))
                    .push_bind(document)
                    .push_bind(&event.original)
                    .push_bind(hash.to_vec());
            });
            insert.build().execute(&mut *connection).await?;
        }
        sqlx::query("UPDATE head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq as i64)
            .bind(previous.to_vec())
            .execute(&mut *connection)
            .await?;
        Ok(End { last_seq: seq, head: previous })
    }

    /// The store's own record of where the chain ends (the genesis for an empty one).
    pub(super) async fn head(&mut self, name: &str) -> Result<End, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM head WHERE id = 1").fetch_optional(&mut self.connection).await?;
        match row {
            Some(row) => Ok(End {
                last_seq: u64::try_from(row.get::<i64, _>(0))
                    .map_err(|_| StoreError::Corrupt("negative head".into()))?,
                head: hash_of(row.get::<Vec<u8>, _>(1))?,
            }),
            None => Ok(End { last_seq: 0, head: genesis(name) }),
        }
    }

    /// The events in `seq` order, `batch` at a time, handed to `each`.
    pub(super) async fn scan(
        &mut self,
        batch: i64,
        mut each: impl FnMut(Stored) -> Result<(), makonis_siem_core::chain::Break>,
    ) -> Result<Result<(), makonis_siem_core::chain::Break>, StoreError> {
        let mut after = i64::MIN;
        loop {
            let rows =
                sqlx::query("SELECT seq, document, original, hash FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                    .bind(after)
                    .bind(batch)
                    .fetch_all(&mut self.connection)
                    .await?;
            if rows.is_empty() {
                return Ok(Ok(()));
            }
            for row in &rows {
                let seq: i64 = row.get(0);
                after = seq;
                let stored = Stored {
                    // A negative place (an inserted row) is reported as inserted at 0.
                    seq: u64::try_from(seq).unwrap_or(0),
                    document: row.get::<String, _>(1).into_bytes(),
                    original: row.get(2),
                    hash: hash_of(row.get::<Vec<u8>, _>(3)).unwrap_or([0; 32]),
                };
                if let Err(broken) = each(stored) {
                    return Ok(Err(broken));
                }
            }
        }
    }

    /// The newest stored documents, newest first.
    pub(super) async fn documents(&mut self, limit: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT document FROM events ORDER BY seq DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&mut self.connection)
            .await?)
    }

    /// The source and original bytes of the events received since `since`.
    pub(super) async fn received_since(
        &mut self,
        since: jiff::Timestamp,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query("SELECT source, original FROM events WHERE created >= $1")
            .bind(since.as_microsecond())
            .fetch_all(&mut self.connection)
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    /// The LogSources and agencies with events in the partition.
    pub(super) async fn owners(&mut self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let sources = sqlx::query_scalar("SELECT DISTINCT source FROM events").fetch_all(&mut self.connection).await?;
        let agencies = sqlx::query_scalar("SELECT DISTINCT agency FROM events WHERE agency IS NOT NULL")
            .fetch_all(&mut self.connection)
            .await?;
        Ok((sources, agencies))
    }

    /// The file's connection, for the searches of [`super::search`].
    pub(super) fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.connection
    }

    /// Closes the file.
    pub(super) async fn close(self) -> Result<(), StoreError> {
        self.connection.close().await?;
        Ok(())
    }
}

fn hash_of(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::try_from(bytes.as_slice()).map_err(|_| StoreError::Corrupt(format!("a hash of {} bytes", bytes.len())))
}
