//! A block's rows in a partition file: the block and its terms, written within the
//! caller's transaction (by an append, and by converting a file kept as rows).

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::store::{StoreError, blocks::NewBlock};

/// Rows per multi-row INSERT or DELETE of terms (2 parameters each).
pub(super) const TERMS_PER_STATEMENT: usize = 400;

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
