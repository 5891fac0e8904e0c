//! The production backend: a PostgreSQL database, schema `siem` ([`SCHEMA`]).
//!
//! `siem.blocks` is partitioned by list on the partition's name: each event day (UTC) and
//! category is a table of its own, `siem.blocks_YYYYMMDD_category`, created on first use
//! and dropped whole by retention, as the SQLite store keeps a file per partition. Each
//! partition's chain ends at its row in `siem.heads`; the catalog tables are those of the
//! SQLite catalog. A commit is durable (`synchronous_commit` as the server has it: on by
//! default).

mod catalog;
mod convert;

use std::collections::BTreeSet;

use jiff::SignedDuration;
use makonis_siem_core::{
    block::{TermKind, is_owner, plan_append, term, term_value},
    chain::{End, genesis},
    event::Event,
    search::BlockTerms,
};
use sqlx::{PgPool, Postgres as Pg, QueryBuilder, Row as _, postgres::PgPoolOptions};

pub(super) use self::catalog::Catalog;
use super::{
    PartitionKey, StoreError,
    blocks::{BlockMeta, NEWEST, NewBlock, blocks_of, events_of, spans},
    rows::{hash_of, link_all, seq_of},
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
            convert::rows_to_blocks(&pool).await?;
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
        create_partition(&mut tx, key).await?;
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
        let newest: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT first_seq, last_seq FROM siem.blocks WHERE partition = $1 ORDER BY first_seq DESC LIMIT $2",
        )
        .bind(&name)
        .bind(NEWEST)
        .fetch_all(&mut *tx)
        .await?;
        let plan = plan_append(&spans(&newest), events.len());
        let mut linked = Vec::new();
        for &first_seq in &plan.rewrite {
            let body: Vec<u8> =
                sqlx::query_scalar("DELETE FROM siem.blocks WHERE partition = $1 AND first_seq = $2 RETURNING body")
                    .bind(&name)
                    .bind(first_seq as i64)
                    .fetch_one(&mut *tx)
                    .await?;
            linked.extend(events_of(&name, first_seq as i64, &body)?);
        }
        let (new, end) = link_all(head, events, skew_limit);
        linked.extend(new);
        for block in blocks_of(&plan, &linked)? {
            insert_block(&mut tx, &name, &block).await?;
        }
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

    /// Whether the partition's table exists and is attached to `siem.blocks`.
    pub(super) async fn exists(&mut self, key: PartitionKey) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) \
             AND inhparent = 'siem.blocks'::regclass)",
        )
        .bind(table(key))
        .fetch_one(&self.pool)
        .await?)
    }

    pub(super) async fn blocks_after(
        &mut self,
        key: PartitionKey,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT first_seq, body FROM siem.blocks WHERE partition = $1 AND first_seq > $2 ORDER BY first_seq LIMIT $3",
        )
        .bind(key.name())
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The blocks that have every term of `terms.all` and one of `terms.any`. Users and
    /// addresses are looked up in the GIN index, always: the planner counts a row's size
    /// in the table, not its terms stored out of line, so it would rather read every
    /// block's terms than the index.
    pub(super) async fn block_metas(
        &mut self,
        key: PartitionKey,
        terms: &BlockTerms,
    ) -> Result<Vec<BlockMeta>, StoreError> {
        if terms.any.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let (owners, selective): (Vec<&String>, Vec<&String>) = terms.all.iter().partition(|t| is_owner(t));
        // The partition's own table: through the parent, the planner would rather find the
        // partition's rows by the primary key and read every block's terms.
        let mut query = QueryBuilder::<Pg>::new(format!(
            "SELECT first_seq, min_time, max_time, max_created FROM {} WHERE TRUE",
            table(key)
        ));
        if !selective.is_empty() {
            query.push(" AND terms @> ").push_bind(selective.clone());
        }
        if !owners.is_empty() {
            query.push(" AND owners @> ").push_bind(owners);
        }
        if let Some(any) = &terms.any {
            query.push(" AND owners && ").push_bind(any.clone());
        }
        let mut tx = self.pool.begin().await?;
        if !selective.is_empty() {
            sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await?;
        }
        let rows: Vec<(i64, i64, i64, i64)> = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(BlockMeta::from).collect())
    }

    pub(super) async fn bodies(
        &mut self,
        key: PartitionKey,
        first_seqs: &[i64],
    ) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Ok(sqlx::query_as("SELECT first_seq, body FROM siem.blocks WHERE partition = $1 AND first_seq = ANY($2)")
            .bind(key.name())
            .bind(first_seqs)
            .fetch_all(&self.pool)
            .await?)
    }

    pub(super) async fn term_values(&mut self, key: PartitionKey, kind: TermKind) -> Result<Vec<String>, StoreError> {
        let prefix = term(kind, "");
        let column = if is_owner(&prefix) { "owners" } else { "terms" };
        let terms: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT DISTINCT t FROM siem.blocks, unnest({column}) AS t WHERE partition = $1 AND starts_with(t, $2)"
        ))
        .bind(key.name())
        .bind(prefix)
        .fetch_all(&self.pool)
        .await?;
        Ok(terms.iter().filter_map(|t| term_value(kind, t).map(str::to_owned)).collect())
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

/// Creates a partition's table unless it exists (within the caller's transaction, under
/// the advisory lock it takes).
async fn create_partition(tx: &mut sqlx::PgConnection, key: PartitionKey) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(DDL_LOCK).execute(&mut *tx).await?;
    // The name and the value come from the day and the category only.
    let statement =
        format!("CREATE TABLE IF NOT EXISTS {} PARTITION OF siem.blocks FOR VALUES IN ('{}')", table(key), key.name());
    sqlx::query(&statement).execute(&mut *tx).await?;
    // The body is compressed already: no second try at compressing it.
    let storage = format!("ALTER TABLE {} ALTER COLUMN body SET STORAGE EXTERNAL", table(key));
    sqlx::query(&storage).execute(&mut *tx).await?;
    Ok(())
}

/// Writes a block of partition `name`, its owners and its other terms apart (within the
/// caller's transaction).
async fn insert_block(tx: &mut sqlx::PgConnection, name: &str, block: &NewBlock) -> Result<(), StoreError> {
    let (owners, terms): (Vec<&String>, Vec<&String>) = block.terms.iter().partition(|t| is_owner(t));
    sqlx::query::<Pg>(
        "INSERT INTO siem.blocks \
         (partition, first_seq, last_seq, min_time, max_time, max_created, owners, terms, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(name)
    .bind(block.first_seq)
    .bind(block.last_seq)
    .bind(block.min_time)
    .bind(block.max_time)
    .bind(block.max_created)
    .bind(owners)
    .bind(terms)
    .bind(&block.body)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
