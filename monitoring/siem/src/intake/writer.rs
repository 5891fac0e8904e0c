//! The one task that owns the store: batches from the readers, appended durably.

use std::{sync::Arc, time::Duration};

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::{Batch, Stats};
use crate::store::Store;

/// The most batches taken from the queue into one append.
const MAX_BATCHES: usize = 256;

/// Appends what the readers send until every reader has gone, then returns the store.
/// A failed append is retried (the readers wait meanwhile) rather than dropped.
pub async fn run(mut store: Store, mut queue: mpsc::Receiver<Batch>, stats: Arc<Stats>) -> Store {
    let mut batches = Vec::with_capacity(MAX_BATCHES);
    while queue.recv_many(&mut batches, MAX_BATCHES).await > 0 {
        let mut merged = Batch::default();
        for batch in batches.drain(..) {
            merged.events.extend(batch.events);
            merged.quarantined.extend(batch.quarantined);
        }
        let mut delay = Duration::from_millis(100);
        loop {
            let now = Timestamp::now();
            let stored = match store.append(&merged.events, now).await {
                Ok(()) => store.quarantine(&merged.quarantined).await,
                Err(error) => Err(error),
            };
            match stored {
                Ok(()) => break,
                Err(error) => {
                    tracing::error!(%error, category = error.category(), events = merged.events.len(), "storing a batch failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        }
        for (event, _) in &merged.events {
            let complete = event.mandatory().complete();
            stats.update(&event.source, |s| {
                s.events += 1;
                s.complete += u64::from(complete);
                s.bytes += event.original.len() as u64;
                s.last_event = s.last_event.max(Some(event.timestamp));
            });
        }
        for item in &merged.quarantined {
            stats.update(&item.source, |s| {
                s.quarantined += 1;
                s.bytes += item.original.len() as u64;
            });
        }
    }
    store
}
