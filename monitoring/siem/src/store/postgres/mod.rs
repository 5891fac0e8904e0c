//! The production backend: a PostgreSQL database, schema `siem` ([`SCHEMA`]).
//!
//! `siem.events` is partitioned by list on the partition's name: each event day (UTC) and
//! category is a table of its own, `siem.events_YYYYMMDD_category`, created on first use
//! and dropped whole by retention, as the SQLite store keeps a file per partition. Each
//! partition's chain ends at its row in `siem.heads`; the catalog tables are those of the
//! SQLite catalog. A commit is durable (`synchronous_commit` as the server has it: on by
//! default).

mod catalog;
mod search;

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use makonis_siem_core::{
    chain::{End, genesis},
    event::Event,
};
use sqlx::{PgPool, Postgres as Pg, Row as _, postgres::PgPoolOptions};

pub(super) use self::catalog::Catalog;
use super::{
    PartitionKey, StoreError,
    rows::{Row, hash_of, link_all, seq_of},
};

/// The store's tables, one statement at a time.
pub const SCHEMA: &str = include_str!("schema.sql");

/// The advisory lock taken while the schema or a partition is created, so that two SIEMs
/// starting at once do not collide on the same `CREATE … IF NOT EXISTS`.
const DDL_LOCK: i64 = 0x6d61_6b6f_7369_656d; // "makosiem"

/// Connections kept: the store is used by one task at a time, and one more lets a
/// reconnect overlap.
const CONNECTIONS: u32 = 2;

/// The PostgreSQL store.
#[derive(Debug)]
pub(super) struct Postgres {
    pool: PgPool,
    pub(super) catalog: Catalog,
    /// Partitions this process created or found, so that creating one costs once.
    created: BTreeSet<PartitionKey>,
}

/// A schema's statements, without their comments (`--` to the end of a line).
fn statements(schema: &str) -> Vec<String> {
    let text: String =
        schema.lines().map(|line| line.split("--").next().unwrap_or_default()).collect::<Vec<_>>().join("\n");
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A partition's table, schema-qualified and quoted.
fn table(key: PartitionKey) -> String {
    format!("siem.\"{}\"", key.table())
}

impl Postgres {
    /// Connects; creates the schema when `create`, else checks that it is there.
    pub(super) async fn open(url: &str, create: bool) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new().max_connections(CONNECTIONS).connect(url).await?;
        if create {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(DDL_LOCK).execute(&mut *tx).await?;
            for statement in statements(SCHEMA) {
                sqlx::query(&statement).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        } else {
            let present: bool =
                sqlx::query_scalar("SELECT to_regclass('siem.partitions') IS NOT NULL").fetch_one(&pool).await?;
            if !present {
                return Err(StoreError::Corrupt("the database holds no SIEM store (no table siem.partitions)".into()));
            }
        }
        Ok(Self { catalog: Catalog::new(pool.clone()), pool, created: BTreeSet::new() })
    }

    /// Creates a partition's table unless it exists.
    async fn create(&mut self, key: PartitionKey) -> Result<(), StoreError> {
        if self.created.contains(&key) {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(DDL_LOCK).execute(&mut *tx).await?;
        // The name and the value come from the day and the category only.
        let statement = format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF siem.events FOR VALUES IN ('{}')",
            table(key),
            key.name()
        );
        sqlx::query(&statement).execute(&mut *tx).await?;
        tx.commit().await?;
        self.created.insert(key);
        Ok(())
    }

    /// Appends events as one transaction, the partition's head locked until it commits so
    /// that no other writer can fork the chain; `Ok` once committed. After a failure the
    /// partition is created again before the next try (its table may have been dropped).
    pub(super) async fn append(
        &mut self,
        key: PartitionKey,
        events: &[&Event],
        skew_limit: SignedDuration,
    ) -> Result<End, StoreError> {
        self.create(key).await?;
        let appended = self.append_rows(key, events, skew_limit).await;
        if appended.is_err() {
            self.created.remove(&key);
        }
        appended
    }

    async fn append_rows(
        &mut self,
        key: PartitionKey,
        events: &[&Event],
        skew_limit: SignedDuration,
    ) -> Result<End, StoreError> {
        let name = key.name();
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO siem.heads (partition, seq, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING")
            .bind(&name)
            .bind(genesis(&name).to_vec())
            .execute(&mut *tx)
            .await?;
        let head = sqlx::query("SELECT seq, hash FROM siem.heads WHERE partition = $1 FOR UPDATE")
            .bind(&name)
            .fetch_one(&mut *tx)
            .await?;
        let head = End { last_seq: seq_of(head.get(0))?, head: hash_of(head.get(1))? };
        let (rows, end) = link_all(head, events, skew_limit);
        // One multi-row INSERT of the whole batch: its columns as arrays.
        let mut columns = Columns::default();
        for row in &rows {
            let event = row.event;
            columns.seq.push(row.seq as i64);
            columns.time.push(event.retention_time(skew_limit).as_microsecond());
            columns.created.push(event.created.as_microsecond());
            columns.source.push(event.source.as_str());
            columns.agency.push(event.agency.as_deref());
            columns.user_name.push(event.user_name.as_deref());
            columns.source_ip.push(event.source_ip.map(|ip| ip.to_string()));
            columns.action.push(event.action.as_deref());
            columns.outcome.push(event.outcome.as_str());
            columns.mandatory.push(i32::from(event.mandatory().bits()));
            columns.document.push(row.document.as_str());
            columns.original.push(event.original.as_slice());
            columns.hash.push(row.hash.to_vec());
        }
        sqlx::query::<Pg>(
            "INSERT INTO siem.events (partition, seq, time, created, source, agency, user_name, source_ip, action, \
             outcome, mandatory, document, original, hash) \
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::integer[], $12::text[], $13::bytea[], $14::bytea[])",
        )
        .bind(&name)
        .bind(&columns.seq)
        .bind(&columns.time)
        .bind(&columns.created)
        .bind(&columns.source)
        .bind(&columns.agency)
        .bind(&columns.user_name)
        .bind(&columns.source_ip)
        .bind(&columns.action)
        .bind(&columns.outcome)
        .bind(&columns.mandatory)
        .bind(&columns.document)
        .bind(&columns.original)
        .bind(&columns.hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE siem.heads SET seq = $1, hash = $2 WHERE partition = $3")
            .bind(end.last_seq as i64)
            .bind(end.head.to_vec())
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(end)
    }

    /// The store's own record of where the chain ends (the genesis for an empty one).
    pub(super) async fn head(&mut self, key: PartitionKey) -> Result<End, StoreError> {
        let name = key.name();
        let row = sqlx::query("SELECT seq, hash FROM siem.heads WHERE partition = $1")
            .bind(&name)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(End { last_seq: seq_of(row.get(0))?, head: hash_of(row.get(1))? }),
            None => Ok(End { last_seq: 0, head: genesis(&name) }),
        }
    }

    /// Whether the partition's table exists and is attached to `siem.events`.
    pub(super) async fn exists(&mut self, key: PartitionKey) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) \
             AND inhparent = 'siem.events'::regclass)",
        )
        .bind(table(key))
        .fetch_one(&self.pool)
        .await?)
    }

    pub(super) async fn rows_after(
        &mut self,
        key: PartitionKey,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Row>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, document, original, hash FROM siem.events WHERE partition = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3",
        )
        .bind(key.name())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| Row::new(row.get(0), row.get::<String, _>(1).into_bytes(), row.get(2), row.get(3)))
            .collect())
    }

    pub(super) async fn documents(&mut self, key: PartitionKey, limit: i64) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT document FROM siem.events WHERE partition = $1 ORDER BY seq DESC LIMIT $2")
            .bind(key.name())
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub(super) async fn received_since(
        &mut self,
        key: PartitionKey,
        since: Timestamp,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let rows = sqlx::query("SELECT source, original FROM siem.events WHERE partition = $1 AND created >= $2")
            .bind(key.name())
            .bind(since.as_microsecond())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
    }

    pub(super) async fn owners(&mut self, key: PartitionKey) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let sources = sqlx::query_scalar("SELECT DISTINCT source FROM siem.events WHERE partition = $1")
            .bind(key.name())
            .fetch_all(&self.pool)
            .await?;
        let agencies =
            sqlx::query_scalar("SELECT DISTINCT agency FROM siem.events WHERE partition = $1 AND agency IS NOT NULL")
                .bind(key.name())
                .fetch_all(&self.pool)
                .await?;
        Ok((sources, agencies))
    }

    /// Drops the partition's table and its head, in one transaction.
    pub(super) async fn drop_partition(&mut self, key: PartitionKey) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!("DROP TABLE IF EXISTS {}", table(key))).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM siem.heads WHERE partition = $1").bind(key.name()).execute(&mut *tx).await?;
        tx.commit().await?;
        self.created.remove(&key);
        Ok(())
    }
}

/// A batch's columns, bound as arrays.
#[derive(Default)]
struct Columns<'a> {
    seq: Vec<i64>,
    time: Vec<i64>,
    created: Vec<i64>,
    source: Vec<&'a str>,
    agency: Vec<Option<&'a str>>,
    user_name: Vec<Option<&'a str>>,
    source_ip: Vec<Option<String>>,
    action: Vec<Option<&'a str>>,
    outcome: Vec<&'a str>,
    mandatory: Vec<i32>,
    document: Vec<&'a str>,
    original: Vec<&'a [u8]>,
    hash: Vec<Vec<u8>>,
}
