//! The `MailAlias` kind: an address that delivers to other addresses.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared::ADDRESS_PATTERN;

/// An address in one of the agency's mail domains (e.g. `info@vsaa.gov.lv`) whose mail
/// goes to the listed addresses: the agency's mailboxes, aliases and lists, or outside
/// addresses where the domain's `externalForwarding` is `Allow`.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "mail.makonis.lv",
    version = "v1alpha1",
    kind = "MailAlias",
    plural = "mailaliases",
    singular = "mailalias",
    category = "makonis",
    namespaced,
    status = "MailAliasStatus",
    printcolumn(name = "Address", type_ = "string", json_path = ".spec.address"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct MailAliasSpec {
    /// The alias's address.
    #[schemars(length(min = 3, max = 254), regex(pattern = ADDRESS_PATTERN))]
    pub address: String,
    /// Where its mail goes.
    #[schemars(length(min = 1, max = 100), inner(length(min = 3, max = 254), regex(pattern = ADDRESS_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub to: Vec<String>,
}

/// What the operator made of the alias.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MailAliasStatus {
    /// `Ready`: mail to the address is delivered.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
