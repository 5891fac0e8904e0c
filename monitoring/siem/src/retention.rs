//! RetentionPolicy objects as the core's retention policies.

use kube::ResourceExt;
use makonis_api::security::RetentionPolicy;
use makonis_siem_core::retention::{Hold, Months, Policy, SourceCategory};

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
    fn an_object_the_api_server_should_have_refused_is_refused_here_too() {
        assert_eq!(
            to_policy(&policy(3, vec![])).unwrap_err(),
            "authentication: 3 months is outside the 6 to 18 months Regulation No. 442 requires"
        );
    }
}
