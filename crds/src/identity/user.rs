//! The `DirectoryUser` kind: a person's account in the agency's OU.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::shared::{ACCOUNT_PATTERN, DriftPolicy, EMAIL_PATTERN, Leaving, OBJECT_NAME_PATTERN, TEXT_PATTERN};

/// A person's account in Active Directory, in the `People` OU of the agency whose
/// namespace holds the object.
///
/// The initial password is generated (and put once into the Secret named in the status,
/// with the account set to change it at the first sign-in) unless `password.secretRef`
/// names a Secret to take it from. Deleting the object disables the account and moves it
/// to the agency's leavers OU; it is deleted from the directory after the Directory's
/// grace period.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "identity.makonis.lv",
    version = "v1alpha1",
    kind = "DirectoryUser",
    plural = "directoryusers",
    singular = "directoryuser",
    shortname = "du",
    category = "makonis",
    namespaced,
    status = "DirectoryUserStatus",
    printcolumn(name = "Username", type_ = "string", json_path = ".spec.username"),
    printcolumn(name = "Given name", type_ = "string", json_path = ".spec.givenName"),
    printcolumn(name = "Surname", type_ = "string", json_path = ".spec.surname"),
    printcolumn(name = "Enabled", type_ = "boolean", json_path = ".spec.enabled"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUserSpec {
    /// The sign-in name (`sAMAccountName`), e.g. `liga.ozolina`: up to 20 lower-case
    /// letters, digits, `.`, `_` or `-`. Immutable.
    #[schemars(length(min = 1, max = 20), regex(pattern = ACCOUNT_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("username is immutable"))]
    pub username: String,

    /// Given name, as the person writes it (`Līga`).
    #[schemars(length(min = 1, max = 64), regex(pattern = TEXT_PATTERN))]
    pub given_name: String,

    /// Surname, as the person writes it (`Ozoliņa`).
    #[schemars(length(min = 1, max = 64), regex(pattern = TEXT_PATTERN))]
    pub surname: String,

    /// The name shown in address books and the account's `CN`; by default
    /// `<givenName> <surname>`. Changing it renames the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = TEXT_PATTERN))]
    pub display_name: Option<String>,

    /// E-mail address (`mail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 254), regex(pattern = EMAIL_PATTERN))]
    pub email: Option<String>,

    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = TEXT_PATTERN))]
    pub title: Option<String>,

    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = TEXT_PATTERN))]
    pub department: Option<String>,

    /// The `DirectoryUser` (in this namespace) the person reports to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub manager: Option<String>,

    /// Whether the person may sign in (default true). A disabled account keeps its groups.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,

    /// The account stops working at the start of this day (UTC), e.g. `2027-06-30`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}$') && timestamp(self + 'T00:00:00Z') > timestamp('2000-01-01T00:00:00Z')").message("expires must be a date, e.g. 2027-06-30"))]
    pub expires: Option<String>,

    /// `DirectoryGroup`s (in this namespace) the person belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub groups: Vec<String>,

    /// The agency's platform roles the person holds, through the agency's role groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "set"))]
    pub roles: Vec<AgencyRole>,

    /// Where the initial password comes from; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordSource>,

    /// What happens to direct changes in the directory; the Directory's policy when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftPolicy>,
}

fn enabled_by_default() -> bool {
    true
}

/// One of the five roles an Agency maps to its directory groups.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub enum AgencyRole {
    /// Administers the agency.
    Admins,
    /// Orders services.
    Requesters,
    /// Approves orders.
    Approvers,
    /// Reads security events and the audit trail.
    SecurityOfficers,
    /// Only looks.
    Viewers,
}

/// An initial password taken from a Secret instead of generated.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSource {
    /// A Secret in this namespace whose key `password` holds the initial password. The
    /// person must still change it at the first sign-in; a Secret labelled
    /// `identity.makonis.lv/one-time: "true"` is deleted once they have.
    #[schemars(length(min = 1, max = 253), regex(pattern = OBJECT_NAME_PATTERN))]
    pub secret_ref: String,
}

/// What the operator did with the account.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUserStatus {
    /// `Ready` (the account is as declared), `InSync` (no direct changes found),
    /// `PasswordSet` (the initial password was accepted).
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The generation the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The account's distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    /// The account's `objectGUID`, which follows it through renames and moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_guid: Option<String>,
    /// The Secret (in this namespace) that holds the generated initial password until the
    /// person has changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_password_secret: Option<String>,
    /// Set while the account is leaving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaving: Option<Leaving>,
}
