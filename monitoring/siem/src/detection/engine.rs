//! Streaming detection: every event the writer has stored is evaluated, on its own time,
//! by every enabled rule object whose scope holds the event's agency, as soon as it is
//! stored.
//!
//! Each rule object keeps its own detector (its rules and their correlation state), kept
//! across refreshes while its spec is unchanged. An event is read and prepared (mapping,
//! working time) once for all of them. Each alert is logged as a structured record,
//! counted, and recorded in the store together with how far detection has got, so that a
//! restart evaluates exactly what it had not: no silent gaps. Each rule object's matches
//! go to its status.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use makonis_api::security::Severity;
use makonis_siem_core::{block::BlockEvent, event::Event};
use makonis_siem_detect::{
    correlate::Config,
    detect::{Alert, Detector, Preparation, Raised},
    input::stored_record,
};
use tokio::sync::{mpsc, watch};

use super::{
    alert::{Reference, SecurityAlert},
    alertmanager::Alertmanager,
    metrics::DetectionMetrics,
    review::Review,
};
use crate::store::{AlertFold, AlertRecord, Appended, Backend, PartitionKey, Store, StoreError};

/// Which agencies' events a rule object sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// An agency's own rule: that agency's events only.
    Agency(String),
    /// A platform rule: these agencies' events; every agency's and the platform's when
    /// empty.
    Agencies(Vec<String>),
    /// A DetectionRule outside any agency namespace: nothing.
    Nothing,
}

impl Scope {
    /// Whether an event of `agency` (none: the platform's) is in scope.
    pub fn holds(&self, agency: Option<&str>) -> bool {
        match self {
            Scope::Agency(code) => agency == Some(code.as_str()),
            Scope::Agencies(codes) => codes.is_empty() || agency.is_some_and(|a| codes.iter().any(|c| c == a)),
            Scope::Nothing => false,
        }
    }
}

/// A rule object as the refresh loop last read it.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleObjectSource {
    /// `DetectionRule namespace/name` or `ClusterDetectionRule name`: how its matches are
    /// filed and its alerts name it.
    pub key: String,
    /// Its UID and spec generation: a detector is rebuilt only when they change.
    pub version: (String, i64),
    /// Whose events it sees.
    pub scope: Scope,
    /// Whether it is evaluated.
    pub enabled: bool,
    /// The level its alerts take instead of the rules' own.
    pub severity: Option<Severity>,
    /// `spec.sigma`.
    pub sigma: String,
}

/// How an event is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As it is stored.
    Live,
    /// Stored while detection was not running, evaluated after a start: its alerts are
    /// marked late.
    CatchUp,
    /// Evaluated before a restart: it only rebuilds correlation state, and raises nothing
    /// again.
    Warm,
}

/// Matches per rule object not yet written to its status: (how many, the newest event
/// time).
#[derive(Debug, Default)]
pub struct MatchCounts(Mutex<BTreeMap<String, (i64, Option<Timestamp>)>>);

impl MatchCounts {
    fn add(&self, key: &str, at: Timestamp) {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = counts.entry(key.to_owned()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(Some(at));
    }

    /// Takes the counts of one rule object, to be written.
    pub fn take(&self, key: &str) -> (i64, Option<Timestamp>) {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(key).unwrap_or_default()
    }

    /// Gives back counts whose write failed, to be written next round.
    pub fn give_back(&self, key: &str, (count, at): (i64, Option<Timestamp>)) {
        if count == 0 {
            return;
        }
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = counts.entry(key.to_owned()).or_default();
        entry.0 += count;
        entry.1 = entry.1.max(at);
    }
}

/// A rule object in force: its source and its detector.
struct Loaded {
    source: RuleObjectSource,
    detector: Detector<Reference>,
}

/// The rule objects in force and what every event goes through first.
pub struct Engine {
    preparation: Preparation,
    config: Config,
    loaded: Vec<Loaded>,
    counts: Arc<MatchCounts>,
    metrics: Option<DetectionMetrics>,
    alertmanager: Option<Alertmanager>,
}

impl Engine {
    /// An engine with no rule objects yet.
    pub fn new(
        preparation: Preparation,
        config: Config,
        counts: Arc<MatchCounts>,
        metrics: Option<DetectionMetrics>,
    ) -> Self {
        Self { preparation, config, loaded: Vec::new(), counts, metrics, alertmanager: None }
    }

    /// The same engine, sending every alert to Alertmanager as well.
    pub fn with_alertmanager(self, alertmanager: Alertmanager) -> Self {
        Self { alertmanager: Some(alertmanager), ..self }
    }

    /// Takes the rule objects as now read: an unchanged one keeps its detector and its
    /// correlation state, a changed or new one is compiled, a disabled or invalid one is
    /// dropped.
    pub fn update(&mut self, sources: &[RuleObjectSource]) {
        let mut previous: BTreeMap<String, Loaded> =
            std::mem::take(&mut self.loaded).into_iter().map(|l| (l.source.key.clone(), l)).collect();
        let (mut disabled, mut invalid) = (0, 0);
        for source in sources {
            if !source.enabled {
                disabled += 1;
                continue;
            }
            match previous.remove(&source.key) {
                Some(mut kept) if kept.source.version == source.version => {
                    kept.source = source.clone();
                    self.loaded.push(kept);
                }
                _ => match super::review::review(&source.sigma) {
                    Review::Compiled(rules) => {
                        self.loaded.push(Loaded { source: source.clone(), detector: Detector::new(rules, self.config) })
                    }
                    Review::Refused(_) => invalid += 1,
                },
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.rules.with_label_values(&["active"]).set(self.loaded.len() as i64);
            metrics.rules.with_label_values(&["disabled"]).set(disabled);
            metrics.rules.with_label_values(&["invalid"]).set(invalid);
        }
    }

    /// How far back correlation state reaches: the longest timespan of the correlations
    /// in force, plus the allowed lateness. A restart rebuilds state from that far back.
    pub fn reach(&self) -> jiff::SignedDuration {
        let longest = self
            .loaded
            .iter()
            .flat_map(|l| l.detector.rules().correlations.iter().map(|c| c.timespan))
            .max()
            .unwrap_or_default();
        longest + self.config.allowed_lateness
    }

    /// Evaluates one stored event by every rule object in scope; the alerts it raises
    /// (none when only warming up).
    pub fn evaluate(&mut self, event: &Event, reference: Reference, mode: Mode) -> Vec<SecurityAlert> {
        if let Some(metrics) = &self.metrics
            && mode != Mode::Warm
        {
            metrics.events.inc();
        }
        let in_scope: Vec<usize> =
            (0..self.loaded.len()).filter(|&i| self.loaded[i].source.scope.holds(event.agency.as_deref())).collect();
        if in_scope.is_empty() {
            return Vec::new();
        }
        let mut record = match stored_record(&event.original, event.timestamp, event.created) {
            Ok(record) => record,
            Err(error) => {
                tracing::debug!(source = %event.source, %error, "a stored event is not a record detection reads");
                if let Some(metrics) = &self.metrics {
                    metrics.unreadable.inc();
                }
                return Vec::new();
            }
        };
        self.preparation.prepare(&mut record);
        let mut raised = Vec::new();
        for index in in_scope {
            let loaded = &mut self.loaded[index];
            let late_before = loaded.detector.dropped().too_late;
            let alerts = loaded.detector.evaluate(&record, reference.clone());
            if let Some(metrics) = &self.metrics {
                metrics.too_late.inc_by(loaded.detector.dropped().too_late - late_before);
            }
            if mode != Mode::Warm {
                raised
                    .extend(alerts.into_iter().map(|alert| security_alert(loaded, alert, event.agency.clone(), mode)));
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.groups.set(self.loaded.iter().map(|l| l.detector.group_count() as i64).sum());
        }
        for alert in &raised {
            self.counts.add(&alert.object, alert.events.last().map_or(event.timestamp, |(t, _)| *t));
        }
        raised
    }
}

/// An alert of a rule object's detector, with the object's name and severity.
fn security_alert(loaded: &Loaded, alert: Alert<Reference>, agency: Option<String>, mode: Mode) -> SecurityAlert {
    let meta = loaded.detector.meta(alert.raised);
    let level = match loaded.source.severity {
        Some(severity) => serde_json::to_value(severity).ok().and_then(|v| v.as_str().map(str::to_owned)),
        None => meta.level.clone(),
    };
    SecurityAlert {
        object: loaded.source.key.clone(),
        rule_id: meta.id.clone().or_else(|| meta.name.clone()),
        title: meta.title.clone(),
        level: level.unwrap_or_else(|| "medium".to_owned()),
        kind: match alert.raised {
            Raised::Detection(_) => "detection",
            Raised::Correlation(_) => "correlation",
        },
        group: alert.group,
        events: alert.events,
        agency,
        late: mode == Mode::CatchUp,
    }
}

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
            if let Some(pending) = self.alerts.iter_mut().find(|a| a.id == *id) {
                pending.firings += 1;
                pending.last = pending.last.max(last);
            } else if let Some(fold) = self.folds.iter_mut().find(|f| f.id == *id) {
                fold.firings += 1;
                fold.last = fold.last.max(last);
            } else {
                self.folds.push(AlertFold { id: id.clone(), firings: 1, last });
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
        match Store::open_for_detection(backend.clone()).await {
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

#[cfg(test)]
mod tests;
