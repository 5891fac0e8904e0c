//! Streaming detection: every event the writer has stored is evaluated, on its own time,
//! by every enabled rule object whose scope holds the event's agency, as soon as it is
//! stored.
//!
//! Each rule object keeps its own detector (its rules and their correlation state), kept
//! across refreshes while its spec is unchanged. An event is read and prepared (mapping,
//! working time) once for all of them. Each alert is logged as a structured record and
//! counted; each rule object's matches go to its status.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use makonis_api::security::Severity;
use makonis_siem_core::event::Event;
use makonis_siem_detect::{
    correlate::Config,
    detect::{Alert, Detector, Preparation, Raised},
    input::stored_record,
};
use tokio::sync::{mpsc, watch};

use super::{metrics::DetectionMetrics, review::Review};

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

/// Where an alert's event came from: its LogSource and when it was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The LogSource (`namespace/name`).
    pub source: String,
    /// When the SIEM received it.
    pub received: Timestamp,
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
}

/// An alert as raised: what its log record and the metrics say of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityAlert {
    /// The rule object.
    pub object: String,
    /// The Sigma rule's id (or name).
    pub rule_id: Option<String>,
    /// Its title.
    pub title: String,
    /// The level: the object's severity override, or the rule's level (`medium` when it
    /// has none).
    pub level: String,
    /// `detection` or `correlation`.
    pub kind: &'static str,
    /// The group-by fields and values.
    pub group: Vec<(String, String)>,
    /// The events' times and origins, in event time order.
    pub events: Vec<(Timestamp, Reference)>,
}

impl Engine {
    /// An engine with no rule objects yet.
    pub fn new(
        preparation: Preparation,
        config: Config,
        counts: Arc<MatchCounts>,
        metrics: Option<DetectionMetrics>,
    ) -> Self {
        Self { preparation, config, loaded: Vec::new(), counts, metrics }
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

    /// Evaluates one stored event by every rule object in scope; the alerts it raises.
    pub fn evaluate(&mut self, event: &Event) -> Vec<SecurityAlert> {
        if let Some(metrics) = &self.metrics {
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
        let reference = Reference { source: event.source.clone(), received: event.created };
        let mut raised = Vec::new();
        for index in in_scope {
            let loaded = &mut self.loaded[index];
            let late_before = loaded.detector.dropped().too_late;
            let alerts = loaded.detector.evaluate(&record, reference.clone());
            if let Some(metrics) = &self.metrics {
                metrics.too_late.inc_by(loaded.detector.dropped().too_late - late_before);
            }
            for alert in alerts {
                raised.push(security_alert(loaded, alert));
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
fn security_alert(loaded: &Loaded, alert: Alert<Reference>) -> SecurityAlert {
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
    }
}

/// Evaluates what the writer stored until it stops sending, taking rule objects from
/// `objects` as the refresh loop reads them.
pub async fn run(
    mut engine: Engine,
    mut stored: mpsc::Receiver<Vec<Event>>,
    mut objects: watch::Receiver<Arc<Vec<RuleObjectSource>>>,
) {
    engine.update(&objects.borrow_and_update());
    loop {
        tokio::select! {
            batch = stored.recv() => {
                let Some(batch) = batch else { break };
                for event in &batch {
                    for alert in engine.evaluate(event) {
                        report(&alert, engine.metrics.as_ref());
                    }
                }
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
}

/// Logs an alert as a structured record and counts it, with its latency from the
/// receipt of its newest event.
fn report(alert: &SecurityAlert, metrics: Option<&DetectionMetrics>) {
    let received = alert.events.iter().map(|(_, r)| r.received).max();
    let latency = received.map_or(0.0, |at| Timestamp::now().duration_since(at).as_secs_f64().max(0.0));
    if let Some(metrics) = metrics {
        metrics.alerts.with_label_values(&[alert.level.as_str(), alert.kind]).inc();
        metrics.latency.observe(latency);
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
        latency_seconds = latency,
        "security alert"
    );
}

#[cfg(test)]
mod tests;
