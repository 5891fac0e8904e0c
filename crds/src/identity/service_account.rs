//! The `DirectoryServiceAccount` kind: the account a service signs in to the directory with.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared::{ACCOUNT_PATTERN, Leaving, OBJECT_NAME_PATTERN, TEXT_PATTERN};

/// An account for a service (a document management system reading the directory, a VDI
/// broker), in the `Service Accounts` OU of the agency whose namespace holds the object.
///
/// Its password is generated, never shown, and written to `secretName` with the keys
/// `username`, `userPrincipalName`, `dn` and `password`. Changing `rotation` (to any new
/// value, e.g. the date) sets a new password. Deleting the object disables the account and
/// deletes it after the Directory's grace period, as for people.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "identity.makonis.lv",
    version = "v1alpha1",
    kind = "DirectoryServiceAccount",
    plural = "directoryserviceaccounts",
    singular = "directoryserviceaccount",
    shortname = "dsa",
    category = "makonis",
    namespaced,
    status = "DirectoryServiceAccountStatus",
    printcolumn(name = "Username", type_ = "string", json_path = ".spec.username"),
    printcolumn(name = "Secret", type_ = "string", json_path = ".status.secret"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryServiceAccountSpec {
    /// The sign-in name (`sAMAccountName`), e.g. `svc-vsaa-dms`. Immutable.
    #[schemars(length(min = 1, max = 20), regex(pattern = ACCOUNT_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("username is immutable"))]
    pub username: String,

    /// What the account is for (`description`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = TEXT_PATTERN))]
    pub description: Option<String>,

    /// The Secret (in this namespace) the credentials are written to; `<name>-directory`
    /// by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub secret_name: Option<String>,

    /// Any value; a new value sets a new password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = TEXT_PATTERN))]
    pub rotation: Option<String>,
}

/// What the operator did with the account.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryServiceAccountStatus {
    /// `Ready` and `InSync`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The account's distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    /// The account's `objectGUID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_guid: Option<String>,
    /// The Secret that holds the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The `rotation` value the current password was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<String>,
    /// When the current password was set (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_set_at: Option<String>,
    /// Set while the account is leaving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaving: Option<Leaving>,
}
