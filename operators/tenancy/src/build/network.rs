//! NetworkPolicies: agencies are isolated from each other unless they say otherwise.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::networking::v1::{NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec},
    apimachinery::pkg::apis::meta::v1::LabelSelector,
};
use makonis_api::{labels, tenancy::Agency};

use super::child_meta;
use crate::config::TenancyConfig;

/// Every policy this controller writes starts with this prefix.
pub const NETWORK_POLICY_PREFIX: &str = "makonis-";

/// Builds the agency's policies:
/// - `makonis-default-deny-ingress`: nothing may connect unless a rule below allows it;
/// - `makonis-allow-same-namespace`: the agency's own workloads may talk to each other;
/// - `makonis-allow-platform`: the platform namespace (portal, probes, monitoring);
/// - `makonis-allow-from-<code>`: one per agency in `spec.network.allowedAgencies`.
///
/// Egress is not restricted: workloads must reach DNS and the sector's external systems.
pub fn build_network_policies(agency: &Agency, config: &TenancyConfig) -> Vec<NetworkPolicy> {
    let namespace_peer = |selector: BTreeMap<String, String>| NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector { match_labels: Some(selector), ..LabelSelector::default() }),
        ..NetworkPolicyPeer::default()
    };
    let mut policies = vec![
        policy(agency, "default-deny-ingress", None),
        policy(
            agency,
            "allow-same-namespace",
            Some(NetworkPolicyPeer { pod_selector: Some(LabelSelector::default()), ..NetworkPolicyPeer::default() }),
        ),
        policy(
            agency,
            "allow-platform",
            Some(namespace_peer(BTreeMap::from([(labels::NAMESPACE_NAME.into(), config.platform_namespace.clone())]))),
        ),
    ];
    for code in &agency.spec.network.allowed_agencies {
        let peer = namespace_peer(BTreeMap::from([
            (labels::TENANCY.into(), labels::TENANCY_AGENCY.into()),
            (labels::AGENCY.into(), code.clone()),
        ]));
        policies.push(policy(agency, &format!("allow-from-{code}"), Some(peer)));
    }
    policies
}

/// A policy over every pod of the namespace admitting ingress from `from` (none: deny).
fn policy(agency: &Agency, suffix: &str, from: Option<NetworkPolicyPeer>) -> NetworkPolicy {
    NetworkPolicy {
        metadata: child_meta(agency, &format!("{NETWORK_POLICY_PREFIX}{suffix}")),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: from.map(|peer| vec![NetworkPolicyIngressRule { from: Some(vec![peer]), ports: None }]),
            egress: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use makonis_api::tenancy::Isolation;

    use super::*;
    use crate::test_support::sample_agency;

    fn names(policies: &[NetworkPolicy]) -> Vec<&str> {
        policies.iter().map(|p| p.metadata.name.as_deref().unwrap()).collect()
    }

    #[test]
    fn isolated_agency_denies_all_but_itself_and_the_platform() {
        let policies = build_network_policies(&sample_agency("vdi"), &TenancyConfig::default());
        assert_eq!(
            names(&policies),
            ["makonis-default-deny-ingress", "makonis-allow-same-namespace", "makonis-allow-platform"]
        );
        let deny = policies[0].spec.as_ref().unwrap();
        assert_eq!(deny.ingress, None);
        assert_eq!(deny.policy_types.as_deref(), Some(&["Ingress".to_string()][..]));
        let platform = &policies[2].spec.as_ref().unwrap().ingress.as_ref().unwrap()[0].from.as_ref().unwrap()[0];
        let selector = platform.namespace_selector.as_ref().unwrap().match_labels.as_ref().unwrap();
        assert_eq!(selector["kubernetes.io/metadata.name"], "makonis-system");
    }

    #[test]
    fn allowed_agencies_get_one_policy_each() {
        let mut agency = sample_agency("vdi");
        agency.spec.network.isolation = Isolation::AllowList;
        agency.spec.network.allowed_agencies = vec!["lm".into(), "vsaa".into()];
        let policies = build_network_policies(&agency, &TenancyConfig::default());
        assert_eq!(&names(&policies)[3..], ["makonis-allow-from-lm", "makonis-allow-from-vsaa"]);
        let peer = &policies[4].spec.as_ref().unwrap().ingress.as_ref().unwrap()[0].from.as_ref().unwrap()[0];
        let selector = peer.namespace_selector.as_ref().unwrap().match_labels.as_ref().unwrap();
        assert_eq!(selector["makonis.lv/agency"], "vsaa");
        assert_eq!(selector["makonis.lv/tenancy"], "agency");
    }
}
