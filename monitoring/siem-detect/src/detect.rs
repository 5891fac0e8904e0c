//! One event through every rule: the logsource mapping, the platform's own fields, the
//! detection rules that apply to it, and the correlations their matches feed. Used alike by the engine and by replay,
//! so that a rule behaves the same in both.

use jiff::Timestamp;
use makonis_slo_core::HolidayCalendar;

use crate::correlate::{Config, Correlator, Dropped, Firing};
use crate::enrich::enrich;
use crate::fields::Record;
use crate::mapping::Mapping;
use crate::rules::{Meta, RuleSet};

/// Which rule raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A detection rule (index into [`RuleSet::rules`]).
    Detection(usize),
    /// A correlation (index into [`RuleSet::correlations`]).
    Correlation(usize),
}

/// An alert: a detection rule's match, or a correlation's firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert<R> {
    /// The rule that raised it.
    pub raised: Raised,
    /// The events, in event time order, each with its reference (a line of a file, a
    /// place in the store).
    pub events: Vec<(Timestamp, R)>,
    /// The correlation's group-by fields and their values (none for a detection).
    pub group: Vec<(String, String)>,
}

impl<R> Alert<R> {
    /// The first event's time.
    pub fn first(&self) -> Option<Timestamp> {
        self.events.first().map(|(t, _)| *t)
    }

    /// The last event's time.
    pub fn last(&self) -> Option<Timestamp> {
        self.events.last().map(|(t, _)| *t)
    }
}

/// What every event goes through once before any rule sees it: the logsource mapping
/// and the platform's own fields.
#[derive(Debug, Clone)]
pub struct Preparation {
    /// The logsource mapping.
    pub mapping: Mapping,
    /// The calendar working time is computed by.
    pub calendar: HolidayCalendar,
}

impl Default for Preparation {
    /// The shipped mapping and the Latvian calendar without declared days.
    fn default() -> Self {
        Self { mapping: crate::mapping::SHIPPED.clone(), calendar: HolidayCalendar::default() }
    }
}

impl Preparation {
    /// Maps a record's logsource and adds the platform's fields.
    pub fn prepare(&self, record: &mut Record) {
        self.mapping.apply(record);
        enrich(record, &self.calendar);
    }
}

/// Rules and their correlation state.
#[derive(Debug)]
pub struct Detector<R> {
    rules: RuleSet,
    correlator: Correlator<R>,
}

impl<R: Clone> Detector<R> {
    /// A detector of these rules.
    pub fn new(rules: RuleSet, config: Config) -> Self {
        let correlator = Correlator::new(&rules, config);
        Self { rules, correlator }
    }

    /// The rules.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// What a raised alert's rule says about itself.
    pub fn meta(&self, raised: Raised) -> &Meta {
        match raised {
            Raised::Detection(i) => &self.rules.rules[i].meta,
            Raised::Correlation(i) => &self.rules.correlations[i].meta,
        }
    }

    /// What correlation had to leave out so far.
    pub fn dropped(&self) -> Dropped {
        self.correlator.dropped()
    }

    /// How many correlation group keys are held.
    pub fn group_count(&self) -> usize {
        self.correlator.group_count()
    }

    /// Evaluates one event, [prepared](Preparation::prepare): the alerts of detection rules
    /// it matches and of the correlations it makes fire.
    pub fn evaluate(&mut self, record: &Record, reference: R) -> Vec<Alert<R>> {
        let matched: Vec<usize> = self
            .rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| rule.applies_to(&record.logsource) && rule.matches(record))
            .map(|(index, _)| index)
            .collect();
        let mut alerts: Vec<Alert<R>> = matched
            .iter()
            .filter(|&&i| self.rules.rules[i].alerts)
            .map(|&i| Alert {
                raised: Raised::Detection(i),
                events: vec![(record.time, reference.clone())],
                group: Vec::new(),
            })
            .collect();
        if !self.rules.correlations.is_empty() {
            let firings = self.correlator.observe(&self.rules, record, &matched, reference).unwrap_or_default();
            alerts.extend(firings.into_iter().map(from_firing));
        }
        alerts
    }

    /// Ends the input: the correlations whose windows were still open.
    pub fn finish(&mut self) -> Vec<Alert<R>> {
        self.correlator.finish(&self.rules).into_iter().map(from_firing).collect()
    }
}

fn from_firing<R>(firing: Firing<R>) -> Alert<R> {
    Alert { raised: Raised::Correlation(firing.correlation), events: firing.events, group: firing.group }
}
