//! The `VirtualMachine` kind: a libvirt domain placed on a host of a pool.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::{api::resource::Quantity, apis::meta::v1::Condition};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    LIBVIRT_NAME_PATTERN, OBJECT_NAME_PATTERN, ReclaimPolicy,
    quantity_rules::{MEMORY, MEMORY_MESSAGE, QUANTITY, SIZE_MESSAGE},
    volume::{ImageSource, VolumeFormat},
};

/// A virtual machine: vCPUs, memory, disks and networks, started or stopped as asked.
///
/// The compute controller places it on a host of its pool with room (the choice and why
/// are in `status.placement`), creates its inline disks, defines a libvirt domain named
/// after the machine and tagged with its UID, and starts or stops it. Deleting it stops
/// and undefines the domain; its volumes follow their own `reclaimPolicy`.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.makonis.lv",
    version = "v1alpha1",
    kind = "VirtualMachine",
    plural = "virtualmachines",
    singular = "virtualmachine",
    shortname = "vm",
    category = "makonis",
    namespaced,
    status = "VirtualMachineStatus",
    printcolumn(name = "vCPU", type_ = "integer", json_path = ".spec.vcpus"),
    printcolumn(name = "Memory", type_ = "string", json_path = ".spec.memory"),
    printcolumn(name = "Host", type_ = "string", json_path = ".status.host"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Address", type_ = "string", json_path = ".status.addresses[0]"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("self.disks.all(d, self.disks.exists_one(o, o.name == d.name))")
    .message("disk names must be unique")
    .field_path(".disks"))]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineSpec {
    /// The `HostPool` to place the machine in. Immutable.
    #[schemars(length(min = 1, max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("hostPool is immutable"))]
    pub host_pool: String,
    /// Virtual CPUs (1–64). A change applies at the next start.
    #[schemars(range(min = 1, max = 64))]
    pub vcpus: i32,
    /// Memory, e.g. `4Gi` (at least 64Mi). A change applies at the next start.
    #[x_kube(validation = Rule::new(MEMORY).message(MEMORY_MESSAGE))]
    pub memory: Quantity,
    /// Whether the machine should run: `Running` (default) or `Stopped`.
    #[serde(default)]
    pub power_state: PowerState,
    /// The disks, in boot order: the first is `vda` (at most 12).
    #[serde(default)]
    #[schemars(length(max = 12))]
    pub disks: Vec<DiskSpec>,
    /// The networks the machine is attached to: each must be one the HostPool offers the
    /// machine's agency (`spec.networks` of the HostPool).
    #[serde(default)]
    #[schemars(length(max = 8))]
    pub networks: Vec<NetworkAttachment>,
    /// cloud-init configuration, given to the guest as a NoCloud seed disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_init: Option<CloudInit>,
    /// Where the machine may run.
    #[serde(default)]
    pub placement: Placement,
}

/// The power state asked for.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PowerState {
    /// Running; started again if it stops.
    #[default]
    Running,
    /// Shut down (ACPI first, forced after a grace period).
    Stopped,
}

/// One disk: an existing `Volume`, or an inline volume created for the machine.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.volume) != has(self.inline)")
    .message("set exactly one of volume and inline"))]
pub struct DiskSpec {
    /// The disk's name within the machine, e.g. `root` or `data`.
    #[schemars(length(min = 1, max = 40), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
    /// Name of a `Volume` in the machine's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub volume: Option<String>,
    /// A volume created for this machine, named `<machine>-<disk>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<InlineVolume>,
}

/// A volume created with the machine.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InlineVolume {
    /// Capacity, e.g. `20Gi` (at least 1Mi; the controller checks the minimum).
    #[x_kube(validation = Rule::new(QUANTITY).message(SIZE_MESSAGE))]
    pub size: Quantity,
    /// Storage tier of the pool. Default `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub tier: Option<String>,
    /// Disk format. Default `raw`.
    #[serde(default)]
    pub format: VolumeFormat,
    /// The image to copy the disk from. Omit for an empty disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSource>,
    /// What happens to the volume with the machine: `Delete` (default for inline disks)
    /// removes it with the machine; `Retain` keeps the `Volume` and its data.
    #[serde(default = "inline_reclaim")]
    pub reclaim_policy: ReclaimPolicy,
}

fn inline_reclaim() -> ReclaimPolicy {
    ReclaimPolicy::Delete
}

/// A network attachment.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.kind == 'User' || has(self.network)")
    .message("a Network attachment names its libvirt network"))]
pub struct NetworkAttachment {
    /// `Network` (a libvirt network of the host) or `User` (QEMU user-mode networking,
    /// for hosts without networks of their own, such as a user session).
    #[serde(default)]
    pub kind: NetworkKind,
    /// The libvirt network's name, e.g. `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = LIBVIRT_NAME_PATTERN))]
    pub network: Option<String>,
}

/// Kinds of network attachment.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NetworkKind {
    /// A libvirt network of the host.
    #[default]
    Network,
    /// QEMU user-mode networking.
    User,
}

/// cloud-init user data, given to the guest through a NoCloud seed disk.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.userData) != has(self.userDataSecret)")
    .message("set exactly one of userData and userDataSecret"))]
pub struct CloudInit {
    /// The user data (`#cloud-config …`). Put anything secret in `userDataSecret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub user_data: Option<String>,
    /// Name of a Secret in the machine's namespace whose key `userData` holds the user
    /// data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub user_data_secret: Option<String>,
}

/// Placement constraints.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// Host labels the chosen host must carry, e.g. `zone: dc1`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Machines of the same group are never placed on the same host, e.g. the two nodes
    /// of a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = OBJECT_NAME_PATTERN))]
    pub anti_affinity_group: Option<String>,
}

/// What the compute controller last found of a machine: a report, which it never reads
/// back to decide anything on a host (a status that disagrees with the hosts is reported
/// with a `StatusMismatch` Warning Event and corrected).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct VirtualMachineStatus {
    /// `Pending`, `Provisioning`, `Running`, `Stopped`, `HostUnreachable` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<VmPhase>,
    /// `Ready` (the machine is in the asked power state) and `Scheduled` (it has a host),
    /// each with a reason and a human message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The host the machine is placed on. Kept for the machine's life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Why that host was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_reason: Option<String>,
    /// The libvirt domain's name on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// The libvirt domain's UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_uuid: Option<String>,
    /// The power state libvirt reports: `Running`, `Paused`, `ShutOff`, `Crashed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_state: Option<String>,
    /// Guest addresses, where libvirt knows them (DHCP leases).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// What the machine holds on its host: vCPUs and memory (bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocated: Option<super::HostCapacity>,
}

/// Where a machine is in its life.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmPhase {
    /// Waiting for a host with room, for quota, or for its volumes.
    Pending,
    /// Disks and domain are being created.
    Provisioning,
    /// The domain runs.
    Running,
    /// The domain is shut off, as asked.
    Stopped,
    /// The host does not answer; the machine is left where it is.
    HostUnreachable,
    /// Cannot be provisioned as it stands; the `Ready` condition says why.
    Failed,
}
