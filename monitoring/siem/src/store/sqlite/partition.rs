//! One partition: an SQLite file holding one event day (UTC) of one category, as a hash
//! chain. Its path comes from the day and the category only, never from anything a
//! sender wrote.

use std::path::Path;

use jiff::SignedDuration;
use makonis_siem_core::{
    chain::{End, genesis},
    event::Event,
};
use sqlx::{Connection as _, QueryBuilder, Row as _, Sqlite, SqliteConnection};

use crate::store::{
    StoreError,
    rows::{Linked, Row, hash_of, link_all, seq_of},
};

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
        let head = End { last_seq: seq_of(head.get(0))?, head: hash_of(head.get::<Vec<u8>, _>(1))? };
        // The chain first, then the rows in multi-row INSERTs (see ROWS_PER_INSERT).
        let (rows, end) = link_all(head, events, skew_limit);
        for chunk in rows.chunks(super::ROWS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (seq, time, created, source, agency, user_name, source_ip, action, outcome, \
                 mandatory, document, original, hash) ",
            );
            insert.push_values(chunk, |mut row, Linked { seq, event, document, hash }| {
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
            .bind(end.last_seq as i64)
            .bind(end.head.to_vec())
            .execute(&mut *connection)
            .await?;
        Ok(end)
    }

    /// The store's own record of where the chain ends (the genesis for an empty one).
    pub(super) async fn head(&mut self, name: &str) -> Result<End, StoreError> {
        let row = sqlx::query("SELECT seq, hash FROM head WHERE id = 1").fetch_optional(&mut self.connection).await?;
        match row {
            Some(row) => Ok(End { last_seq: seq_of(row.get(0))?, head: hash_of(row.get::<Vec<u8>, _>(1))? }),
            None => Ok(End { last_seq: 0, head: genesis(name) }),
        }
    }

    /// At most `limit` events after the place `after`, in `seq` order.
    pub(super) async fn rows_after(&mut self, after: i64, limit: i64) -> Result<Vec<Row>, StoreError> {
        let rows = sqlx::query("SELECT seq, document, original, hash FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&mut self.connection)
            .await?;
        Ok(rows
            .iter()
            .map(|row| Row::new(row.get(0), row.get::<String, _>(1).into_bytes(), row.get(2), row.get(3)))
            .collect())
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
