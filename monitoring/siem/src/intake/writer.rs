//! The one task that owns the store: batches from the readers, appended durably.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use jiff::{SignedDuration, Timestamp};
use makonis_siem_core::{
    dedup::{Recent, STORED, identity},
    retention::Policy,
};
use tokio::sync::mpsc;

use super::{Batch, SourceStats, Stats, metrics::SiemMetrics};
use crate::{
    retention::RetentionRun,
    store::{Appended, Store},
};

/// The most batches taken from the queue into one append.
const MAX_BATCHES: usize = 256;

/// How many recent messages' identities are kept to recognise RELP resends.
const RECENT: usize = 100_000;

/// How far back, at start, the store's events fill the window of recent identities.
const RECENT_AT_START: SignedDuration = SignedDuration::from_hours(1);

/// The store's upkeep between batches: closing past days with checkpoints, signing open
/// ones so far, retention.
#[derive(Debug)]
pub struct Maintenance {
    /// How often.
    pub every: Duration,
    /// How long after its day a partition is closed.
    pub lateness: SignedDuration,
    /// The RetentionPolicies in force.
    pub policies: tokio::sync::watch::Receiver<Vec<Policy>>,
    /// Where each round of retention is reported, for the policies' status.
    pub runs: tokio::sync::watch::Sender<Option<RetentionRun>>,
}

/// Appends what the readers send until every reader has gone, then returns the store.
/// A failed append is retried (the readers wait meanwhile) rather than dropped. With
/// `maintenance`, closes past days, signs open ones and applies retention on its interval
/// as well. With `detection`, every batch stored is then handed to the detection engine
/// (when it falls behind, storing waits, and the readers with it).
pub async fn run(
    mut store: Store,
    mut queue: mpsc::Receiver<Batch>,
    stats: Arc<Stats>,
    maintenance: Option<Maintenance>,
    detection: Option<mpsc::Sender<Vec<Appended>>>,
) -> Store {
    let mut recent = Recent::new(RECENT);
    match store.received_since(Timestamp::now() - RECENT_AT_START).await {
        Ok(received) => {
            for (source, original) in received {
                recent.resent(identity(&source, &original), STORED);
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
                    maintain(&mut store, maintenance, stats.metrics()).await;
                }
                continue;
            }
        };
        if received == 0 {
            break;
        }
        let metrics = stats.metrics();
        if let Some(metrics) = metrics {
            metrics.queue_len(queue.len());
        }
        let mut merged = Batch::default();
        let mut duplicates: BTreeMap<String, SourceStats> = BTreeMap::new();
        let mut waiting = Vec::new();
        // The batches' byte budget, given back once they are stored.
        let mut budget = Vec::new();
        for batch in batches.drain(..) {
            budget.extend(batch.budget);
            for (index, (event, category)) in batch.events.into_iter().enumerate() {
                let resent = batch
                    .resendable
                    .is_some_and(|delivery| recent.resent(identity(&event.source, &event.original), delivery));
                if resent && index < batch.resend_candidates {
                    delta_of(&mut duplicates, &event.source).duplicates += 1;
                } else {
                    merged.events.push((event, category));
                }
            }
            merged.quarantined.extend(batch.quarantined);
            waiting.extend(batch.stored);
        }
        let mut deltas = tally(&merged);
        for (source, delta) in duplicates {
            delta_of(&mut deltas, &source).duplicates += delta.duplicates;
        }
        if let Some(metrics) = metrics {
            for item in &merged.quarantined {
                metrics.quarantined(&item.source, item.reason);
            }
        }
        let started = std::time::Instant::now();
        let (stored, appended) = store_durably(&mut store, merged, metrics, || queue.is_closed()).await;
        if stored {
            if let Some(metrics) = metrics {
                metrics.appended(started.elapsed().as_secs_f64());
            }
            stats.add(&deltas, Timestamp::now());
        }
        // What was committed goes to detection, even of a batch given up in part.
        if let Some(engine) = &detection
            && !appended.is_empty()
            && engine.send(appended).await.is_err()
        {
            tracing::error!("the detection engine has stopped: stored events are evaluated after the next start");
        }
        drop(budget);
        for reader in waiting {
            // A reader that has gone (its connection closed) no longer waits.
            let _ = reader.send(());
        }
    }
    store
}

/// How long a stopping SIEM (its readers gone) keeps retrying a batch the store refuses
/// before it gives the batch up: Kubernetes kills a pod 30 s after asking it to stop.
pub const STOPPING_RETRIES: Duration = Duration::from_secs(20);

/// Appends a batch, retrying with a growing pause until it is stored: the readers wait
/// meanwhile (backpressure), nothing is dropped — unless the SIEM is `stopping` and the
/// store has refused the batch for [`STOPPING_RETRIES`]: then it is given up, and said so
/// (a RELP or HTTPS sender was not answered and sends it again; plain syslog's is lost).
/// Whether it was stored, and the events committed with their places.
async fn store_durably(
    store: &mut Store,
    batch: Batch,
    metrics: Option<&SiemMetrics>,
    stopping: impl Fn() -> bool,
) -> (bool, Vec<Appended>) {
    let mut delay = Duration::from_millis(100);
    let mut give_up_at = None;
    let mut appended = Vec::new();
    // What is not stored yet: each partition leaves it once committed.
    let Batch { mut events, quarantined, .. } = batch;
    let mut quarantined = quarantined.as_slice();
    loop {
        let stored = match store.append_into(&mut events, Timestamp::now(), &mut appended).await {
            Ok(()) => store.quarantine(quarantined).await.map(|()| quarantined = &[]),
            Err(error) => Err(error),
        };
        let Err(error) = stored else { return (true, appended) };
        if let Some(metrics) = metrics {
            metrics.store_error(error.category());
        }
        if stopping() {
            let give_up_at = *give_up_at.get_or_insert_with(|| tokio::time::Instant::now() + STOPPING_RETRIES);
            if tokio::time::Instant::now() >= give_up_at {
                tracing::error!(%error, category = error.category(), events = events.len(), quarantined = quarantined.len(),
                    "the SIEM is stopping and the store still refuses this batch: it is not stored (RELP and HTTPS senders were not answered and send it again; plain syslog's is lost); fix the store before starting again");
                return (false, appended);
            }
        }
        tracing::error!(%error, category = error.category(), events = events.len(), "storing a batch failed; retrying what is not stored yet");
        let pause = give_up_at.map_or(delay, |at| delay.min(at.saturating_duration_since(tokio::time::Instant::now())));
        tokio::time::sleep(pause).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// What a batch adds to the figures of its sources, taken before it is stored (storing
/// consumes it).
fn tally(batch: &Batch) -> BTreeMap<String, SourceStats> {
    let mut deltas: BTreeMap<String, SourceStats> = BTreeMap::new();
    for (event, _) in &batch.events {
        let delta = delta_of(&mut deltas, &event.source);
        delta.events += 1;
        delta.complete += u64::from(event.mandatory().complete());
        delta.bytes += event.original.len() as u64;
        // Never later than its receipt: a sender's clock set ahead cannot pin it.
        delta.last_event = delta.last_event.max(Some(event.timestamp.min(event.created)));
        delta.last_received = delta.last_received.max(Some(event.created));
    }
    for item in &batch.quarantined {
        let delta = delta_of(&mut deltas, &item.source);
        delta.quarantined += 1;
        delta.bytes += item.original.len() as u64;
        delta.last_received = delta.last_received.max(Some(item.received_at));
    }
    deltas
}

/// A source's entry, its name copied only the first time.
fn delta_of<'a>(deltas: &'a mut BTreeMap<String, SourceStats>, source: &str) -> &'a mut SourceStats {
    if !deltas.contains_key(source) {
        deltas.insert(source.to_owned(), SourceStats::default());
    }
    deltas.get_mut(source).expect("inserted above")
}

/// Closes past days, signs open ones so far and applies retention; failures are logged
/// (and counted) and retried next time.
async fn maintain(store: &mut Store, maintenance: &Maintenance, metrics: Option<&SiemMetrics>) {
    let now = Timestamp::now();
    let failed = |category: &str| {
        if let Some(metrics) = metrics {
            metrics.store_error(category);
        }
    };
    match store.checkpoint_closed(now, maintenance.lateness).await {
        Ok(closed) => {
            if let Some(metrics) = metrics {
                metrics.checkpoints(closed.signed.len(), closed.refused.len());
            }
            for checkpoint in closed.signed {
                tracing::info!(partition = %checkpoint.partition, events = checkpoint.count, "partition closed with a signed checkpoint");
            }
            for error in closed.refused {
                tracing::error!(%error, category = error.category(), "a partition cannot be closed");
            }
        }
        Err(error) => {
            failed(error.category());
            tracing::error!(%error, category = error.category(), "closing past days failed")
        }
    }
    match store.checkpoint_open(now, maintenance.lateness).await {
        Ok(signed) => {
            if let Some(metrics) = metrics {
                metrics.checkpoints(signed.signed.len(), signed.refused.len());
            }
            for checkpoint in signed.signed {
                tracing::debug!(partition = %checkpoint.partition, events = checkpoint.count, "open partition signed so far");
            }
            for error in signed.refused {
                tracing::error!(%error, category = error.category(), "an open partition cannot be signed");
            }
        }
        Err(error) => {
            failed(error.category());
            tracing::error!(%error, category = error.category(), "signing open partitions failed")
        }
    }
    let policies = maintenance.policies.borrow().clone();
    let applied = store.apply_retention(&policies, now).await;
    if let Ok(removed) = &applied
        && let Some(metrics) = metrics
    {
        for removal in removed {
            // `<day>/<category>`: the category is one of a closed list.
            metrics.removed(removal.partition.rsplit_once('/').map_or("", |(_, category)| category));
        }
    }
    let recorded = match applied {
        Ok(_) => store.removals().await,
        Err(error) => Err(error),
    };
    let run = match recorded {
        Ok(removals) => {
            let mut removed = BTreeMap::new();
            for removal in removals {
                *removed.entry(removal.policy).or_default() += 1;
            }
            RetentionRun { at: now, error: None, removed }
        }
        Err(error) => {
            failed(error.category());
            tracing::error!(%error, category = error.category(), "applying retention failed");
            let removed = maintenance.runs.borrow().as_ref().map(|run| run.removed.clone()).unwrap_or_default();
            RetentionRun { at: now, error: Some(error.to_string()), removed }
        }
    };
    maintenance.runs.send_replace(Some(run));
}
