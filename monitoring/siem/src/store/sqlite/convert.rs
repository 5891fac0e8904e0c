//! Partition files written before the block store, a row per event, rewritten as blocks
//! when first opened: the same events in the same order with the same links of the chain,
//! so that the checkpoints already signed and the checks hold as before. One transaction:
//! a file is either converted whole or left as it was.

use makonis_siem_core::block::AppendPlan;
use sqlx::SqliteConnection;

use super::block_rows::insert_block;
use crate::store::{
    StoreError,
    blocks::blocks_of,
    row_format::{AT_ONCE, COLUMNS, OldRow, event_of},
};

/// The rows of the `events` table as blocks, the table dropped; the events converted.
pub(super) async fn rows_to_blocks(connection: &mut SqliteConnection) -> Result<u64, StoreError> {
    sqlx::query("BEGIN IMMEDIATE").execute(&mut *connection).await?;
    match convert_rows(connection).await {
        Ok(events) => {
            sqlx::query("COMMIT").execute(&mut *connection).await?;
            Ok(events)
        }
        Err(error) => {
            if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *connection).await {
                tracing::warn!(%rollback, "rolling back a failed conversion failed");
            }
            Err(error)
        }
    }
}

async fn convert_rows(connection: &mut SqliteConnection) -> Result<u64, StoreError> {
    let (mut after, mut converted) = (i64::MIN, 0);
    let select = format!("SELECT {COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2");
    loop {
        let rows: Vec<OldRow> = sqlx::query_as(&select).bind(after).bind(AT_ONCE).fetch_all(&mut *connection).await?;
        let Some(last) = rows.last() else { break };
        after = last.0;
        let events: Vec<_> = rows.into_iter().map(event_of).collect();
        let plan = AppendPlan { rewrite: Vec::new(), blocks: vec![events.len()] };
        for block in blocks_of(&plan, &events)? {
            insert_block(connection, &block).await?;
        }
        converted += events.len() as u64;
    }
    sqlx::query("DROP TABLE events").execute(&mut *connection).await?;
    Ok(converted)
}
