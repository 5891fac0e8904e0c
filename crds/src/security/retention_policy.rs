//! The `RetentionPolicy` kind: how long each category of security logs is kept, and
//! legal holds.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many months each category of security logs is kept, by event time, and which
/// events are held regardless.
///
/// A day's events of a category are removed only when all of them are older than the
/// category's months and no legal hold covers them; with several policies, the longest
/// months of each category count and every hold holds. Each removal is recorded.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "security.makonis.lv",
    version = "v1alpha1",
    kind = "RetentionPolicy",
    plural = "retentionpolicies",
    singular = "retentionpolicy",
    shortname = "retpol",
    category = "makonis",
    status = "RetentionPolicyStatus",
    printcolumn(name = "Authentication", type_ = "integer", json_path = ".spec.months.authentication"),
    printcolumn(name = "Platform audit", type_ = "integer", json_path = ".spec.months.platformAudit"),
    printcolumn(name = "Holds", type_ = "integer", json_path = ".status.activeHolds"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicySpec {
    /// Months kept per category.
    pub months: CategoryMonths,
    /// Events kept whatever their age: a time range and the sources or agency it holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub legal_holds: Vec<LegalHold>,
}

/// Months per category, each 6 to 18 (Cabinet Regulation No. 442).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CategoryMonths {
    /// Sign-ins and credential checks.
    #[x_kube(validation = Rule::new("self >= 6 && self <= 18").message("authentication: months must be 6 to 18 (Regulation No. 442)"))]
    pub authentication: i32,
    /// Directory changes.
    #[x_kube(validation = Rule::new("self >= 6 && self <= 18").message("directory: months must be 6 to 18 (Regulation No. 442)"))]
    pub directory: i32,
    /// The platform's own audit.
    #[x_kube(validation = Rule::new("self >= 6 && self <= 18").message("platformAudit: months must be 6 to 18 (Regulation No. 442)"))]
    pub platform_audit: i32,
    /// Operating systems.
    #[x_kube(validation = Rule::new("self >= 6 && self <= 18").message("system: months must be 6 to 18 (Regulation No. 442)"))]
    pub system: i32,
    /// Network devices.
    #[x_kube(validation = Rule::new("self >= 6 && self <= 18").message("network: months must be 6 to 18 (Regulation No. 442)"))]
    pub network: i32,
    /// Applications.
    #[x_kube(validation = Rule::new("self >= 6 && self <= 18").message("application: months must be 6 to 18 (Regulation No. 442)"))]
    pub application: i32,
}

/// A legal hold: events in a time range, of the sources or the agency named (or of
/// every source when neither is), are kept until the hold is removed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("timestamp(self.to) > timestamp(self.from)").message("a legal hold must end after it starts").field_path(".to"))]
pub struct LegalHold {
    /// Its name, e.g. a case number: `case-2026-17`.
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"))]
    pub name: String,
    /// Start of the held range (RFC 3339, UTC), inclusive.
    #[schemars(length(min = 20, max = 35))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$') && timestamp(self) >= timestamp('2000-01-01T00:00:00Z')").message("from must be an RFC 3339 time, e.g. 2026-01-01T00:00:00Z"))]
    pub from: String,
    /// End of the held range (RFC 3339, UTC), exclusive.
    #[schemars(length(min = 20, max = 35))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$') && timestamp(self) >= timestamp('2000-01-01T00:00:00Z')").message("to must be an RFC 3339 time, e.g. 2027-01-01T00:00:00Z"))]
    pub to: String,
    /// LogSources held, as `namespace/name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "set"), inner(length(min = 3, max = 127), regex(pattern = r"^[a-z0-9-]+/[a-z0-9-]+$")))]
    pub sources: Vec<String>,
    /// An agency (its code) whose every source is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 20), regex(pattern = r"^[a-z][a-z0-9]*$"))]
    pub agency: Option<String>,
    /// Why, for the record: the case, who asked.
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
}

/// What the SIEM last did under the policy.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RetentionPolicyStatus {
    /// Legal holds in force (their range not yet over).
    #[serde(default)]
    pub active_holds: i32,
    /// When retention last ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    /// Partitions removed under this policy so far.
    #[serde(default)]
    pub partitions_removed: i64,
    /// `Ready` and `Applied`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
