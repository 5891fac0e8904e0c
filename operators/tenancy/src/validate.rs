//! Checks the controller makes before building anything (pure).
//!
//! The API server already enforces the schema and CEL rules; these checks repeat the
//! ones a stale CRD could miss and add those that need more than one field.

use std::collections::BTreeSet;

use makonis_api::{
    quantity::ParsedQuantity,
    tenancy::{AgencySpec, Isolation},
};

/// Returns every problem found in `name` / `spec`, each naming its field.
pub fn validate(name: &str, spec: &AgencySpec) -> Vec<String> {
    let mut problems = Vec::new();
    if name != spec.code {
        problems.push(format!("spec.code: must equal metadata.name {name:?}, found {:?}", spec.code));
    }
    for (field, value) in [("cpu", &spec.quota.cpu), ("memory", &spec.quota.memory), ("storage", &spec.quota.storage)] {
        match ParsedQuantity::parse(&value.0) {
            Ok(q) if q.is_negative() => {
                problems.push(format!("spec.quota.{field}: must not be negative, found {:?}", value.0))
            }
            Ok(_) => {}
            Err(error) => problems.push(format!("spec.quota.{field}: {error}")),
        }
    }
    if spec.contacts.is_empty() {
        problems.push("spec.contacts: at least one contact is required".into());
    }
    let groups = &spec.directory.groups;
    let names = [&groups.admins, &groups.requesters, &groups.approvers, &groups.security_officers, &groups.viewers];
    if names.iter().collect::<BTreeSet<_>>().len() != names.len() {
        problems.push(
            "spec.directory.groups: each role needs its own group, so that roles can be granted separately".into(),
        );
    }
    let network = &spec.network;
    match network.isolation {
        Isolation::Isolated if !network.allowed_agencies.is_empty() => {
            problems.push("spec.network.allowedAgencies: may only be set when isolation is AllowList".into())
        }
        Isolation::AllowList if network.allowed_agencies.is_empty() => {
            problems.push("spec.network.allowedAgencies: isolation AllowList needs at least one agency".into())
        }
        _ => {}
    }
    if network.allowed_agencies.contains(&spec.code) {
        problems.push("spec.network.allowedAgencies: an agency cannot list itself".into());
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_spec;

    #[test]
    fn sample_is_valid() {
        assert_eq!(validate("vdi", &sample_spec("vdi")), Vec::<String>::new());
    }

    #[test]
    fn name_must_equal_code() {
        let problems = validate("other", &sample_spec("vdi"));
        assert!(problems[0].starts_with("spec.code:"), "{problems:?}");
    }

    #[test]
    fn negative_and_malformed_quantities_are_named() {
        let mut spec = sample_spec("vdi");
        spec.quota.cpu.0 = "-1".into();
        spec.quota.memory.0 = "lots".into();
        let problems = validate("vdi", &spec);
        assert!(problems.iter().any(|p| p.starts_with("spec.quota.cpu: must not be negative")), "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("spec.quota.memory:")), "{problems:?}");
    }

    #[test]
    fn shared_role_groups_are_refused() {
        let mut spec = sample_spec("vdi");
        spec.directory.groups.viewers = spec.directory.groups.admins.clone();
        assert!(validate("vdi", &spec).iter().any(|p| p.starts_with("spec.directory.groups")));
    }

    /// The demo agencies in manifests/examples are valid and refer only to each other.
    #[test]
    fn example_agencies_are_valid() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../manifests/examples/agencies");
        let mut agencies = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != "kustomization.yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let agency: makonis_api::tenancy::Agency = serde_yaml_ng::from_str(&text).unwrap();
                assert_eq!(
                    validate(&agency.metadata.name.clone().unwrap(), &agency.spec),
                    Vec::<String>::new(),
                    "{path:?}"
                );
                agencies.push(agency);
            }
        }
        assert_eq!(agencies.len(), 12, "the sector has twelve agencies");
        let codes: BTreeSet<&str> = agencies.iter().map(|a| a.spec.code.as_str()).collect();
        assert_eq!(codes.len(), 12, "codes are unique");
        for agency in &agencies {
            for allowed in &agency.spec.network.allowed_agencies {
                assert!(codes.contains(allowed.as_str()), "{} allows unknown agency {allowed}", agency.spec.code);
            }
        }
    }

    #[test]
    fn network_rules() {
        let mut spec = sample_spec("vdi");
        spec.network.allowed_agencies = vec!["nva".into()];
        assert!(validate("vdi", &spec).iter().any(|p| p.contains("only be set when isolation is AllowList")));
        spec.network.isolation = Isolation::AllowList;
        assert!(validate("vdi", &spec).is_empty());
        spec.network.allowed_agencies.push("vdi".into());
        assert!(validate("vdi", &spec).iter().any(|p| p.contains("cannot list itself")));
        spec.network.allowed_agencies.clear();
        assert!(validate("vdi", &spec).iter().any(|p| p.contains("needs at least one agency")));
    }
}
