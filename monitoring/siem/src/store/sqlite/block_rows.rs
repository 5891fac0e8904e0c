//! A block's rows in a partition file: the block and its terms, written and deleted within
//! the caller's transaction (by an append, and by converting a file kept as rows).

use makonis_siem_core::block::{BlockEvent, terms};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::store::{StoreError, blocks::NewBlock};

/// Rows per multi-row INSERT or DELETE of terms (2 parameters each).
const TERMS_PER_STATEMENT: usize = 400;

/// Writes a block and its terms (within the caller's transaction).
pub(super) async fn insert_block(connection: &mut SqliteConnection, block: &NewBlock) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO blocks (first_seq, last_seq, min_time, max_time, max_created, body) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(block.first_seq)
    .bind(block.last_seq)
    .bind(block.min_time)
    .bind(block.max_time)
    .bind(block.max_created)
    .bind(&block.body)
    .execute(&mut *connection)
    .await?;
    for chunk in block.terms.chunks(TERMS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new("INSERT OR IGNORE INTO terms (term, block) ");
        insert.push_values(chunk, |mut row, term| {
            row.push_bind(term).push_bind(block.first_seq);
        });
        insert.build().execute(&mut *connection).await?;
    }
    Ok(())
}

/// Deletes the block at `first_seq`, holding `events`, and its terms (each term the
/// events name, so the terms table needs no index by block).
pub(super) async fn delete_block(
    connection: &mut SqliteConnection,
    first_seq: i64,
    events: &[BlockEvent],
) -> Result<(), StoreError> {
    let gone: Vec<String> = terms(events).into_iter().collect();
    for chunk in gone.chunks(TERMS_PER_STATEMENT) {
        let mut delete = QueryBuilder::<Sqlite>::new("DELETE FROM terms WHERE (term, block) IN (VALUES ");
        let mut list = delete.separated(", ");
        for term in chunk {
            list.push("(").push_bind_unseparated(term).push_unseparated(", ");
            list.push_bind_unseparated(first_seq).push_unseparated(")");
        }
        delete.push(")");
        delete.build().execute(&mut *connection).await?;
    }
    sqlx::query("DELETE FROM blocks WHERE first_seq = $1").bind(first_seq).execute(&mut *connection).await?;
    Ok(())
}
