//! The `Agency` kind: one government institution that uses the platform (a tenant).

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AgencyStatus;
use crate::quantity::{NON_NEGATIVE_QUANTITY, NON_NEGATIVE_QUANTITY_MESSAGE};

/// A DNS label of at most 20 characters: lower-case letters, digits and inner dashes.
pub const CODE_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$";

/// An agency (tenant) of the platform: one institution of the welfare sector.
///
/// The tenancy controller turns each Agency into a namespace `agency-<code>` with a
/// ResourceQuota, a LimitRange, NetworkPolicies and RoleBindings for the agency's
/// directory groups. An agency whose namespace still holds workloads or data cannot be
/// deleted: the controller keeps it and its `Ready` condition names what is left.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "tenancy.makonis.lv",
    version = "v1alpha1",
    kind = "Agency",
    plural = "agencies",
    singular = "agency",
    shortname = "ag",
    category = "makonis",
    status = "AgencyStatus",
    printcolumn(name = "Code", type_ = "string", json_path = ".spec.code"),
    printcolumn(name = "Display name", type_ = "string", json_path = ".spec.displayName.en"),
    printcolumn(name = "Namespace", type_ = "string", json_path = ".status.namespace"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name == self.spec.code")
        .message("metadata.name must equal spec.code")
        .field_path(".spec.code"),
)]
#[x_kube(validation = Rule::new("!has(self.network) || !has(self.network.allowedAgencies) || !(self.code in self.network.allowedAgencies)")
    .message("an agency cannot list itself in allowedAgencies")
    .field_path(".network.allowedAgencies"))]
#[serde(rename_all = "camelCase")]
pub struct AgencySpec {
    /// Short code of the agency, e.g. `vdi`: a DNS label of at most 20 characters.
    /// It names the namespace (`agency-<code>`) and must equal `metadata.name`.
    /// Immutable.
    #[schemars(length(min = 1, max = 20), regex(pattern = CODE_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("code is immutable"))]
    pub code: String,

    /// The agency's name as shown to people, in Latvian and English.
    pub display_name: DisplayName,

    /// Resource limits of the agency, enforced in its namespace and by the catalog.
    pub quota: AgencyQuota,

    /// Where the agency's people live in Active Directory, and which of its groups hold
    /// which role on the platform.
    pub directory: Directory,

    /// People to contact about the agency's services (at least one).
    #[schemars(length(min = 1, max = 10))]
    pub contacts: Vec<Contact>,

    /// Network isolation of the agency's namespace. Defaults to `Isolated`.
    #[serde(default)]
    pub network: Network,

    /// DNS domains the agency's services may be named under, besides its own
    /// `<code>.<appsDomain>` (e.g. `vdi.gov.lv`): host names in orders, in rendered Ingresses
    /// and in Probes must be one of these domains or lie under one. Set by platform
    /// administrators, who check that the agency holds the domain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), inner(length(min = 1, max = 253), regex(pattern = DOMAIN_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub domains: Vec<String>,
}

/// A lower-case DNS name of at least two labels, without a trailing dot or wildcards.
pub const DOMAIN_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$";

/// A name in the two languages of the platform.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct DisplayName {
    /// The name in Latvian, e.g. `Valsts darba inspekcija`.
    #[schemars(length(min = 1, max = 200))]
    pub lv: String,
    /// The name in English, e.g. `State Labour Inspectorate`.
    #[schemars(length(min = 1, max = 200))]
    pub en: String,
}

/// Resource limits of an agency. Kubernetes quantities where they apply
/// (`cpu: "16"`, `memory: 64Gi`); counts are whole numbers. Every limit is required so
/// that nothing is accidentally unlimited; write `0` for "none".
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgencyQuota {
    /// CPU cores the agency's workloads may request in total, e.g. `"16"` or `8500m`.
    #[x_kube(validation = Rule::new(NON_NEGATIVE_QUANTITY).message(NON_NEGATIVE_QUANTITY_MESSAGE))]
    pub cpu: Quantity,
    /// Memory the agency's workloads may request in total, e.g. `64Gi`.
    #[x_kube(validation = Rule::new(NON_NEGATIVE_QUANTITY).message(NON_NEGATIVE_QUANTITY_MESSAGE))]
    pub memory: Quantity,
    /// Persistent storage the agency may claim in total, e.g. `2Ti`.
    #[x_kube(validation = Rule::new(NON_NEGATIVE_QUANTITY).message(NON_NEGATIVE_QUANTITY_MESSAGE))]
    pub storage: Quantity,
    /// Number of virtual machines the agency may run.
    #[schemars(range(min = 0, max = 10000))]
    pub virtual_machines: i32,
    /// Number of mailboxes the agency may hold.
    #[schemars(range(min = 0, max = 100000))]
    pub mailboxes: i32,
    /// Number of catalog service instances the agency may order.
    #[schemars(range(min = 0, max = 10000))]
    pub service_instances: i32,
}

/// The agency's place in Active Directory and the groups that map to platform roles.
/// Group names are the names the cluster's authentication reports (AD group names).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Directory {
    /// Distinguished name of the agency's organisational unit,
    /// e.g. `OU=VDI,OU=Agencies,DC=lm,DC=gov,DC=lv`.
    #[schemars(length(min = 1, max = 512), regex(pattern = r"^[Oo][Uu]=[^,=]+(,\s*([Oo][Uu]|[Dd][Cc])=[^,=]+)*$"))]
    pub organizational_unit: String,
    /// The AD groups that hold each role in the agency.
    pub groups: RoleGroups,
}

/// AD group names per platform role within one agency.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RoleGroups {
    /// Group whose members administer the agency: everything in its namespace.
    #[schemars(length(min = 1, max = 64), regex(pattern = GROUP_NAME_PATTERN))]
    pub admins: String,
    /// Group whose members may order services from the catalog.
    #[schemars(length(min = 1, max = 64), regex(pattern = GROUP_NAME_PATTERN))]
    pub requesters: String,
    /// Group whose members approve the agency's orders.
    #[schemars(length(min = 1, max = 64), regex(pattern = GROUP_NAME_PATTERN))]
    pub approvers: String,
    /// Group whose members read the agency's security events and audit trail.
    #[schemars(length(min = 1, max = 64), regex(pattern = GROUP_NAME_PATTERN))]
    pub security_officers: String,
    /// Group whose members may only look.
    #[schemars(length(min = 1, max = 64), regex(pattern = GROUP_NAME_PATTERN))]
    pub viewers: String,
}

/// Characters Active Directory allows in a group's sAMAccountName.
const GROUP_NAME_PATTERN: &str = r#"^[^"/\\\[\]:;|=,+*?<>@]+$"#;

/// A person to contact about the agency.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Contact {
    /// Full name, e.g. `Anna Bērziņa`.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// E-mail address.
    #[schemars(length(min = 3, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))]
    pub email: String,
    /// Telephone number in international form, e.g. `+371 67021600`.
    #[schemars(length(min = 5, max = 32), regex(pattern = r"^\+?[0-9][0-9 ()-]{3,30}$"))]
    pub phone: String,
}

/// Who may open connections to the agency's workloads.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.isolation == 'AllowList' || !has(self.allowedAgencies) || size(self.allowedAgencies) == 0")
        .message("allowedAgencies may only be set when isolation is AllowList")
        .field_path(".allowedAgencies"),
    validation = Rule::new("self.isolation != 'AllowList' || (has(self.allowedAgencies) && size(self.allowedAgencies) > 0)")
        .message("isolation AllowList needs at least one agency in allowedAgencies")
        .field_path(".allowedAgencies"),
)]
pub struct Network {
    /// `Isolated` (default): only the agency itself and the platform namespace may connect.
    /// `AllowList`: the agencies in `allowedAgencies` may connect too.
    #[serde(default)]
    pub isolation: Isolation,
    /// Codes of the agencies whose workloads may open connections to this agency's
    /// workloads. Traffic the other way needs the other agency to list this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), inner(regex(pattern = CODE_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub allowed_agencies: Vec<String>,
}

/// Network isolation mode of an agency.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Only the agency's own workloads and the platform may connect.
    #[default]
    Isolated,
    /// The agencies listed in `allowedAgencies` may connect too.
    AllowList,
}

impl Agency {
    /// The namespace that holds this agency's resources.
    pub fn namespace_name(&self) -> String {
        namespace_for_code(&self.spec.code)
    }

    /// The DNS domains the agency's host names may use: `<code>.<apps_domain>` and the
    /// domains the platform administrators listed in `spec.domains`.
    pub fn hostname_domains(&self, apps_domain: &str) -> Vec<String> {
        super::hostnames::agency_domains(&self.spec.code, &self.spec.domains, apps_domain)
    }

    /// Whether `host` is one of the agency's names: one of its
    /// [`hostname_domains`](Self::hostname_domains) or a name under one. Case and one
    /// trailing dot do not matter; anything that is not a plain DNS name (a wildcard, an
    /// IP address, a port, an empty label) never is.
    pub fn owns_hostname(&self, host: &str, apps_domain: &str) -> bool {
        super::hostnames::within_domains(host, &self.hostname_domains(apps_domain))
    }
}

/// The namespace name of the agency with `code`.
pub fn namespace_for_code(code: &str) -> String {
    format!("{NAMESPACE_PREFIX}{code}")
}

/// The agency code a namespace name holds: `agency-vdi` → `vdi`; `None` for a namespace
/// that is not an agency's (the inverse of [`namespace_for_code`]).
pub fn code_of_namespace(namespace: &str) -> Option<&str> {
    namespace.strip_prefix(NAMESPACE_PREFIX).filter(|code| !code.is_empty())
}

/// What every agency namespace's name starts with.
const NAMESPACE_PREFIX: &str = "agency-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_and_codes_are_inverse() {
        assert_eq!(namespace_for_code("vdi"), "agency-vdi");
        assert_eq!(code_of_namespace(&namespace_for_code("vsac-riga")), Some("vsac-riga"));
        assert_eq!(code_of_namespace("makonis-system"), None);
        assert_eq!(code_of_namespace("agency-"), None);
    }
}
