//! The status of `DetectionRule`s and `ClusterDetectionRule`s: whether the rule object
//! compiled (or, with the line and construct, why not), the rules it holds and the
//! logsource mapping version it was compiled under, and its matches: those in the status
//! plus those raised since it was last written.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use makonis_api::security::{CompiledRule, DetectionRuleStatus};
use makonis_operator_kit::conditions::{DesiredCondition, merge_conditions};

use super::review::Review;

/// The status a rule object should have now.
pub fn rule_status(
    review: &Review,
    mapping_version: u32,
    generation: Option<i64>,
    existing: Option<&DetectionRuleStatus>,
    (matched, last_match): (i64, Option<Timestamp>),
    now: Timestamp,
) -> DetectionRuleStatus {
    let rules: Vec<CompiledRule> = review
        .summary()
        .into_iter()
        .map(|s| CompiledRule { id: s.id, title: s.title, kind: s.kind.to_owned() })
        .collect();
    let compiled = match review.refusal() {
        None => DesiredCondition::truthy(
            "Compiled",
            "Compiled",
            format!("{} rules compiled under logsource mapping version {mapping_version}", rules.len()),
        ),
        Some(refusal) => DesiredCondition::falsy(
            "Compiled",
            "Invalid",
            format!(
                "{refusal}; the SIEM does not evaluate this object until spec.sigma is corrected (makonis siem replay checks a rule offline)"
            ),
        ),
    };
    let k8s_now = k8s_openapi::jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or_default();
    let conditions: &[Condition] = existing.map(|s| s.conditions.as_slice()).unwrap_or_default();
    DetectionRuleStatus {
        rules,
        matches: existing.map_or(0, |s| s.matches) + matched,
        last_match_time: last_match
            .map(|t| t.to_string())
            .into_iter()
            .chain(existing.and_then(|s| s.last_match_time.clone()))
            .max_by_key(|t| t.parse::<Timestamp>().ok()),
        mapping_version: Some(i64::from(mapping_version)),
        observed_generation: generation,
        conditions: merge_conditions(conditions, [compiled], generation, k8s_now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::review::review;

    #[test]
    fn a_compiled_object_lists_its_rules_and_keeps_its_matches() {
        let sigma = "title: Root\nlogsource: {product: linux}\ndetection:\n  s:\n    user.name: root\n  condition: s\nlevel: high\n";
        let before = DetectionRuleStatus {
            matches: 7,
            last_match_time: Some("2026-12-07T00:00:00Z".into()),
            ..Default::default()
        };
        let status = rule_status(&review(sigma), 1, Some(3), Some(&before), (0, None), Timestamp::UNIX_EPOCH);
        assert_eq!(status.rules.len(), 1);
        assert_eq!((status.matches, status.last_match_time.as_deref()), (7, Some("2026-12-07T00:00:00Z")));
        let later: Timestamp = "2026-12-07T01:00:00Z".parse().unwrap();
        let counted = rule_status(&review(sigma), 1, Some(3), Some(&before), (2, Some(later)), Timestamp::UNIX_EPOCH);
        assert_eq!((counted.matches, counted.last_match_time.as_deref()), (9, Some("2026-12-07T01:00:00Z")));
        assert_eq!((status.mapping_version, status.observed_generation), (Some(1), Some(3)));
        assert_eq!(status.conditions[0].status, "True");
    }

    #[test]
    fn an_object_that_does_not_compile_says_where_and_what_to_do() {
        let status = rule_status(
            &review("title: x\ndetection:\n  s:\n    a|nope: 1\n  condition: s\n"),
            1,
            None,
            None,
            (0, None),
            Timestamp::UNIX_EPOCH,
        );
        let condition = &status.conditions[0];
        assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", "Invalid"));
        assert!(condition.message.starts_with("spec.sigma: line 4"), "{}", condition.message);
        assert!(status.rules.is_empty());
    }
}
