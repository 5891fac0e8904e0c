//! RoleBindings from the agency's directory groups to the platform's agency roles.

use k8s_openapi::api::rbac::v1::{RoleBinding, RoleRef, Subject};
use makonis_api::tenancy::{Agency, RoleGroups};

use super::child_meta;
use crate::config::TenancyConfig;

/// A platform role within one agency.
#[derive(Debug, Clone, Copy)]
pub struct AgencyRole {
    /// The ClusterRole shipped in `manifests/` that defines the role's permissions.
    pub cluster_role: &'static str,
    /// The RoleBinding written in each agency namespace.
    pub binding: &'static str,
    /// The directory group holding the role, from `spec.directory.groups`.
    pub group: fn(&RoleGroups) -> &String,
}

/// The five agency roles, in the order of `spec.directory.groups`.
pub const AGENCY_ROLES: [AgencyRole; 5] = [
    AgencyRole { cluster_role: "makonis-agency-admin", binding: "makonis-admins", group: |g| &g.admins },
    AgencyRole { cluster_role: "makonis-agency-requester", binding: "makonis-requesters", group: |g| &g.requesters },
    AgencyRole { cluster_role: "makonis-agency-approver", binding: "makonis-approvers", group: |g| &g.approvers },
    AgencyRole {
        cluster_role: "makonis-agency-security-officer",
        binding: "makonis-security-officers",
        group: |g| &g.security_officers,
    },
    AgencyRole { cluster_role: "makonis-agency-viewer", binding: "makonis-viewers", group: |g| &g.viewers },
];

/// The ClusterRole with the catalog operator's rights on Secrets (the credentials of
/// service instances), bound in agency namespaces only, never cluster-wide.
pub const CATALOG_SECRETS_ROLE: &str = "makonis-catalog-instance-secrets";
/// The RoleBinding of [`CATALOG_SECRETS_ROLE`] in each agency namespace.
pub const CATALOG_SECRETS_BINDING: &str = "makonis-catalog-operator";

/// The ClusterRole with the identity operator's rights on Secrets (initial passwords,
/// service account credentials), bound in agency namespaces only.
pub const IDENTITY_SECRETS_ROLE: &str = "makonis-identity-secrets";
/// The RoleBinding of [`IDENTITY_SECRETS_ROLE`] in each agency namespace.
pub const IDENTITY_SECRETS_BINDING: &str = "makonis-identity-operator";

/// The ClusterRole with the portal's one right on Secrets: creating the first password of
/// a person an agency administrator adds in the portal. Bound in agency namespaces only.
pub const PORTAL_SECRETS_ROLE: &str = "makonis-portal-first-passwords";
/// The RoleBinding of [`PORTAL_SECRETS_ROLE`] in each agency namespace.
pub const PORTAL_SECRETS_BINDING: &str = "makonis-portal";

/// One RoleBinding per role, granting the ClusterRole in the agency namespace only, and
/// the catalog and identity operators' and the portal's bindings for the Secrets they
/// keep there.
pub fn build_role_bindings(agency: &Agency, config: &TenancyConfig) -> Vec<RoleBinding> {
    let operator = |binding: &str, role: &str, account: &str| RoleBinding {
        metadata: child_meta(agency, binding),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: role.into(),
        },
        subjects: Some(vec![Subject {
            api_group: None,
            kind: "ServiceAccount".into(),
            name: account.into(),
            namespace: Some(config.platform_namespace.clone()),
        }]),
    };
    let catalog = operator(CATALOG_SECRETS_BINDING, CATALOG_SECRETS_ROLE, &config.catalog_service_account);
    let identity = operator(IDENTITY_SECRETS_BINDING, IDENTITY_SECRETS_ROLE, &config.identity_service_account);
    let portal = operator(PORTAL_SECRETS_BINDING, PORTAL_SECRETS_ROLE, &config.portal_service_account);
    AGENCY_ROLES
        .iter()
        .map(|role| RoleBinding {
            metadata: child_meta(agency, role.binding),
            role_ref: RoleRef {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "ClusterRole".into(),
                name: role.cluster_role.into(),
            },
            subjects: Some(vec![Subject {
                api_group: Some("rbac.authorization.k8s.io".into()),
                kind: "Group".into(),
                name: format!("{}{}", config.group_prefix, (role.group)(&agency.spec.directory.groups)),
                namespace: None,
            }]),
        })
        .chain([catalog, identity, portal])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::sample_agency;

    #[test]
    fn each_role_binds_its_group_to_its_cluster_role() {
        let config = TenancyConfig { group_prefix: "ad:".into(), ..TenancyConfig::default() };
        let bindings = build_role_bindings(&sample_agency("vdi"), &config);
        let pairs: Vec<(&str, &str, &str)> = bindings
            .iter()
            .map(|b| {
                let subject = &b.subjects.as_ref().unwrap()[0];
                (b.metadata.name.as_deref().unwrap(), b.role_ref.name.as_str(), subject.name.as_str())
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("makonis-admins", "makonis-agency-admin", "ad:VDI-Makonis-Admins"),
                ("makonis-requesters", "makonis-agency-requester", "ad:VDI-Makonis-Requesters"),
                ("makonis-approvers", "makonis-agency-approver", "ad:VDI-Makonis-Approvers"),
                ("makonis-security-officers", "makonis-agency-security-officer", "ad:VDI-Makonis-Security"),
                ("makonis-viewers", "makonis-agency-viewer", "ad:VDI-Makonis-Viewers"),
                ("makonis-catalog-operator", "makonis-catalog-instance-secrets", "makonis-catalog-operator"),
                ("makonis-identity-operator", "makonis-identity-secrets", "makonis-identity-operator"),
                ("makonis-portal", "makonis-portal-first-passwords", "makonis-portal"),
            ]
        );
        assert!(bindings[..5].iter().all(|b| b.subjects.as_ref().unwrap()[0].kind == "Group"));
        let catalog = &bindings[5].subjects.as_ref().unwrap()[0];
        assert_eq!((catalog.kind.as_str(), catalog.namespace.as_deref()), ("ServiceAccount", Some("makonis-system")));
    }
}
