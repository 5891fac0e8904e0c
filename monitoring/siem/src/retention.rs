//! RetentionPolicy objects as the core's retention policies, and their status from what
//! the last round of retention did: pure.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use makonis_api::security::{RetentionPolicy, RetentionPolicyStatus};
use makonis_operator_kit::conditions::{DesiredCondition, merge_conditions};
use makonis_siem_core::retention::{Hold, Months, Policy, SourceCategory};

/// What the last round of retention did, as the writer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRun {
    /// When it ran.
    pub at: Timestamp,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Partitions removed so far (every removal the store records), by the policy whose
    /// months decided.
    pub removed: BTreeMap<String, i64>,
}

/// The status a RetentionPolicy should have now: its holds in force, the last round of
/// retention and what it removed under this policy, and whether the SIEM uses it.
pub fn policy_status(
    object: &RetentionPolicy,
    used: &Result<Policy, String>,
    run: Option<&RetentionRun>,
    now: Timestamp,
    existing: &[Condition],
) -> RetentionPolicyStatus {
    let name = object.name_any();
    let ready = match used {
        Ok(_) => DesiredCondition::truthy("Ready", "Accepted", "the SIEM keeps events under this policy"),
        Err(error) => DesiredCondition::falsy(
            "Ready",
            "Invalid",
            format!("{error}: the SIEM ignores this policy and applies the others; correct it"),
        ),
    };
    let applied = match run {
        None => DesiredCondition::falsy("Applied", "Waiting", "retention has not run since the SIEM started"),
        Some(RetentionRun { error: Some(error), .. }) => DesiredCondition::falsy(
            "Applied",
            "Failed",
            format!("{error}: nothing was removed; the SIEM tries again next round"),
        ),
        Some(RetentionRun { at, .. }) => {
            DesiredCondition::truthy("Applied", "Applied", format!("retention last ran at {at}"))
        }
    };
    let k8s_now = k8s_openapi::jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or_default();
    RetentionPolicyStatus {
        active_holds: object
            .spec
            .legal_holds
            .iter()
            .filter(|hold| hold.to.parse::<Timestamp>().is_ok_and(|to| to > now))
            .count() as i32,
        last_run: run.map(|run| run.at.to_string()),
        partitions_removed: run.and_then(|run| run.removed.get(&name)).copied().unwrap_or(0),
        conditions: merge_conditions(existing, [ready, applied], object.metadata.generation, k8s_now),
    }
}

/// The core's policy of a RetentionPolicy, or why it cannot be used (the API server's
/// validation makes that unlikely; an object written against an older schema can be).
pub fn to_policy(object: &RetentionPolicy) -> Result<Policy, String> {
    let name = object.name_any();
    let m = &object.spec.months;
    let mut months = std::collections::BTreeMap::new();
    for (category, value) in [
        (SourceCategory::Authentication, m.authentication),
        (SourceCategory::Directory, m.directory),
        (SourceCategory::PlatformAudit, m.platform_audit),
        (SourceCategory::System, m.system),
        (SourceCategory::Network, m.network),
        (SourceCategory::Application, m.application),
    ] {
        months.insert(category, Months::new(i64::from(value)).map_err(|e| format!("{}: {e}", category.as_str()))?);
    }
    let mut holds = Vec::new();
    for hold in &object.spec.legal_holds {
        let time = |text: &str| text.parse().map_err(|_| format!("legal hold {}: {text:?} is not a time", hold.name));
        holds.push(
            Hold::new(
                format!("{name}/{}", hold.name),
                time(&hold.from)?,
                time(&hold.to)?,
                hold.sources.iter().cloned().collect(),
                hold.agency.clone(),
            )
            .map_err(|e| e.to_string())?,
        );
    }
    Ok(Policy { name, months, holds })
}

#[cfg(test)]
mod tests {
    use makonis_api::security::{CategoryMonths, LegalHold, RetentionPolicySpec};

    use super::*;

    fn policy(months: i32, holds: Vec<LegalHold>) -> RetentionPolicy {
        RetentionPolicy::new(
            "default",
            RetentionPolicySpec {
                months: CategoryMonths {
                    authentication: months,
                    directory: months,
                    platform_audit: months,
                    system: months,
                    network: months,
                    application: months,
                },
                legal_holds: holds,
            },
        )
    }

    #[test]
    fn months_and_holds_carry_over() {
        let hold = LegalHold {
            name: "case-17".into(),
            from: "2025-09-01T00:00:00Z".into(),
            to: "2026-01-01T00:00:00Z".into(),
            sources: vec!["agency-lm/dc".into()],
            agency: None,
            reason: "request".into(),
        };
        let converted = to_policy(&policy(12, vec![hold])).unwrap();
        assert_eq!(converted.months[&SourceCategory::Network].get(), 12);
        assert_eq!(converted.holds[0].name, "default/case-17");
        assert!(converted.holds[0].sources.contains("agency-lm/dc"));
    }

    #[test]
    fn the_status_counts_holds_in_force_and_removals_and_says_what_is_wrong() {
        let now: Timestamp = "2026-12-06T12:00:00Z".parse().unwrap();
        let hold = |name: &str, to: &str| LegalHold {
            name: name.into(),
            from: "2025-09-01T00:00:00Z".into(),
            to: to.into(),
            sources: vec![],
            agency: Some("lm".into()),
            reason: "request".into(),
        };
        let object = policy(12, vec![hold("over", "2026-01-01T00:00:00Z"), hold("held", "2027-01-01T00:00:00Z")]);
        let run = RetentionRun { at: now, error: None, removed: [("default".to_owned(), 3)].into() };
        let status = policy_status(&object, &to_policy(&object), Some(&run), now, &[]);
        assert_eq!((status.active_holds, status.partitions_removed), (1, 3));
        assert_eq!(status.last_run.as_deref(), Some("2026-12-06T12:00:00Z"));
        let reasons = |status: &RetentionPolicyStatus| {
            status.conditions.iter().map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone())).collect::<Vec<_>>()
        };
        let condition =
            |type_: &str, status: &str, reason: &str| (type_.to_owned(), status.to_owned(), reason.to_owned());
        assert_eq!(reasons(&status), [condition("Applied", "True", "Applied"), condition("Ready", "True", "Accepted")]);

        let failed = RetentionRun { error: Some("store database: disk I/O error".into()), ..run };
        let invalid = policy(3, vec![]);
        let status = policy_status(&invalid, &to_policy(&invalid), Some(&failed), now, &[]);
        assert_eq!(reasons(&status), [condition("Applied", "False", "Failed"), condition("Ready", "False", "Invalid")]);
        assert!(status.conditions[0].message.contains("disk I/O error"), "{:?}", status.conditions);
        assert!(status.conditions[1].message.starts_with("authentication: 3 months"), "{:?}", status.conditions);
        let waiting = policy_status(&object, &to_policy(&object), None, now, &[]);
        assert_eq!((waiting.last_run.as_deref(), waiting.partitions_removed), (None, 0));
        assert_eq!(reasons(&waiting)[0], condition("Applied", "False", "Waiting"));
    }

    #[test]
    fn an_object_the_api_server_should_have_refused_is_refused_here_too() {
        assert_eq!(
            to_policy(&policy(3, vec![])).unwrap_err(),
            "authentication: 3 months is outside the 6 to 18 months Regulation No. 442 requires"
        );
    }
}
