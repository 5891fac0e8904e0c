//! Status conditions, set the Kubernetes way.
//!
//! A condition's `lastTransitionTime` changes only when its status changes, so that
//! re-running a reconcile that finds the same state produces the same conditions and
//! therefore no status write (see [`crate::status`]).

use k8s_openapi::{
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
    jiff::Timestamp,
};

/// A condition as a controller wants it to read, before time stamps are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredCondition {
    /// The condition type, e.g. `Ready`.
    pub type_: &'static str,
    /// Whether the condition holds.
    pub status: bool,
    /// One `PascalCase` word saying why.
    pub reason: &'static str,
    /// A sentence for people: what is wrong and what to do about it.
    pub message: String,
}

impl DesiredCondition {
    /// A condition that holds.
    pub fn truthy(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self { type_, status: true, reason, message: message.into() }
    }

    /// A condition that does not hold.
    pub fn falsy(type_: &'static str, reason: &'static str, message: impl Into<String>) -> Self {
        Self { type_, status: false, reason, message: message.into() }
    }
}

/// Merges `desired` into `existing`, returning the new condition list.
///
/// Conditions keep their `lastTransitionTime` when their status is unchanged; changed or
/// new ones get `now`. Conditions of other types are kept as they are, and the result is
/// sorted by type so that it compares equal whenever the content is equal.
pub fn merge_conditions(
    existing: &[Condition],
    desired: impl IntoIterator<Item = DesiredCondition>,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<Condition> {
    let mut merged: Vec<Condition> = existing.to_vec();
    for want in desired {
        let status = if want.status { "True" } else { "False" };
        let previous = merged.iter().position(|c| c.type_ == want.type_);
        let transition = match previous.map(|i| &merged[i]) {
            Some(old) if old.status == status => old.last_transition_time.clone(),
            _ => Time(now),
        };
        let condition = Condition {
            type_: want.type_.to_string(),
            status: status.to_string(),
            reason: want.reason.to_string(),
            message: want.message,
            observed_generation: generation,
            last_transition_time: transition,
        };
        match previous {
            Some(i) => merged[i] = condition,
            None => merged.push(condition),
        }
    }
    merged.sort_by(|a, b| a.type_.cmp(&b.type_));
    merged
}

/// Whether the condition of `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions.iter().any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    #[test]
    fn new_condition_gets_now() {
        let merged = merge_conditions(&[], [DesiredCondition::truthy("Ready", "Reconciled", "ok")], Some(3), at(100));
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].last_transition_time, Time(at(100)));
        assert_eq!(merged[0].observed_generation, Some(3));
        assert_eq!(merged[0].status, "True");
    }

    #[test]
    fn unchanged_status_keeps_transition_time_even_if_message_changes() {
        let first = merge_conditions(&[], [DesiredCondition::falsy("Ready", "Blocked", "2 pods")], None, at(100));
        let second = merge_conditions(&first, [DesiredCondition::falsy("Ready", "Blocked", "1 pod")], None, at(200));
        assert_eq!(second[0].last_transition_time, Time(at(100)));
        assert_eq!(second[0].message, "1 pod");
    }

    #[test]
    fn changed_status_moves_transition_time() {
        let first = merge_conditions(&[], [DesiredCondition::falsy("Ready", "Blocked", "x")], None, at(100));
        let second = merge_conditions(&first, [DesiredCondition::truthy("Ready", "Reconciled", "y")], None, at(200));
        assert_eq!(second[0].last_transition_time, Time(at(200)));
    }

    #[test]
    fn same_input_twice_is_equal_so_no_write_follows() {
        let want = || {
            [
                DesiredCondition::truthy("Ready", "Reconciled", "ok"),
                DesiredCondition::falsy("Degraded", "Reconciled", "ok"),
            ]
        };
        let first = merge_conditions(&[], want(), Some(1), at(100));
        let second = merge_conditions(&first, want(), Some(1), at(500));
        assert_eq!(first, second);
    }

    #[test]
    fn other_types_are_kept_and_order_is_stable() {
        let first = merge_conditions(&[], [DesiredCondition::truthy("Ready", "R", "m")], None, at(1));
        let second = merge_conditions(&first, [DesiredCondition::falsy("Degraded", "D", "m")], None, at(2));
        let types: Vec<_> = second.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Degraded", "Ready"]);
        assert!(is_true(&second, "Ready"));
        assert!(!is_true(&second, "Degraded"));
    }
}
