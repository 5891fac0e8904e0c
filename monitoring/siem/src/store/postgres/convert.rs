//! A database written before the block store, its events a row each in `siem.events`,
//! rewritten as blocks when the SIEM starts: each partition in one transaction, the same
//! events in the same order with the same links of the chain, its rows deleted once its
//! blocks are written; `siem.events` dropped once empty. Checkpoints already signed and
//! the checks hold as before.

use makonis_siem_core::block::AppendPlan;
use sqlx::PgPool;

use super::{create_partition, insert_block};
use crate::store::{
    PartitionKey, StoreError,
    blocks::blocks_of,
    row_format::{AT_ONCE, COLUMNS, OldRow, event_of},
};

/// Converts every partition still kept as rows.
pub(super) async fn rows_to_blocks(pool: &PgPool) -> Result<(), StoreError> {
    let present: bool = sqlx::query_scalar("SELECT to_regclass('siem.events') IS NOT NULL").fetch_one(pool).await?;
    if !present {
        return Ok(());
    }
    let names: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT partition FROM siem.events ORDER BY 1").fetch_all(pool).await?;
    for name in names {
        let key = PartitionKey::parse(&name)
            .ok_or_else(|| StoreError::Corrupt(format!("siem.events holds a partition named {name:?}")))?;
        let mut tx = pool.begin().await?;
        create_partition(&mut tx, key).await?;
        let select =
            format!("SELECT {COLUMNS} FROM siem.events WHERE partition = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        let (mut after, mut converted) = (i64::MIN, 0);
        loop {
            let rows: Vec<OldRow> =
                sqlx::query_as(&select).bind(&name).bind(after).bind(AT_ONCE).fetch_all(&mut *tx).await?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            let events: Vec<_> = rows.into_iter().map(event_of).collect();
            let plan = AppendPlan { rewrite: Vec::new(), blocks: vec![events.len()] };
            for block in blocks_of(&plan, &events)? {
                insert_block(&mut tx, &name, &block).await?;
            }
            converted += events.len();
        }
        sqlx::query("DELETE FROM siem.events WHERE partition = $1").bind(&name).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!(partition = %name, events = converted, "a partition kept as rows was rewritten as blocks");
    }
    sqlx::query("DROP TABLE IF EXISTS siem.events").execute(pool).await?;
    Ok(())
}
