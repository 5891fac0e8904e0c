//! The Agency's status from what a reconcile found and did (pure).

use k8s_openapi::jiff::Timestamp;
use makonis_api::tenancy::{Agency, AgencyStatus, QuotaStatus};
use makonis_operator_kit::conditions::{DesiredCondition, merge_conditions};

/// What a reconcile ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every child is in place.
    Reconciled {
        /// Quota limits and usage, once the quota controller has reported them.
        quota: Option<QuotaStatus>,
        /// How many NetworkPolicies the agency has.
        network_policies: usize,
        /// How many RoleBindings the agency has.
        role_bindings: usize,
    },
    /// The spec breaks rules the controller checks; nothing was changed.
    Invalid(Vec<String>),
    /// A step failed; the message is the error chain.
    Failed {
        /// The bounded error category.
        category: &'static str,
        /// The error chain.
        message: String,
    },
    /// Removal is refused while the namespace holds workloads or data.
    RemovalBlocked(String),
    /// Removal is under way.
    Removing(String),
}

/// The status the Agency should have after `outcome`.
pub fn desired_status(agency: &Agency, outcome: &Outcome, now: Timestamp) -> AgencyStatus {
    let previous = agency.status.clone().unwrap_or_default();
    let namespace = Some(agency.namespace_name());
    let (conditions, quota) = match outcome {
        Outcome::Reconciled { quota, network_policies, role_bindings } => (
            [
                DesiredCondition::truthy(
                    "Ready",
                    "Reconciled",
                    format!(
                        "Namespace {} is in place with its ResourceQuota, LimitRange, {network_policies} NetworkPolicies and {role_bindings} RoleBindings.",
                        agency.namespace_name()
                    ),
                ),
                DesiredCondition::falsy("Degraded", "Reconciled", "The last reconcile succeeded."),
                DesiredCondition::falsy("Progressing", "Reconciled", "Nothing is in progress."),
            ],
            quota.clone().or(previous.quota.clone()),
        ),
        Outcome::Invalid(problems) => (
            [
                DesiredCondition::falsy("Ready", "InvalidSpec", format!("Fix the Agency: {}", problems.join("; "))),
                DesiredCondition::truthy("Degraded", "InvalidSpec", "The spec is invalid; nothing was changed."),
                DesiredCondition::falsy("Progressing", "InvalidSpec", "Waiting for a corrected spec."),
            ],
            previous.quota.clone(),
        ),
        Outcome::Failed { category, message } => (
            [
                DesiredCondition::falsy(
                    "Ready",
                    category,
                    format!(
                        "The last reconcile failed: {message}. It is retried with back-off; see the controller's Events and logs."
                    ),
                ),
                DesiredCondition::truthy("Degraded", category, message.clone()),
                DesiredCondition::falsy("Progressing", category, "Retrying with back-off."),
            ],
            previous.quota.clone(),
        ),
        Outcome::RemovalBlocked(message) => (
            [
                DesiredCondition::falsy("Ready", "DeletionBlocked", message.clone()),
                DesiredCondition::falsy(
                    "Degraded",
                    "DeletionBlocked",
                    "Removal waits for the namespace to be emptied.",
                ),
                DesiredCondition::falsy("Progressing", "DeletionBlocked", "Nothing is removed while data remains."),
            ],
            previous.quota.clone(),
        ),
        Outcome::Removing(message) => (
            [
                DesiredCondition::falsy("Ready", "Deleting", message.clone()),
                DesiredCondition::falsy("Degraded", "Deleting", "Removal is proceeding."),
                DesiredCondition::truthy("Progressing", "Deleting", message.clone()),
            ],
            previous.quota.clone(),
        ),
    };
    let generation = agency.metadata.generation;
    AgencyStatus {
        conditions: merge_conditions(&previous.conditions, conditions, generation, now),
        observed_generation: generation,
        namespace,
        quota,
    }
}

#[cfg(test)]
mod tests {
    use makonis_operator_kit::conditions::is_true;

    use super::*;
    use crate::test_support::sample_agency;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn reconciled() -> Outcome {
        Outcome::Reconciled { quota: None, network_policies: 3, role_bindings: 5 }
    }

    #[test]
    fn reconciled_agency_is_ready() {
        let mut agency = sample_agency("vdi");
        agency.metadata.generation = Some(4);
        let status = desired_status(&agency, &reconciled(), at(10));
        assert!(is_true(&status.conditions, "Ready"));
        assert!(!is_true(&status.conditions, "Degraded"));
        assert_eq!(status.observed_generation, Some(4));
        assert_eq!(status.namespace.as_deref(), Some("agency-vdi"));
    }

    #[test]
    fn steady_state_produces_an_identical_status() {
        let mut agency = sample_agency("vdi");
        agency.status = Some(desired_status(&agency, &reconciled(), at(10)));
        let again = desired_status(&agency, &reconciled(), at(99));
        assert_eq!(agency.status.as_ref(), Some(&again));
    }

    #[test]
    fn failures_say_why() {
        let outcome = Outcome::Failed { category: "Forbidden", message: "applying ResourceQuota: forbidden".into() };
        let status = desired_status(&sample_agency("vdi"), &outcome, at(1));
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.reason, "Forbidden");
        assert!(ready.message.contains("applying ResourceQuota: forbidden"));
        assert!(is_true(&status.conditions, "Degraded"));
    }

    #[test]
    fn blocked_removal_is_not_ready_and_names_what_is_left() {
        let status =
            desired_status(&sample_agency("vdi"), &Outcome::RemovalBlocked("still holds 1 Pod (p)".into()), at(1));
        let ready = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "DeletionBlocked"));
        assert!(ready.message.contains("1 Pod (p)"));
    }
}
