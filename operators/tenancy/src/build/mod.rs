//! Pure build steps: from an Agency to the children that implement it.
//!
//! Nothing here talks to the API server; every function is a plain transformation that
//! is unit-tested on its own.

mod limits;
mod namespace;
mod network;
mod quota;
mod rbac;

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        core::v1::{LimitRange, Namespace, ResourceQuota},
        networking::v1::NetworkPolicy,
        rbac::v1::RoleBinding,
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use makonis_api::{labels, tenancy::Agency};
use makonis_operator_kit::apply::controller_reference;

pub use quota::{QuotaMode, quota_status};

use crate::config::TenancyConfig;

/// The field manager and `managed-by` label value of this controller.
pub const CONTROLLER: &str = "makonis-tenancy";

/// Everything the controller creates for one agency.
#[derive(Debug, Clone, PartialEq)]
pub struct Children {
    /// The agency's namespace, `agency-<code>`.
    pub namespace: Namespace,
    /// Its ResourceQuota, from `spec.quota`.
    pub quota: ResourceQuota,
    /// Default requests and limits for containers.
    pub limits: LimitRange,
    /// Ingress isolation: deny by default, then the allowed sources.
    pub network_policies: Vec<NetworkPolicy>,
    /// One RoleBinding per platform role, to the agency's directory group.
    pub role_bindings: Vec<RoleBinding>,
}

/// Builds every child of `agency`. `mode` freezes the quota while the agency is being
/// removed, so that nothing new lands in a namespace that is about to go.
pub fn build(agency: &Agency, config: &TenancyConfig, mode: QuotaMode) -> Children {
    Children {
        namespace: namespace::build_namespace(agency),
        quota: quota::build_quota(agency, mode),
        limits: limits::build_limit_range(agency),
        network_policies: network::build_network_policies(agency, config),
        role_bindings: rbac::build_role_bindings(agency, config),
    }
}

/// Labels every child carries: which agency, and that this controller manages it.
pub fn child_labels(code: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::AGENCY.to_string(), code.to_string()),
        (labels::MANAGED_BY.to_string(), CONTROLLER.to_string()),
    ])
}

/// The label selector matching the children of the agency with `code`.
pub fn child_selector(code: &str) -> String {
    format!("{}={CONTROLLER},{}={code}", labels::MANAGED_BY, labels::AGENCY)
}

/// Metadata of a namespaced child `name`, labelled and owned by `agency`.
fn child_meta(agency: &Agency, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(agency.namespace_name()),
        labels: Some(child_labels(&agency.spec.code)),
        owner_references: controller_reference(agency).map(|r| vec![r]),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_agency;

    #[test]
    fn every_namespaced_child_is_labelled_owned_and_in_the_agency_namespace() {
        let agency = sample_agency("vdi");
        let children = build(&agency, &TenancyConfig::default(), QuotaMode::Active);
        let mut metas = vec![&children.quota.metadata, &children.limits.metadata];
        metas.extend(children.network_policies.iter().map(|p| &p.metadata));
        metas.extend(children.role_bindings.iter().map(|b| &b.metadata));
        for meta in metas {
            assert_eq!(meta.namespace.as_deref(), Some("agency-vdi"));
            assert_eq!(meta.labels.as_ref().unwrap()["makonis.lv/agency"], "vdi");
            assert_eq!(meta.labels.as_ref().unwrap()["app.kubernetes.io/managed-by"], CONTROLLER);
            let owner = &meta.owner_references.as_ref().unwrap()[0];
            assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.controller), ("Agency", "vdi", Some(true)));
        }
    }

    #[test]
    fn selector_matches_child_labels() {
        let labels = child_labels("nva");
        for pair in child_selector("nva").split(',') {
            let (key, value) = pair.split_once('=').unwrap();
            assert_eq!(labels[key], value);
        }
    }
}
