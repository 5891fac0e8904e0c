//! The variables a catalog item's templates see.

use std::collections::BTreeMap;

use makonis_api::catalog::{LocalizedTitle, Plan, PlanResources};
use serde::Serialize;
use serde_json::Value;

/// Everything a template is rendered with. In a template these are the top-level
/// variables `instance`, `agency`, `item`, `plan`, `parameters` and `platform`.
#[derive(Debug, Clone, Serialize)]
pub struct RenderContext {
    /// The instance being rendered.
    pub instance: InstanceVars,
    /// The agency that ordered it.
    pub agency: AgencyVars,
    /// The catalog item.
    pub item: ItemVars,
    /// The chosen plan.
    pub plan: PlanVars,
    /// The order's parameters, validated and with the schema's defaults filled in.
    pub parameters: Value,
    /// Settings of this platform installation.
    pub platform: PlatformVars,
}

/// `instance.*`: the ServiceInstance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceVars {
    /// `metadata.name`; every resource's name is this or starts with `<name>-`.
    pub name: String,
    /// The agency's namespace, where every resource goes.
    pub namespace: String,
    /// The instance's default host name: `<name>.<agency code>.<platform.appsDomain>`.
    pub host: String,
    /// Name of the Secret the controller creates once per instance, holding a generated
    /// `password`; templates refer to it (`secretKeyRef`) instead of rendering secrets.
    pub credentials_secret: String,
    /// The directory account (`sAMAccountName`) the instance's `DirectoryServiceAccount`
    /// must have: `svc-` and 16 hex digits of the SHA-256 of `<namespace>/<name>`, so that
    /// it fits Active Directory's 20 characters and no order chooses an account's name.
    pub directory_account: String,
    /// The labels the controller puts on every resource of the instance; use them as
    /// Pod labels and selectors.
    pub labels: BTreeMap<String, String>,
}

/// `agency.*`: the ordering agency.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgencyVars {
    /// The agency's code, e.g. `vdi`.
    pub code: String,
    /// The agency's name in Latvian and English.
    pub display_name: LocalizedTitle,
}

/// `item.*`: the catalog item.
#[derive(Debug, Clone, Serialize)]
pub struct ItemVars {
    /// The item's name, e.g. `dms`.
    pub name: String,
    /// The item's version.
    pub version: String,
}

/// `plan.*`: the chosen plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanVars {
    /// The plan's name, e.g. `standard`.
    pub name: String,
    /// The plan's totals and replica count, as written in the item.
    pub resources: PlanResources,
    /// The plan's settings (`plan.settings.appCpu`, …).
    pub settings: BTreeMap<String, Value>,
}

impl From<&Plan> for PlanVars {
    fn from(plan: &Plan) -> Self {
        Self { name: plan.name.clone(), resources: plan.resources.clone(), settings: plan.settings.clone() }
    }
}

/// `platform.*`: settings of the installation, from the operator's flags.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PlatformVars {
    /// DNS domain under which instances get host names, e.g. `apps.makonis.lv`.
    pub apps_domain: String,
    /// IngressClass of the platform's ingress controller, e.g. `nginx`.
    pub ingress_class: String,
    /// cert-manager ClusterIssuer that signs the instances' TLS certificates.
    pub tls_issuer: String,
    /// StorageClass for volumes; empty means the cluster's default class.
    pub storage_class: String,
    /// `HostPool` that virtual machines and their volumes are placed in, e.g. `local`.
    pub host_pool: String,
    /// Host (of the host pool) whose storage pool receives virtual machines' backups.
    pub backup_host: String,
    /// libvirt storage pool on the backup host that receives the backups, e.g. `backup`.
    pub backup_storage_pool: String,
}

impl Default for PlatformVars {
    fn default() -> Self {
        Self {
            apps_domain: "apps.makonis.lv".into(),
            ingress_class: "nginx".into(),
            tls_issuer: "makonis-ca".into(),
            storage_class: String::new(),
            host_pool: "local".into(),
            backup_host: "local".into(),
            backup_storage_pool: "backup".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Templates read the platform's settings by these names (`platform.hostPool`, …).
    #[test]
    fn platform_vars_reach_templates_in_camel_case() {
        let platform = PlatformVars {
            host_pool: "dc1".into(),
            backup_host: "kvm-backup-1".into(),
            backup_storage_pool: "nightly".into(),
            ..PlatformVars::default()
        };
        assert_eq!(
            serde_json::to_value(&platform).unwrap(),
            serde_json::json!({
                "appsDomain": "apps.makonis.lv",
                "ingressClass": "nginx",
                "tlsIssuer": "makonis-ca",
                "storageClass": "",
                "hostPool": "dc1",
                "backupHost": "kvm-backup-1",
                "backupStoragePool": "nightly",
            })
        );
    }
}
