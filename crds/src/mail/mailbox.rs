//! The `Mailbox` kind: a person's mailbox at the address in their directory account.

use k8s_openapi::apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::Condition};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared::ADDRESS_PATTERN;
use crate::{
    compute::quantity_rules::{SIZE, SIZE_MESSAGE},
    identity::OBJECT_NAME_PATTERN,
};

/// A mailbox for a `DirectoryUser` of the same namespace, at the address in the user's
/// `email` (which the identity operator keeps in the directory's `mail`).
///
/// The address's domain must be one of the agency's ready `MailDomain`s. Mail is accepted
/// only while the account is enabled in the directory; people sign in to IMAP with their
/// directory password. Deleting a Mailbox stops delivery at once and keeps the stored
/// mail; while a Mailbox names a user, the user's account is not deleted from the
/// directory (it stays disabled in the leavers OU).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "mail.makonis.lv",
    version = "v1alpha1",
    kind = "Mailbox",
    plural = "mailboxes",
    singular = "mailbox",
    shortname = "mbx",
    category = "makonis",
    namespaced,
    status = "MailboxStatus",
    printcolumn(name = "Address", type_ = "string", json_path = ".status.address"),
    printcolumn(name = "Quota", type_ = "string", json_path = ".spec.quota"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct MailboxSpec {
    /// The `DirectoryUser` (its object name) whose mailbox this is. Immutable.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("user is immutable"))]
    pub user: String,

    /// How much mail the mailbox holds, e.g. `2Gi` (1Gi by default). Mail that would not
    /// fit is refused while the sender is still connected (`552 5.2.2 Mailbox is full`);
    /// the owner is warned at 80 % and 95 %.
    #[serde(default = "default_quota")]
    #[x_kube(validation = Rule::new(SIZE).message(SIZE_MESSAGE))]
    pub quota: Quantity,

    /// More addresses delivered to this mailbox, in the agency's mail domains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), inner(length(min = 3, max = 254), regex(pattern = ADDRESS_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub aliases: Vec<String>,

    /// Where copies of incoming mail go as well (or instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<Forwarding>,

    /// Groups whose members also open this mailbox: a shared mailbox, such as a team's
    /// `info@` address. Each member of a `DirectoryGroup` of this namespace (nested groups
    /// included) who has an enabled mailbox of their own finds it under
    /// `Shared/<address>/` in their mail program, signed in as themselves. The owner's
    /// account needs no person behind it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["group"]))]
    pub shared_with: Vec<Delegation>,
}

/// A group's access to a shared mailbox.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Delegation {
    /// The `DirectoryGroup` (its object name, in this namespace).
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub group: String,
    /// What its members may do (`Read` by default).
    #[serde(default)]
    pub access: MailboxAccess,
}

/// What a delegate may do in a shared mailbox.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum MailboxAccess {
    /// See the folders and read the mail (flags such as "seen" stay as they are).
    #[default]
    Read,
    /// Also mark, file, delete and expunge mail, create folders, and send as the shared
    /// mailbox's address: everything but deleting folders and changing who has access.
    Full,
}

/// Someone who opens a shared mailbox.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MailboxDelegate {
    /// Their own mailbox's address, which they sign in with.
    pub address: String,
    /// What they may do (the most any of their groups gives).
    pub access: MailboxAccess,
}

/// Forwarding of incoming mail.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Forwarding {
    /// The addresses mail is forwarded to. Outside the agency's own mail domains only
    /// where the domain's `externalForwarding` is `Allow`.
    #[schemars(length(min = 1, max = 10), inner(length(min = 3, max = 254), regex(pattern = ADDRESS_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub to: Vec<String>,
    /// Whether the mailbox keeps a copy (true by default).
    #[serde(default = "keep_copy_by_default")]
    pub keep_copy: bool,
}

fn default_quota() -> Quantity {
    Quantity("1Gi".to_owned())
}

fn keep_copy_by_default() -> bool {
    true
}

/// What the operator made of the mailbox.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct MailboxStatus {
    /// `Ready`: mail to the address is delivered; `Routes`: every alias and forwarding
    /// address is in use; `Shared` (with `spec.sharedWith`, or while someone still has
    /// access): the delegates' access is as declared on the mail server.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The mailbox's address (the user's `email`, lower case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The quota in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<i64>,
    /// The aliases in use (lower case); the directory's `proxyAddresses` holds them with
    /// the address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Who opens the mailbox besides its owner (`spec.sharedWith`, as the mail server has
    /// it once the `Shared` condition is true).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegates: Vec<MailboxDelegate>,
}
