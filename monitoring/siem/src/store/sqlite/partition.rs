//! One partition: an SQLite file holding one event day (UTC) of one category, as a hash
//! chain kept in blocks, each block's terms beside it. Its path comes from the day and the
//! category only, never from anything a sender wrote.

use std::path::Path;

use jiff::SignedDuration;
use makonis_siem_core::{
    block::{TermKind, plan_append, term, term_value},
    chain::{End, genesis},
    event::Event,
    search::BlockTerms,
};
use sqlx::{Connection as _, QueryBuilder, Row as _, Sqlite, SqliteConnection};

use super::block_rows::{delete_block, insert_block};
use crate::store::{
    StoreError,
    blocks::{BlockMeta, NEWEST, blocks_of, events_of, spans},
    rows::{hash_of, link_all, seq_of},
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blocks (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    min_time INTEGER NOT NULL, -- the times events are kept and searched by (Event::retention_time), µs
    max_time INTEGER NOT NULL,
    max_created INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS terms (
    term TEXT NOT NULL,
    block INTEGER NOT NULL,
    PRIMARY KEY (term, block)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash BLOB NOT NULL
)
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
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'events'")
            .fetch_one(&mut connection)
            .await?;
        if create || rows > 0 {
            super::create_schema(&mut connection, SCHEMA).await?;
        }
        if rows > 0 {
            let events = super::convert::rows_to_blocks(&mut connection).await?;
            tracing::info!(file = %path.display(), events, "a partition kept as rows was rewritten as blocks");
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
        let newest: Vec<(i64, i64)> =
            sqlx::query_as("SELECT first_seq, last_seq FROM blocks ORDER BY first_seq DESC LIMIT $1")
                .bind(NEWEST)
                .fetch_all(&mut *connection)
                .await?;
        let plan = plan_append(&spans(&newest), events.len());
        // The small blocks rewritten: read, then deleted with their terms.
        let mut linked = Vec::new();
        for &first_seq in &plan.rewrite {
            let body: Vec<u8> = sqlx::query_scalar("SELECT body FROM blocks WHERE first_seq = $1")
                .bind(first_seq as i64)
                .fetch_one(&mut *connection)
                .await?;
            let rewritten = events_of(name, first_seq as i64, &body)?;
            delete_block(connection, first_seq as i64, &rewritten).await?;
            linked.extend(rewritten);
        }
        let (new, end) = link_all(head, events, skew_limit);
        linked.extend(new);
        for block in blocks_of(&plan, &linked)? {
            insert_block(connection, &block).await?;
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

    /// At most `limit` blocks after the place `after`, in place order: `(first_seq, body)`.
    pub(super) async fn blocks_after(&mut self, after: i64, limit: i64) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(sqlx::query_as("SELECT first_seq, body FROM blocks WHERE first_seq > $1 ORDER BY first_seq LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&mut self.connection)
            .await?)
    }

    /// The blocks that have every term of `terms.all` and one of `terms.any`.
    pub(super) async fn block_metas(&mut self, terms: &BlockTerms) -> Result<Vec<BlockMeta>, StoreError> {
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT first_seq, min_time, max_time, max_created FROM blocks WHERE TRUE");
        for term in &terms.all {
            query.push(" AND first_seq IN (SELECT block FROM terms WHERE term = ").push_bind(term.clone()).push(")");
        }
        match terms.any.as_deref() {
            Some([]) => {
                query.push(" AND FALSE");
            }
            Some(any) => {
                query.push(" AND first_seq IN (SELECT block FROM terms WHERE term IN (");
                let mut list = query.separated(", ");
                for term in any {
                    list.push_bind(term.clone());
                }
                query.push("))");
            }
            None => {}
        }
        let rows: Vec<(i64, i64, i64, i64)> = query.build_query_as().fetch_all(&mut self.connection).await?;
        Ok(rows.into_iter().map(BlockMeta::from).collect())
    }

    /// The bodies of the blocks at `first_seqs` that are there: `(first_seq, body)`.
    pub(super) async fn bodies(&mut self, first_seqs: &[i64]) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new("SELECT first_seq, body FROM blocks WHERE first_seq IN (");
        let mut list = query.separated(", ");
        for first_seq in first_seqs {
            list.push_bind(*first_seq);
        }
        query.push(")");
        Ok(query.build_query_as().fetch_all(&mut self.connection).await?)
    }

    /// The values of the terms of `kind` in the partition.
    pub(super) async fn term_values(&mut self, kind: TermKind) -> Result<Vec<String>, StoreError> {
        // A kind's terms are those from its prefix (`s:`) up to the next (`s;`).
        let prefix = term(kind, "");
        let end = format!("{};", prefix.trim_end_matches(':'));
        let terms: Vec<String> = sqlx::query_scalar("SELECT term FROM terms WHERE term >= $1 AND term < $2")
            .bind(&prefix)
            .bind(end)
            .fetch_all(&mut self.connection)
            .await?;
        let mut values: Vec<String> = terms.iter().filter_map(|t| term_value(kind, t).map(str::to_owned)).collect();
        values.dedup();
        Ok(values)
    }

    /// Closes the file.
    pub(super) async fn close(self) -> Result<(), StoreError> {
        self.connection.close().await?;
        Ok(())
    }
}
