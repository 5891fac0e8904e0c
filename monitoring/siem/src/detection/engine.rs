//! The rule objects in force, and one stored event evaluated by every enabled one whose
//! scope holds the event's agency.
//!
//! Each rule object keeps its own detector (its rules and their correlation state), kept
//! across refreshes while its spec is unchanged. An event is read and prepared (mapping,
//! working time) once for all of them. Each rule object's matches go to its status
//! ([`MatchCounts`]). Feeding it stored events, and recording what it raised, is
//! [`super::stream`]'s.

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

use super::{
    alert::{Reference, SecurityAlert},
    alertmanager::Alertmanager,
    metrics::DetectionMetrics,
    review::Review,
};

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
    pub(super) metrics: Option<DetectionMetrics>,
    pub(super) alertmanager: Option<Alertmanager>,
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

#[cfg(test)]
mod tests;
