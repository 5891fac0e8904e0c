//! The one task that owns the store: batches from the readers, appended durably.

use std::{sync::Arc, time::Duration};

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::{Batch, Stats};
use jiff::SignedDuration;
use makonis_siem_core::{
    dedup::{Recent, identity},
    retention::Policy,
};

use crate::store::Store;

/// The most batches taken from the queue into one append.
const MAX_BATCHES: usize = 256;

/// How many recent messages' identities are kept to recognise RELP resends.
const RECENT: usize = 100_000;

/// How far back, at start, the store's events fill the window of recent identities.
const RECENT_AT_START: SignedDuration = SignedDuration::from_hours(1);

/// The store's upkeep between batches: closing past days with checkpoints, retention.
#[derive(Debug)]
pub struct Maintenance {
    /// How often.
    pub every: Duration,
    /// How long after its day a partition is closed.
    pub lateness: SignedDuration,
    /// The RetentionPolicies in force.
    pub policies: tokio::sync::watch::Receiver<Vec<Policy>>,
}

/// Appends what the readers send until every reader has gone, then returns the store.
/// A failed append is retried (the readers wait meanwhile) rather than dropped. With
/// `maintenance`, closes past days and applies retention on its interval as well.
pub async fn run(
    mut store: Store,
    mut queue: mpsc::Receiver<Batch>,
    stats: Arc<Stats>,
    maintenance: Option<Maintenance>,
) -> Store {
    let mut recent = Recent::new(RECENT);
    match store.received_since(Timestamp::now() - RECENT_AT_START).await {
        Ok(received) => {
            for (source, original) in received {
                recent.first_time(identity(&source, &original));
            }
            tracing::info!(identities = recent.len(), "recent messages remembered, to recognise resends");
        }
        Err(error) => {
            tracing::error!(%error, "reading recent events failed: resends after this restart may be stored twice")
        }
    }
    let mut batches = Vec::with_capacity(MAX_BATCHES);
    let mut tick = tokio::time::interval(maintenance.as_ref().map_or(Duration::from_secs(3600), |m| m.every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let received = tokio::select! {
            received = queue.recv_many(&mut batches, MAX_BATCHES) => received,
            _ = tick.tick(), if maintenance.is_some() => {
                if let Some(maintenance) = &maintenance {
                    maintain(&mut store, maintenance).await;
                }
                continue;
            }
        };
        if received == 0 {
            break;
        }
        let mut merged = Batch::default();
        let mut waiting = Vec::new();
        for batch in batches.drain(..) {
            if batch.resendable {
                for (event, category) in batch.events {
                    if recent.first_time(identity(&event.source, &event.original)) {
                        merged.events.push((event, category));
                    } else {
                        stats.update(&event.source, |s| s.duplicates += 1);
                    }
                }
            } else {
                for (event, _) in &batch.events {
                    recent.first_time(identity(&event.source, &event.original));
                }
                merged.events.extend(batch.events);
            }
            merged.quarantined.extend(batch.quarantined);
            waiting.extend(batch.stored);
        }
        store_durably(&mut store, &merged).await;
        count(&stats, &merged);
        for reader in waiting {
            // A reader that has gone (its connection closed) no longer waits.
            let _ = reader.send(());
        }
    }
    store
}

/// Appends a batch, retrying with a growing pause until it is stored: the readers wait
/// meanwhile (backpressure), nothing is dropped.
async fn store_durably(store: &mut Store, batch: &Batch) {
    let mut delay = Duration::from_millis(100);
    loop {
        let stored = match store.append(&batch.events, Timestamp::now()).await {
            Ok(()) => store.quarantine(&batch.quarantined).await,
            Err(error) => Err(error),
        };
        let Err(error) = stored else { return };
        tracing::error!(%error, category = error.category(), events = batch.events.len(), "storing a batch failed; retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Adds a stored batch to the figures of its sources.
fn count(stats: &Stats, batch: &Batch) {
    let now = Timestamp::now();
    for (event, _) in &batch.events {
        let complete = event.mandatory().complete();
        stats.update(&event.source, |s| {
            s.events += 1;
            s.complete += u64::from(complete);
            s.bytes += event.original.len() as u64;
            s.last_event = s.last_event.max(Some(event.timestamp));
            s.last_received = s.last_received.max(Some(event.created));
            s.count_event(now);
        });
    }
    for item in &batch.quarantined {
        stats.update(&item.source, |s| {
            s.quarantined += 1;
            s.bytes += item.original.len() as u64;
            s.last_received = s.last_received.max(Some(item.received_at));
        });
    }
}

/// Closes past days and applies retention; failures are logged and retried next time.
async fn maintain(store: &mut Store, maintenance: &Maintenance) {
    let now = Timestamp::now();
    match store.checkpoint_closed(now, maintenance.lateness).await {
        Ok(signed) => {
            for checkpoint in signed {
                tracing::info!(partition = %checkpoint.partition, events = checkpoint.count, "partition closed with a signed checkpoint");
            }
        }
        Err(error) => tracing::error!(%error, category = error.category(), "closing past days failed"),
    }
    let policies = maintenance.policies.borrow().clone();
    if let Err(error) = store.apply_retention(&policies, now).await {
        tracing::error!(%error, category = error.category(), "applying retention failed");
    }
}
