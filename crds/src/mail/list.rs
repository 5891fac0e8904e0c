//! The `MailingList` kind: an address that reaches every member of a directory group.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared::ADDRESS_PATTERN;
use crate::identity::OBJECT_NAME_PATTERN;

/// An address in one of the agency's mail domains (e.g. `finanses@vsaa.gov.lv`) whose mail
/// reaches every member of a `DirectoryGroup` of the same namespace that has a mailbox,
/// through nested groups too. Disabled members receive nothing.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "mail.makonis.lv",
    version = "v1alpha1",
    kind = "MailingList",
    plural = "mailinglists",
    singular = "mailinglist",
    category = "makonis",
    namespaced,
    status = "MailingListStatus",
    printcolumn(name = "Address", type_ = "string", json_path = ".spec.address"),
    printcolumn(name = "Group", type_ = "string", json_path = ".spec.group"),
    printcolumn(name = "Recipients", type_ = "integer", json_path = ".status.recipients"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct MailingListSpec {
    /// The list's address.
    #[schemars(length(min = 3, max = 254), regex(pattern = ADDRESS_PATTERN))]
    pub address: String,
    /// The `DirectoryGroup` (its object name) whose members receive the list's mail.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub group: String,
}

/// What the operator made of the list.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MailingListStatus {
    /// `Ready`: mail to the address is delivered.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// How many mailboxes the list delivers to.
    #[serde(default)]
    pub recipients: u32,
}
