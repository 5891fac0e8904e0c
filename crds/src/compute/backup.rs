//! The `Backup` kind: one copy of one volume at one consistent point, with its checksum.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{OBJECT_NAME_PATTERN, backup_policy::BackupTarget};

/// One backup of one volume. Created by a `BackupPolicy` at its schedule, or by hand.
///
/// The controller takes a consistent point of the volume (a disk snapshot while its
/// machine runs), streams it to the target storage pool while computing its SHA-256,
/// reads it back to verify, and only then marks it `Completed`. A run that is
/// interrupted is marked `Failed` and its partial data removed: a backup is never
/// complete without its checksum. Deleting a Backup deletes its data.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.makonis.lv",
    version = "v1alpha1",
    kind = "Backup",
    plural = "backups",
    singular = "backup",
    shortname = "bk",
    category = "makonis",
    namespaced,
    status = "BackupStatus",
    printcolumn(name = "Volume", type_ = "string", json_path = ".spec.volume"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Bytes", type_ = "integer", json_path = ".status.bytes"),
    printcolumn(name = "Completed", type_ = "date", json_path = ".status.completionTime"),
    printcolumn(name = "SHA256", type_ = "string", json_path = ".status.sha256", priority = 1),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("self == oldSelf").message("a backup's spec is immutable: create a new backup"))]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    /// The `Volume` to back up, in the same namespace.
    #[schemars(length(min = 1, max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    pub volume: String,
    /// The `BackupPolicy` that made this backup (its retention prunes it), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub policy: Option<String>,
    /// Where to write it. Defaults to the policy's target; required without a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<BackupTarget>,
    /// Read the backup back and compare its SHA-256 before calling it complete.
    #[serde(default = "yes")]
    pub verify: bool,
}

fn yes() -> bool {
    true
}

/// What the backup controller last observed and did for a backup: a report. Restores and
/// deletions use the backup's own names and its manifest on the hosts, never this.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    /// `Pending`, `Running`, `Verifying`, `Completed` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupPhase>,
    /// `Ready` (the backup is complete and verified; otherwise why not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// When the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the backup was verified and completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// How the consistent point was taken: `disk snapshot of the running domain <name>`
    /// or `volume not used by a running machine`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
    /// Bytes written (the volume's full size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    /// SHA-256 of the backup, lowercase hex. Set only once verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Where the data is (the backup's target, and its data's name, which carries the
    /// Backup's UID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<BackupLocation>,
    /// The volume's host and capacity at the time of the backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_host: Option<String>,
    /// The operator instance that runs the backup (an interrupted run is recognised by
    /// this marker surviving its runner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
}

/// Where a backup's data lives.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BackupLocation {
    /// The `HostPool` of the target host.
    pub host_pool: String,
    /// The target host.
    pub host: String,
    /// The libvirt storage pool on that host.
    pub storage_pool: String,
    /// The data's libvirt volume name in that pool.
    pub volume_name: String,
}

/// Where a backup is in its life.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupPhase {
    /// Waiting for the volume or the target.
    Pending,
    /// Copying.
    Running,
    /// Reading back to compare the checksum.
    Verifying,
    /// Written and verified; `sha256` holds its checksum.
    Completed,
    /// Did not complete; the `Ready` condition says why. Partial data was removed.
    Failed,
}
