//! Correlation on event time, with bounded state.
//!
//! Each correlation keeps, per group key, the matches of its rules within reach, in event
//! time order. The watermark is the latest event time seen less the allowed lateness: an
//! event at or after it counts in its window even if it arrives out of order; an event
//! before it is too late, counted and reported, and not correlated. State older than the
//! watermark less the timespan can no longer meet a new event and is dropped.
//!
//! A condition that can only become true as matches are added (`gt`, `gte`; an
//! expression without `not`) fires the moment some window of at most the timespan that
//! holds the new match meets it; the matches of that window are then consumed, so the
//! next firing needs the condition met again from scratch. A condition with an upper
//! bound (`lt`, `lte`, `eq`, `neq`) is judged once the window that starts at the group's
//! first match has closed (the watermark is past its end, or the input ended).

use std::collections::{BTreeSet, HashMap};

use jiff::{SignedDuration, Timestamp};
use rsigma_parser::ConditionExpr;
use serde_json::Value;

use crate::fields::Record;
use crate::rules::{Condition, Correlation, Kind, RuleSet};

/// How far out of order events may arrive, and the bounds of the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// How far behind the latest event time an event may be and still count.
    pub allowed_lateness: SignedDuration,
    /// Matches kept per correlation and group key; the oldest are dropped beyond it.
    pub max_matches_per_group: usize,
    /// Group keys kept per correlation; new keys are refused beyond it until old ones
    /// expire.
    pub max_groups: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self { allowed_lateness: SignedDuration::from_mins(5), max_matches_per_group: 10_000, max_groups: 1_000_000 }
    }
}

/// What the correlator had to leave out, for metrics and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Dropped {
    /// Events that arrived later than the allowed lateness.
    pub too_late: u64,
    /// Matches dropped because their group held the most it may.
    pub group_full: u64,
    /// Matches not kept because their correlation held the most group keys it may.
    pub groups_full: u64,
}

/// One firing of a correlation.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing<R> {
    /// The correlation (index into [`RuleSet::correlations`]).
    pub correlation: usize,
    /// The group-by fields and their values.
    pub group: Vec<(String, String)>,
    /// The matches that made it fire, in event time order.
    pub events: Vec<(Timestamp, R)>,
}

/// A match kept in a group's window.
#[derive(Debug, Clone)]
struct Entry<R> {
    time: Timestamp,
    /// Which of the correlation's rules matched (its place in `Correlation::rules`).
    slot: usize,
    /// `value_count`'s value.
    value: Option<String>,
    reference: R,
}

/// The correlator: one map of group keys to matches per correlation.
#[derive(Debug)]
pub struct Correlator<R> {
    config: Config,
    groups: Vec<HashMap<Vec<String>, Vec<Entry<R>>>>,
    latest: Option<Timestamp>,
    /// The watermark when state was last swept.
    swept: Option<Timestamp>,
    dropped: Dropped,
}

/// How far the watermark moves between sweeps of expired state: a sweep visits every
/// group key, so it is not done per event.
const SWEEP_EVERY: SignedDuration = SignedDuration::from_secs(1);

impl<R: Clone> Correlator<R> {
    /// A correlator for the correlations of a rule set.
    pub fn new(rules: &RuleSet, config: Config) -> Self {
        Self {
            config,
            groups: vec![HashMap::new(); rules.correlations.len()],
            latest: None,
            swept: None,
            dropped: Dropped::default(),
        }
    }

    /// The watermark: events before it are too late.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.latest.map(|t| t.saturating_sub(self.config.allowed_lateness).unwrap_or(t))
    }

    /// What was left out so far.
    pub fn dropped(&self) -> Dropped {
        self.dropped
    }

    /// How many group keys are held, over all correlations.
    pub fn group_count(&self) -> usize {
        self.groups.iter().map(HashMap::len).sum()
    }

    /// Takes an event that matched `matched` (indices into [`RuleSet::rules`], none for an
    /// event that matched nothing: its time still moves the watermark); returns the
    /// firings it causes, or `None` when it is too late to be correlated.
    pub fn observe(
        &mut self,
        rules: &RuleSet,
        record: &Record,
        matched: &[usize],
        reference: R,
    ) -> Option<Vec<Firing<R>>> {
        if self.watermark().is_some_and(|w| record.time < w) {
            self.dropped.too_late += 1;
            return None;
        }
        self.latest = Some(self.latest.map_or(record.time, |t| t.max(record.time)));
        let mut firings = Vec::new();
        for (index, correlation) in rules.correlations.iter().enumerate() {
            let slots: Vec<usize> = correlation
                .rules
                .iter()
                .enumerate()
                .filter(|(_, r)| matched.contains(r))
                .map(|(slot, _)| slot)
                .collect();
            let slots = match correlation.kind {
                Kind::Temporal | Kind::TemporalOrdered => slots,
                Kind::EventCount | Kind::ValueCount => slots.into_iter().take(1).collect(),
            };
            for slot in slots {
                if let Some(firing) = self.add(index, correlation, record, slot, reference.clone()) {
                    firings.push(firing);
                }
            }
        }
        let watermark = self.watermark();
        if watermark.is_some_and(|w| self.swept.is_none_or(|s| w.duration_since(s) >= SWEEP_EVERY)) {
            self.swept = watermark;
            firings.extend(self.expire(rules));
        }
        Some(firings)
    }

    /// Ends the input: judges every window still open.
    pub fn finish(&mut self, rules: &RuleSet) -> Vec<Firing<R>> {
        let mut firings = Vec::new();
        for (index, correlation) in rules.correlations.iter().enumerate() {
            if correlation.condition.rises() {
                continue;
            }
            let keys: Vec<Vec<String>> = self.groups[index].keys().cloned().collect();
            for key in keys {
                while let Some(firing) = self.close_first(index, correlation, &key) {
                    firings.extend(firing);
                }
            }
        }
        self.groups.iter_mut().for_each(HashMap::clear);
        firings
    }

    /// Adds one match to its group and fires if a condition that rises now holds.
    fn add(
        &mut self,
        index: usize,
        correlation: &Correlation,
        record: &Record,
        slot: usize,
        reference: R,
    ) -> Option<Firing<R>> {
        let key: Vec<String> =
            correlation.group_by.iter().map(|g| text_of(&record.fields, &g.per_rule[slot])).collect::<Option<_>>()?;
        let value = match &correlation.value_field {
            Some(fields) => Some(text_of(&record.fields, &fields[slot])?),
            None => None,
        };
        let groups = &mut self.groups[index];
        if !groups.contains_key(&key) && groups.len() >= self.config.max_groups {
            self.dropped.groups_full += 1;
            return None;
        }
        let entries = groups.entry(key.clone()).or_default();
        let at = entries.partition_point(|e| e.time <= record.time);
        entries.insert(at, Entry { time: record.time, slot, value, reference });
        if entries.len() > self.config.max_matches_per_group {
            entries.remove(0);
            self.dropped.group_full += 1;
        }
        if !correlation.condition.rises() {
            return None;
        }
        let at = entries.iter().rposition(|e| e.time == record.time && e.slot == slot)?;
        let used = fire(correlation, entries, at)?;
        let events = take(entries, &used);
        if entries.is_empty() {
            groups.remove(&key);
        }
        Some(Firing { correlation: index, group: group_of(correlation, key), events })
    }

    /// Drops what no new event can meet, and judges the windows of conditions with an
    /// upper bound that the watermark has closed.
    fn expire(&mut self, rules: &RuleSet) -> Vec<Firing<R>> {
        let Some(watermark) = self.watermark() else {
            return Vec::new();
        };
        let mut firings = Vec::new();
        for (index, correlation) in rules.correlations.iter().enumerate() {
            let horizon = watermark.saturating_sub(correlation.timespan).unwrap_or(watermark);
            if correlation.condition.rises() {
                self.groups[index].retain(|_, entries| {
                    entries.retain(|e| e.time >= horizon);
                    !entries.is_empty()
                });
                continue;
            }
            let closed: Vec<Vec<String>> = self.groups[index]
                .iter()
                .filter(|(_, entries)| entries.first().is_some_and(|e| e.time < horizon))
                .map(|(key, _)| key.clone())
                .collect();
            for key in closed {
                while self.groups[index].get(&key).and_then(|e| e.first()).is_some_and(|e| e.time < horizon) {
                    match self.close_first(index, correlation, &key) {
                        Some(firing) => firings.extend(firing),
                        None => break,
                    }
                }
            }
        }
        firings
    }

    /// Judges the window that starts at a group's first match and consumes it; `None`
    /// when the group is empty.
    fn close_first(&mut self, index: usize, correlation: &Correlation, key: &[String]) -> Option<Option<Firing<R>>> {
        let entries = self.groups[index].get_mut(key)?;
        let start = entries.first()?.time;
        let end = start.saturating_add(correlation.timespan).unwrap_or(start);
        let count = entries.partition_point(|e| e.time <= end);
        let window: Vec<usize> = (0..count).collect();
        let holds = meets(correlation, entries, &window).is_some();
        let events = take(entries, &window);
        if entries.is_empty() {
            self.groups[index].remove(key);
        }
        Some(holds.then(|| Firing { correlation: index, group: group_of(correlation, key.to_vec()), events }))
    }
}

/// The matches of the first window holding entry `at` that meets the condition.
fn fire<R>(correlation: &Correlation, entries: &[Entry<R>], at: usize) -> Option<Vec<usize>> {
    const MAX_ANCHORS: usize = 256;
    let time = entries[at].time;
    let earliest = time.saturating_sub(correlation.timespan).unwrap_or(time);
    let first = entries.partition_point(|e| e.time < earliest);
    let anchors: Vec<Timestamp> = if at + 1 == entries.len() {
        vec![earliest]
    } else {
        entries[first..=at].iter().map(|e| e.time).collect::<BTreeSet<_>>().into_iter().take(MAX_ANCHORS).collect()
    };
    anchors.into_iter().find_map(|start| {
        let end = start.saturating_add(correlation.timespan).unwrap_or(start);
        let window: Vec<usize> =
            (first..entries.len()).filter(|&i| entries[i].time >= start && entries[i].time <= end).collect();
        meets(correlation, entries, &window)
    })
}

/// Whether the matches of a window meet the condition, and which of them made it.
fn meets<R>(correlation: &Correlation, entries: &[Entry<R>], window: &[usize]) -> Option<Vec<usize>> {
    match correlation.kind {
        Kind::EventCount => {
            let Condition::Threshold(bounds) = &correlation.condition else { return None };
            Condition::holds(bounds, window.len() as u64).then(|| window.to_vec())
        }
        Kind::ValueCount => {
            let Condition::Threshold(bounds) = &correlation.condition else { return None };
            let distinct: BTreeSet<&str> = window.iter().filter_map(|&i| entries[i].value.as_deref()).collect();
            Condition::holds(bounds, distinct.len() as u64).then(|| window.to_vec())
        }
        Kind::Temporal => {
            let present: BTreeSet<usize> = window.iter().map(|&i| entries[i].slot).collect();
            all_or_condition(correlation, &present).then(|| window.to_vec())
        }
        Kind::TemporalOrdered => {
            let mut sequence = Vec::new();
            for &i in window {
                if entries[i].slot == sequence.len() {
                    sequence.push(i);
                    if sequence.len() == correlation.rules.len() {
                        return Some(sequence);
                    }
                }
            }
            None
        }
    }
}

/// A temporal condition: every rule by default, a count of distinct rules, or an
/// expression over the rules' ids and names.
fn all_or_condition(correlation: &Correlation, present: &BTreeSet<usize>) -> bool {
    match &correlation.condition {
        Condition::Threshold(bounds) if bounds.is_empty() => present.len() == correlation.rules.len(),
        Condition::Threshold(bounds) => Condition::holds(bounds, present.len() as u64),
        Condition::Expression(expression) => evaluate(expression, correlation, present),
    }
}

fn evaluate(expression: &ConditionExpr, correlation: &Correlation, present: &BTreeSet<usize>) -> bool {
    match expression {
        ConditionExpr::And(parts) => parts.iter().all(|p| evaluate(p, correlation, present)),
        ConditionExpr::Or(parts) => parts.iter().any(|p| evaluate(p, correlation, present)),
        ConditionExpr::Not(part) => !evaluate(part, correlation, present),
        ConditionExpr::Identifier(name) => correlation
            .rule_names
            .iter()
            .enumerate()
            .any(|(slot, names)| names.contains(name) && present.contains(&slot)),
        ConditionExpr::Selector { .. } => false,
    }
}

/// Removes the entries at `used` (ascending) and returns them in time order.
fn take<R>(entries: &mut Vec<Entry<R>>, used: &[usize]) -> Vec<(Timestamp, R)> {
    let mut taken = Vec::with_capacity(used.len());
    for &i in used.iter().rev() {
        let entry = entries.remove(i);
        taken.push((entry.time, entry.reference));
    }
    taken.reverse();
    taken
}

fn group_of(correlation: &Correlation, key: Vec<String>) -> Vec<(String, String)> {
    correlation.group_by.iter().map(|g| g.name.clone()).zip(key).collect()
}

/// A field's value as text: scalars as written, absent or null as none.
pub fn text_of(fields: &Value, name: &str) -> Option<String> {
    let value = fields.get(name).or_else(|| dotted(fields, name))?;
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A nested field by its dotted path.
fn dotted<'a>(fields: &'a Value, name: &str) -> Option<&'a Value> {
    name.split('.').try_fold(fields, |value, part| value.get(part))
}

#[cfg(test)]
mod tests;
