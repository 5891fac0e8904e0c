//! The `DirectoryGroup` kind: a security or distribution group in the agency's OU.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared::{DriftPolicy, EMAIL_PATTERN, GROUP_NAME_PATTERN, OBJECT_NAME_PATTERN, TEXT_PATTERN};

/// A group in the `Groups` OU of the agency whose namespace holds the object.
///
/// Its members are the ones listed here and every `DirectoryUser` that names the group
/// in `spec.groups`; members added directly in the directory are removed again (or only
/// reported, with `drift: Report`).
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "identity.makonis.lv",
    version = "v1alpha1",
    kind = "DirectoryGroup",
    plural = "directorygroups",
    singular = "directorygroup",
    shortname = "dg",
    category = "makonis",
    namespaced,
    status = "DirectoryGroupStatus",
    printcolumn(name = "Name", type_ = "string", json_path = ".spec.name"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.kind"),
    printcolumn(name = "Members", type_ = "integer", json_path = ".status.members"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryGroupSpec {
    /// The group's name (`CN` and `sAMAccountName`), unique in the domain, e.g.
    /// `VSAA-Finanses`. Immutable.
    #[schemars(length(min = 1, max = 64), regex(pattern = GROUP_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable"))]
    pub name: String,

    /// `Security` (grants access; the default) or `Distribution` (mail only).
    #[serde(default)]
    pub kind: GroupKind,

    /// What the group is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024), regex(pattern = TEXT_PATTERN))]
    pub description: Option<String>,

    /// The group's e-mail address (`mail`), for distribution lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 254), regex(pattern = EMAIL_PATTERN))]
    pub email: Option<String>,

    /// Members: users and groups of this namespace by name, or entries of the agency's own
    /// OU by DN. Groups may contain groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5000))]
    pub members: Vec<GroupMember>,

    /// What happens to direct changes in the directory; the Directory's policy when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftPolicy>,
}

/// Whether a group grants access or only distributes mail.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GroupKind {
    /// A global security group (`groupType` -2147483646).
    #[default]
    Security,
    /// A global distribution group (`groupType` 2).
    Distribution,
}

/// One member of a group: exactly one of `user`, `group` or `dn`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[x_kube(validation = Rule::new("[has(self.user), has(self.group), has(self.dn)].filter(x, x).size() == 1")
    .message("a member is exactly one of user, group or dn"))]
#[serde(rename_all = "camelCase")]
pub struct GroupMember {
    /// A `DirectoryUser` in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub user: Option<String>,
    /// A `DirectoryGroup` in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub group: Option<String>,
    /// The DN of an entry inside the agency's own OU (others are refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 4, max = 512), regex(pattern = TEXT_PATTERN))]
    pub dn: Option<String>,
}

/// What the operator did with the group.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryGroupStatus {
    /// `Ready` (the group and its members are as declared) and `InSync`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The group's distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    /// The group's `objectGUID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_guid: Option<String>,
    /// How many members the group has.
    #[serde(default)]
    pub members: u32,
}
