//! Streaming detection: every event the writer has stored is evaluated, on its own time,
//! as soon as it is stored; each alert is logged, counted, sent to Alertmanager and
//! recorded in the store together with how far detection has got, so that a restart
//! evaluates exactly what it had not: no silent gaps.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use makonis_siem_core::{block::BlockEvent, event::Event};
use tokio::sync::{mpsc, watch};

use super::{
    alert::{Reference, SecurityAlert},
    engine::{Engine, Mode, RuleObjectSource},
    metrics::DetectionMetrics,
};
use crate::store::{AlertFold, AlertRecord, Appended, Backend, PartitionKey, Store, StoreError, merge_events};

/// How far back, from the oldest position, a start looks for partitions to catch up
/// with: events may be kept by their own day up to a week late
/// (`makonis_siem_core::event::LATE_LIMIT`).
const CATCH_UP_DAYS: i64 = 8;

/// Detection's record of where it has got to, alerts and folded repeats not yet
/// recorded, and the alerts open to repeats.
struct Progress {
    store: Store,
    positions: BTreeMap<PartitionKey, u64>,
    changed: BTreeMap<PartitionKey, u64>,
    alerts: Vec<AlertRecord>,
    folds: Vec<AlertFold>,
    /// Per suppression key, the alert repeats are folded into and until when.
    open: BTreeMap<String, (String, Timestamp)>,
    /// How long after its last firing an alert takes repeats.
    suppression: SignedDuration,
}

impl Progress {
    /// Whether an event at `seq` of `key` is still to be evaluated, and marks it done.
    fn take(&mut self, key: PartitionKey, seq: u64) -> bool {
        let done = self.positions.entry(key).or_insert(0);
        if seq <= *done {
            return false;
        }
        *done = seq;
        self.changed.insert(key, seq);
        true
    }

    /// Keeps an alert to be recorded, or folds it into the alert of its rule and group
    /// that is still open to repeats; whether it was new.
    fn add(&mut self, alert: &SecurityAlert, now: Timestamp) -> bool {
        let key = alert.suppression_key();
        let until = now.saturating_add(self.suppression).unwrap_or(now);
        let last = alert.last().unwrap_or(now);
        if let Some((id, open_until)) = self.open.get_mut(&key)
            && now <= *open_until
        {
            *open_until = until;
            let events = alert.record(now).events;
            if let Some(pending) = self.alerts.iter_mut().find(|a| a.id == *id) {
                pending.firings += 1;
                pending.last = pending.last.max(last);
                pending.events = merge_events(&pending.events, &events);
            } else if let Some(fold) = self.folds.iter_mut().find(|f| f.id == *id) {
                fold.firings += 1;
                fold.last = fold.last.max(last);
                fold.events = merge_events(&fold.events, &events);
            } else {
                self.folds.push(AlertFold { id: id.clone(), firings: 1, last, events });
            }
            return false;
        }
        let record = alert.record(now);
        self.open.insert(key, (record.id.clone(), until));
        self.alerts.push(record);
        true
    }

    /// Records the positions, alerts and folds since the last record; kept for the next
    /// try when the store refuses.
    async fn record(&mut self) {
        let now = Timestamp::now();
        self.open.retain(|_, (_, until)| *until >= now);
        if self.changed.is_empty() && self.alerts.is_empty() && self.folds.is_empty() {
            return;
        }
        match self.store.record_detection(&self.changed, &self.alerts, &self.folds).await {
            Ok(()) => {
                self.changed.clear();
                self.alerts.clear();
                self.folds.clear();
            }
            Err(error) => {
                tracing::error!(%error, alerts = self.alerts.len(), "recording detection's progress failed; retried with the next batch")
            }
        }
    }
}

/// An event read back from the store, as the writer stored it.
fn stored_event(event: &BlockEvent) -> Event {
    let time = |us: i64| Timestamp::from_microsecond(us).unwrap_or_default();
    Event {
        timestamp: time(event.time),
        created: time(event.created),
        original: event.original.clone(),
        agency: event.agency.clone(),
        source: event.source.clone(),
        ..Event::default()
    }
}

/// Evaluates what the writer stores until it stops sending, taking rule objects from
/// `objects` as the refresh loop reads them. Before the first batch it rebuilds
/// correlation state from the events just before where it got to last time, and
/// evaluates, marked late, every event stored since.
pub async fn run(
    mut engine: Engine,
    backend: Backend,
    suppression: SignedDuration,
    mut stored: mpsc::Receiver<Vec<Appended>>,
    mut objects: watch::Receiver<Arc<Vec<RuleObjectSource>>>,
) {
    let store = loop {
        match Store::open_for_alerts(backend.clone()).await {
            Ok(store) => break store,
            Err(error) => {
                tracing::error!(%error, "opening the store for detection failed; retrying in 5 s (events wait in the store)");
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            }
        }
    };
    // The rule objects of the first status round: without them there is nothing to
    // rebuild or catch up with.
    if objects.changed().await.is_ok() {
        engine.update(&objects.borrow_and_update());
    }
    let mut progress = Progress {
        store,
        positions: BTreeMap::new(),
        changed: BTreeMap::new(),
        alerts: Vec::new(),
        folds: Vec::new(),
        open: BTreeMap::new(),
        suppression,
    };
    if let Err(error) = catch_up(&mut engine, &mut progress).await {
        tracing::error!(%error, "catching up with the store failed: events stored while detection was down may not be evaluated");
    }
    loop {
        tokio::select! {
            batch = stored.recv() => {
                let Some(batch) = batch else { break };
                for appended in batch {
                    live(&mut engine, &mut progress, appended).await;
                }
                progress.record().await;
            }
            changed = objects.changed() => {
                if changed.is_err() {
                    continue;
                }
                let sources = objects.borrow_and_update().clone();
                engine.update(&sources);
            }
        }
    }
    progress.record().await;
}

/// Evaluates one partition's appended events, after any the engine has not seen before
/// them (read from the store).
async fn live(engine: &mut Engine, progress: &mut Progress, appended: Appended) {
    let key = appended.key;
    let first = appended.first_seq();
    let done = progress.positions.get(&key).copied().unwrap_or(first - 1);
    if done + 1 < first {
        match progress.store.events_from(key, done + 1).await {
            Ok(missed) => {
                for event in missed.iter().filter(|e| e.seq < first) {
                    evaluate(engine, progress, &stored_event(event), key, event.seq, Mode::Live);
                }
            }
            Err(error) => {
                tracing::error!(partition = %key.name(), %error, "reading events detection has not seen failed")
            }
        }
    }
    progress.positions.entry(key).or_insert(first - 1);
    for (offset, event) in appended.events.iter().enumerate() {
        evaluate(engine, progress, event, key, first + offset as u64, Mode::Live);
    }
}

/// Evaluates one event unless it was evaluated before, reporting and keeping its alerts.
fn evaluate(engine: &mut Engine, progress: &mut Progress, event: &Event, key: PartitionKey, seq: u64, mode: Mode) {
    if mode != Mode::Warm && !progress.take(key, seq) {
        return;
    }
    let reference = Reference { partition: key, seq, source: event.source.clone(), received: event.created };
    let now = Timestamp::now();
    if mode != Mode::Warm
        && let Some(metrics) = &engine.metrics
    {
        metrics.lag.set(now.duration_since(event.created).as_secs_f64().max(0.0));
    }
    for alert in engine.evaluate(event, reference, mode) {
        let new = progress.add(&alert, now);
        report(&alert, new, engine.metrics.as_ref());
        if let Some(alertmanager) = &engine.alertmanager {
            alertmanager.notify(&alert, engine.metrics.as_ref());
        }
    }
}

/// After a start: the positions recorded; correlation state rebuilt from the events of
/// the last timespans before them; then every event stored since, in event time order.
/// On the store's first detection, detection starts at what the store holds now.
async fn catch_up(engine: &mut Engine, progress: &mut Progress) -> Result<(), StoreError> {
    let now = Timestamp::now();
    progress.positions = progress.store.detection_positions().await?;
    let first_run = progress.positions.is_empty();
    let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
    let since = today.checked_sub(jiff::Span::new().days(CATCH_UP_DAYS)).unwrap_or(today);
    let partitions = progress.store.partitions_since(since).await?;
    if first_run {
        for key in partitions {
            let last = progress.store.last_seq(key).await?;
            progress.positions.insert(key, last);
            progress.changed.insert(key, last);
        }
        progress.record().await;
        tracing::info!("detection starts with the events stored from now on");
        return Ok(());
    }
    let warm_from = now.saturating_sub(engine.reach()).unwrap_or(now);
    let mut pending: Vec<(Event, PartitionKey, u64, Mode)> = Vec::new();
    for key in partitions {
        let done = progress.positions.get(&key).copied().unwrap_or(0);
        let mut next = 1;
        loop {
            let events = progress.store.events_from(key, next).await?;
            let Some(last) = events.last().map(|e| e.seq) else { break };
            for event in &events {
                let event_time = Timestamp::from_microsecond(event.time).unwrap_or_default();
                if event.seq > done {
                    pending.push((stored_event(event), key, event.seq, Mode::CatchUp));
                } else if event_time >= warm_from {
                    pending.push((stored_event(event), key, event.seq, Mode::Warm));
                }
            }
            next = last + 1;
        }
    }
    pending.sort_by_key(|(event, ..)| event.timestamp);
    let late = pending.iter().filter(|(.., mode)| *mode == Mode::CatchUp).count();
    for (event, key, seq, mode) in &pending {
        evaluate(engine, progress, event, *key, *seq, *mode);
    }
    progress.record().await;
    tracing::info!(evaluated_late = late, rebuilt_from = pending.len() - late, "detection caught up with the store");
    Ok(())
}

/// Logs an alert as a structured record and counts it (a repeat folded into an open
/// alert as a suppressed one), with its delay from the receipt of its newest event.
fn report(alert: &SecurityAlert, new: bool, metrics: Option<&DetectionMetrics>) {
    let received = alert.events.iter().map(|(_, r)| r.received).max();
    let latency = received.map_or(0.0, |at| Timestamp::now().duration_since(at).as_secs_f64().max(0.0));
    if let Some(metrics) = metrics {
        if new {
            metrics.alerts.with_label_values(&[alert.level.as_str(), alert.kind]).inc();
        } else {
            metrics.suppressed.inc();
        }
        if !alert.late {
            metrics.latency.observe(latency);
        }
    }
    let group: Vec<String> = alert.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sources: std::collections::BTreeSet<&str> = alert.events.iter().map(|(_, r)| r.source.as_str()).collect();
    tracing::warn!(
        target: "makonis_siem::alert",
        object = %alert.object,
        rule_id = alert.rule_id.as_deref().unwrap_or_default(),
        title = %alert.title,
        level = %alert.level,
        kind = alert.kind,
        group = %group.join(","),
        events = alert.events.len(),
        first = %alert.events.first().map(|(t, _)| t.to_string()).unwrap_or_default(),
        last = %alert.events.last().map(|(t, _)| t.to_string()).unwrap_or_default(),
        sources = ?sources,
        late = alert.late,
        repeat = !new,
        delay_seconds = latency,
        "security alert"
    );
}
