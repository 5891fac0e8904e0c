//! The `Volume` kind: a virtual disk in a storage pool of one hypervisor host.

use k8s_openapi::apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::Condition};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    LIBVIRT_NAME_PATTERN, OBJECT_NAME_PATTERN,
    quantity_rules::{NO_SHRINK, NO_SHRINK_MESSAGE, SIZE, SIZE_MESSAGE},
};

/// A virtual disk: empty, copied from an image, cloned from another volume or restored
/// from a backup.
///
/// A volume without `spec.host` is created on the host of the first virtual machine
/// that uses it. Growing `spec.size` resizes it (online when its machine runs);
/// shrinking is refused. Deleting a volume a virtual machine uses is refused; a deleted
/// volume's data is removed only with `reclaimPolicy: Delete`.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.makonis.lv",
    version = "v1alpha1",
    kind = "Volume",
    plural = "volumes",
    singular = "volume",
    shortname = "vol",
    category = "makonis",
    namespaced,
    status = "VolumeStatus",
    printcolumn(name = "Size", type_ = "string", json_path = ".spec.size"),
    printcolumn(name = "Tier", type_ = "string", json_path = ".spec.tier"),
    printcolumn(name = "Host", type_ = "string", json_path = ".status.host"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Used-By", type_ = "string", json_path = ".status.usedBy"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("!has(oldSelf.host) || (has(self.host) && self.host == oldSelf.host)")
    .message("host cannot change: a volume's data lives on its host")
    .field_path(".host"))]
#[serde(rename_all = "camelCase")]
pub struct VolumeSpec {
    /// The `HostPool` whose hosts may hold the volume. Immutable.
    #[schemars(length(min = 1, max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("hostPool is immutable"))]
    pub host_pool: String,
    /// The host to create the volume on. Omit to create it where its first virtual
    /// machine is placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub host: Option<String>,
    /// Capacity, e.g. `20Gi`. May grow; never shrinks.
    #[x_kube(validation = Rule::new(SIZE).message(SIZE_MESSAGE))]
    #[x_kube(validation = Rule::new(NO_SHRINK).message(NO_SHRINK_MESSAGE))]
    pub size: Quantity,
    /// The pool's storage tier (a libvirt storage pool on every host). Immutable.
    #[serde(default = "default_tier")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("tier is immutable: restore a backup into a new volume of the other tier"))]
    pub tier: String,
    /// Disk format. Immutable.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("format is immutable"))]
    pub format: VolumeFormat,
    /// Where the first content comes from. Omit for an empty volume. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("source is immutable"))]
    pub source: Option<VolumeSource>,
    /// What happens to the data when the volume is deleted: `Retain` (default) keeps it
    /// on the host, `Delete` removes it.
    #[serde(default)]
    pub reclaim_policy: ReclaimPolicy,
}

fn default_tier() -> String {
    "standard".into()
}

/// Disk formats.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum VolumeFormat {
    /// Plain bytes: fastest, fully allocated on most pools.
    #[default]
    Raw,
    /// QEMU copy-on-write: thin, supports backing images.
    Qcow2,
}

impl VolumeFormat {
    /// The name libvirt uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Qcow2 => "qcow2",
        }
    }
}

/// What happens to a volume's data when the volume is deleted.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ReclaimPolicy {
    /// Keep the data on the host (its libvirt volume stays; an operator removes it).
    #[default]
    Retain,
    /// Remove the data with the volume.
    Delete,
}

/// Where a volume's first content comes from: exactly one of the fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("[has(self.image), has(self.volume), has(self.backup)].filter(x, x).size() == 1")
    .message("set exactly one of image, volume and backup"))]
pub struct VolumeSource {
    /// Copy of an image: a libvirt volume in one of the HostPool's image storage pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSource>,
    /// Clone of another `Volume` of the same namespace (on the same host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub volume: Option<String>,
    /// Restore of a completed `Backup` of the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub backup: Option<String>,
}

/// An image: a libvirt volume that new disks are copied from.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImageSource {
    /// The libvirt storage pool holding the image, e.g. `images`.
    #[schemars(regex(pattern = LIBVIRT_NAME_PATTERN))]
    pub storage_pool: String,
    /// The image's volume name in that pool, e.g. `debian-12.qcow2`.
    #[schemars(regex(pattern = LIBVIRT_NAME_PATTERN))]
    pub name: String,
}

/// What the compute controller last found of a volume: a report, which it never reads
/// back to decide anything on a host (a status that disagrees with the hosts is reported
/// with a `StatusMismatch` Warning Event and corrected).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VolumeStatus {
    /// `Pending`, `Available`, `InUse` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<VolumePhase>,
    /// `Ready` (the disk exists with the asked size) with a reason and a human message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The host holding the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The libvirt storage pool holding the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_pool: Option<String>,
    /// The libvirt volume's name in that pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// The volume's path on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Capacity in bytes, as libvirt reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_bytes: Option<i64>,
    /// Bytes allocated on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocation_bytes: Option<i64>,
    /// The virtual machine using the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
}

/// Where a volume is in its life.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumePhase {
    /// Waiting for a host (its first virtual machine's placement) or for its source.
    Pending,
    /// Created, not used by a virtual machine.
    Available,
    /// Used by a virtual machine.
    InUse,
    /// Cannot be created as it stands; the `Ready` condition says why.
    Failed,
}
