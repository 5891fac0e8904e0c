//! The `BackupPolicy` kind: when to back up which volumes, where to, and what to keep.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{LIBVIRT_NAME_PATTERN, OBJECT_NAME_PATTERN};

/// A backup schedule for the volumes of selected virtual machines (and selected
/// volumes), with a retention in the manner of Proxmox Backup Server.
///
/// At each time the schedule names (on the wall clock of `timeZone`), the controller
/// creates one `Backup` per selected volume; after each completed run it deletes the
/// backups the retention no longer keeps.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.makonis.lv",
    version = "v1alpha1",
    kind = "BackupPolicy",
    plural = "backuppolicies",
    singular = "backuppolicy",
    shortname = "bp",
    category = "makonis",
    namespaced,
    status = "BackupPolicyStatus",
    printcolumn(name = "Schedule", type_ = "string", json_path = ".spec.schedule"),
    printcolumn(name = "Last", type_ = "date", json_path = ".status.lastScheduleTime"),
    printcolumn(name = "Next", type_ = "string", json_path = ".status.nextScheduleTime"),
    printcolumn(name = "Backups", type_ = "integer", json_path = ".status.backups"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("has(self.virtualMachineSelector) || has(self.volumeSelector)")
    .message("set virtualMachineSelector, volumeSelector or both"))]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicySpec {
    /// Virtual machines whose every volume is backed up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_machine_selector: Option<LabelSelector>,
    /// Volumes backed up on their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_selector: Option<LabelSelector>,
    /// When to run: five-field cron (`minute hour day-of-month month day-of-week`) or
    /// `@daily`, `@weekly`, …, e.g. `30 1 * * *` for 01:30 every night.
    #[schemars(length(min = 1, max = 200))]
    pub schedule: String,
    /// The time zone of the schedule and of the retention's days and weeks.
    #[serde(default = "default_time_zone")]
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,
    /// What to keep. Backups kept by no rule are deleted after each run.
    pub retention: RetentionSpec,
    /// Where backups are written: a storage pool on another host or in another pool
    /// than the volumes.
    pub target: BackupTarget,
    /// Read each backup back and compare its SHA-256 before calling it complete.
    #[serde(default = "yes")]
    pub verify: bool,
    /// Stop creating new backups (existing ones are kept and still pruned).
    #[serde(default)]
    pub suspend: bool,
}

fn default_time_zone() -> String {
    "Europe/Riga".into()
}

fn yes() -> bool {
    true
}

/// How many backups to keep per period. The newest backup of each of the last N
/// periods is kept; rules are applied in the order of the fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.keepLast) || has(self.keepHourly) || has(self.keepDaily) || has(self.keepWeekly) || has(self.keepMonthly) || has(self.keepYearly)")
    .message("set at least one keep rule; a policy that keeps everything would fill the backup storage"))]
pub struct RetentionSpec {
    /// Keep the last N backups.
    #[serde(rename = "keepLast", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub keep_last: Option<i32>,
    /// Keep the newest backup of each of the last N hours.
    #[serde(rename = "keepHourly", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub keep_hourly: Option<i32>,
    /// Keep the newest backup of each of the last N days.
    #[serde(rename = "keepDaily", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub keep_daily: Option<i32>,
    /// Keep the newest backup of each of the last N ISO weeks.
    #[serde(rename = "keepWeekly", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub keep_weekly: Option<i32>,
    /// Keep the newest backup of each of the last N months.
    #[serde(rename = "keepMonthly", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub keep_monthly: Option<i32>,
    /// Keep the newest backup of each of the last N years.
    #[serde(rename = "keepYearly", default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub keep_yearly: Option<i32>,
}

/// A libvirt storage pool that receives backups.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BackupTarget {
    /// The `HostPool` of the target host.
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub host_pool: String,
    /// The host within that pool.
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub host: String,
    /// The libvirt storage pool on that host, e.g. `backup`: a storage tier's pool or one
    /// of the HostPool's `backupStoragePools`.
    #[schemars(regex(pattern = LIBVIRT_NAME_PATTERN))]
    pub storage_pool: String,
}

/// What the backup controller last did for a policy.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct BackupPolicyStatus {
    /// `Ready` (the schedule is valid and the last run succeeded; otherwise why not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the last run was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<Time>,
    /// When the next run is due (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_schedule_time: Option<String>,
    /// When a run last completed with every backup verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_time: Option<Time>,
    /// Backups of the policy that exist now.
    #[serde(default)]
    pub backups: i32,
}
