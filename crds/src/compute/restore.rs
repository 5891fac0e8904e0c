//! The `Restore` kind: a backup written back to a new volume or in place.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::OBJECT_NAME_PATTERN;

/// Writes a completed `Backup` back. The backup's SHA-256 is checked before any byte is
/// used: a backup that does not match its checksum is never restored.
///
/// To a new volume: set `target.newVolume`; the restore creates that `Volume` with the
/// backup as its source. In place: set `target.inPlace: true`; allowed only while the
/// volume's machine is stopped.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.makonis.lv",
    version = "v1alpha1",
    kind = "Restore",
    plural = "restores",
    singular = "restore",
    shortname = "rst",
    category = "makonis",
    namespaced,
    status = "RestoreStatus",
    printcolumn(name = "Backup", type_ = "string", json_path = ".spec.backup"),
    printcolumn(name = "Volume", type_ = "string", json_path = ".status.volume"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("a restore's spec is immutable: create a new restore"))]
#[serde(rename_all = "camelCase")]
pub struct RestoreSpec {
    /// The completed `Backup` to restore, in the same namespace.
    #[schemars(length(min = 1, max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    pub backup: String,
    /// Where to restore to.
    pub target: RestoreTarget,
}

/// Where a restore writes: exactly one of the fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.newVolume) != (has(self.inPlace) && self.inPlace)")
    .message("set either newVolume or inPlace: true"))]
pub struct RestoreTarget {
    /// Name of a new `Volume` to create from the backup (on the backed-up volume's
    /// host, pool and tier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub new_volume: Option<String>,
    /// Overwrite the backed-up volume itself. Its machine must be stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_place: Option<bool>,
}

/// What the backup controller last did for a restore.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStatus {
    /// `Pending`, `Running`, `Completed` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<RestorePhase>,
    /// `Ready` (restored and the checksum matched; otherwise why not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The volume written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<String>,
    /// Bytes written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    /// The SHA-256 the written data had (equal to the backup's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// When the restore completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
}

/// Where a restore is in its life.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestorePhase {
    /// Waiting for the backup to complete or the machine to stop.
    Pending,
    /// Checking and copying.
    Running,
    /// Done; the data matched the backup's checksum.
    Completed,
    /// Did not complete; the `Ready` condition says why.
    Failed,
}
