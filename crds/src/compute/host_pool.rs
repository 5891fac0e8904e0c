//! The `HostPool` kind: a set of libvirt hypervisors that virtual machines are placed on.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{LIBVIRT_NAME_PATTERN, NetworkKind, OBJECT_NAME_PATTERN};

/// An agency code, or `*` for every agency.
const AGENCY_OR_ALL_PATTERN: &str = r"^(\*|[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?)$";

/// Hypervisor hosts reached through libvirt, with their capacity and over-commit, and
/// what the pool offers to whom: storage tiers, images, backup storage and networks.
///
/// The compute controller connects to every host, reports what it can reach and how
/// much room is left, and places virtual machines that name this pool on a reachable
/// host outside maintenance with room for them. Only platform administrators write
/// HostPools (they are cluster-scoped): every storage pool and network the controller
/// touches on a host comes from here, never from an agency's objects.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "compute.makonis.lv",
    version = "v1alpha1",
    kind = "HostPool",
    plural = "hostpools",
    singular = "hostpool",
    shortname = "hp",
    category = "makonis",
    status = "HostPoolStatus",
    printcolumn(name = "Hosts", type_ = "integer", json_path = ".status.hostCount"),
    printcolumn(name = "Reachable", type_ = "integer", json_path = ".status.reachableCount"),
    printcolumn(name = "VMs", type_ = "integer", json_path = ".status.virtualMachines"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[x_kube(validation = Rule::new("self.hosts.all(h, self.hosts.exists_one(o, o.name == h.name))")
    .message("host names must be unique within the pool")
    .field_path(".hosts"))]
#[x_kube(validation = Rule::new("self.storageTiers.all(t, self.storageTiers.exists_one(o, o.name == t.name))")
    .message("storage tier names must be unique within the pool")
    .field_path(".storageTiers"))]
#[x_kube(validation = Rule::new("!has(self.imageStoragePools) || self.imageStoragePools.all(p, !self.storageTiers.exists(t, t.storagePool == p) && (!has(self.backupStoragePools) || !(p in self.backupStoragePools)))")
    .message("an image storage pool must not be a storage tier's or a backup storage pool: what an agency writes there would become an image every agency can copy")
    .field_path(".imageStoragePools"))]
#[serde(rename_all = "camelCase")]
pub struct HostPoolSpec {
    /// The hypervisors of the pool.
    #[schemars(length(min = 1, max = 256))]
    pub hosts: Vec<HostSpec>,
    /// Secret (in the platform namespace) with the credentials for the hosts' libvirt
    /// connections: `username` and `password` for SASL, or `cacert.pem`, `clientcert.pem`
    /// and `clientkey.pem` for `qemu+tls://`. Omit for local connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<SecretReference>,
    /// How far vCPUs and memory may be over-committed on every host of the pool.
    #[serde(default)]
    pub overcommit: Overcommit,
    /// The storage tiers volumes may ask for, each a libvirt storage pool present on
    /// every host.
    #[schemars(length(min = 1, max = 16))]
    pub storage_tiers: Vec<StorageTier>,
    /// The libvirt storage pools that hold the platform's images, on every host: a disk's
    /// `image.storagePool` must be one of them, and any volume in them is an image. Never
    /// a storage tier's pool nor a backup storage pool, so nothing an agency writes
    /// becomes an image another agency can copy. Default: `images`.
    #[serde(default = "default_image_storage_pools")]
    #[schemars(length(max = 16), inner(length(max = 64), regex(pattern = LIBVIRT_NAME_PATTERN)))]
    pub image_storage_pools: Vec<String>,
    /// Libvirt storage pools, besides the storage tiers' pools, that backups may be
    /// written to (a backup target's `storagePool` must be one of either).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(length(max = 64), regex(pattern = LIBVIRT_NAME_PATTERN)))]
    pub backup_storage_pools: Vec<String>,
    /// The networks virtual machines of the pool may be attached to, each with the
    /// agencies allowed on it (a network listed twice is open to the agencies of both
    /// entries). A machine asking for a network (or for QEMU user-mode networking) that is
    /// not listed for its agency is refused. Default: libvirt's
    /// `default` network for every agency; user-mode networking only where listed.
    #[serde(default = "default_networks")]
    #[schemars(length(max = 64))]
    pub networks: Vec<PoolNetwork>,
}

fn default_image_storage_pools() -> Vec<String> {
    vec!["images".into()]
}

fn default_networks() -> Vec<PoolNetwork> {
    vec![PoolNetwork { kind: NetworkKind::Network, name: Some("default".into()), agencies: vec![ALL_AGENCIES.into()] }]
}

/// In [`PoolNetwork::agencies`]: every agency (and machines outside agency namespaces).
pub const ALL_AGENCIES: &str = "*";

/// A network the pool's machines may join, and who may join it.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(self.kind == 'User') != has(self.name)")
    .message("a Network entry names its libvirt network; a User entry has no name"))]
pub struct PoolNetwork {
    /// `Network` (a libvirt network present on every host) or `User` (QEMU user-mode
    /// networking: the guest reaches out through the hypervisor's own network stack, so
    /// list it only for hosts where that is wanted, such as a user session).
    #[serde(default)]
    pub kind: NetworkKind,
    /// The libvirt network's name, for a `Network` entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), regex(pattern = LIBVIRT_NAME_PATTERN))]
    pub name: Option<String>,
    /// Codes of the agencies whose machines may be attached, or `*` for every agency.
    #[schemars(length(min = 1, max = 64), inner(regex(pattern = AGENCY_OR_ALL_PATTERN)))]
    pub agencies: Vec<String>,
}

/// One hypervisor host.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostSpec {
    /// The host's name within the pool, e.g. `kvm-01`.
    #[schemars(length(min = 1, max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
    /// The libvirt connection URI: `qemu+tls://kvm-01.dc.lm.gov.lv/system` in production,
    /// `qemu:///session` for a local user session, `test:///default` for the test
    /// hypervisor.
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^[a-z0-9+]+://"))]
    pub uri: String,
    /// Labels that virtual machines can ask for in `spec.placement.labels`, e.g.
    /// `zone: dc1`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// A host in maintenance keeps its virtual machines but gets no new ones.
    #[serde(default)]
    pub maintenance: bool,
    /// What the host offers, when it should be less than libvirt reports (for example
    /// to keep room for the hypervisor itself). Omit to use what libvirt reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<HostCapacity>,
}

/// vCPUs and memory of a host.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostCapacity {
    /// Logical CPUs.
    #[schemars(range(min = 0, max = 100000))]
    pub vcpus: i32,
    /// Memory in bytes.
    pub memory_bytes: i64,
}

/// Over-commit ratios, in percent of the physical capacity.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Overcommit {
    /// vCPUs that may be allocated per 100 logical CPUs (400 = 4 vCPUs per CPU).
    #[serde(default = "default_cpu_percent")]
    #[schemars(range(min = 100, max = 2000))]
    pub cpu_percent: i32,
    /// Memory that may be allocated per 100 bytes of memory (100 = no over-commit).
    #[serde(default = "default_memory_percent")]
    #[schemars(range(min = 50, max = 200))]
    pub memory_percent: i32,
}

impl Default for Overcommit {
    fn default() -> Self {
        Self { cpu_percent: default_cpu_percent(), memory_percent: default_memory_percent() }
    }
}

fn default_cpu_percent() -> i32 {
    400
}

fn default_memory_percent() -> i32 {
    100
}

/// A storage tier: a name volumes ask for, and the libvirt storage pool that holds it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StorageTier {
    /// The tier's name, e.g. `standard` or `fast`.
    #[schemars(length(min = 1, max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    pub name: String,
    /// The libvirt storage pool of the tier on every host, e.g. `default`.
    #[schemars(length(max = 64), regex(pattern = LIBVIRT_NAME_PATTERN))]
    pub storage_pool: String,
}

/// A Secret by namespace and name.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SecretReference {
    /// The Secret's namespace.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// The Secret's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// What the compute controller last observed of the pool's hosts.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostPoolStatus {
    /// `Ready`: every host is reachable (otherwise the message names those that are not).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Number of hosts in the pool.
    #[serde(default)]
    pub host_count: i32,
    /// Number of hosts that answered the last check.
    #[serde(default)]
    pub reachable_count: i32,
    /// Number of virtual machines placed in the pool.
    #[serde(default)]
    pub virtual_machines: i32,
    /// Each host as last checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<HostStatus>,
}

/// One host as last checked.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct HostStatus {
    /// The host's name.
    pub name: String,
    /// Whether libvirt answered at the last check.
    pub reachable: bool,
    /// Why the host is not reachable, or what it is (`QEMU 7.2.0, libvirt 9.0.0`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The libvirt version of the host, e.g. `9.0.0`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub libvirt_version: String,
    /// Whether the host is in maintenance (from the spec).
    #[serde(default)]
    pub maintenance: bool,
    /// Physical capacity (or the spec's override).
    #[serde(default)]
    pub capacity: HostCapacity,
    /// What the virtual machines placed on the host hold.
    #[serde(default)]
    pub allocated: HostCapacity,
    /// What is left for new virtual machines, over-commit included.
    #[serde(default)]
    pub free: HostCapacity,
    /// When the host's state last changed (checks that find the same state are not
    /// written, to spare the API server; the host is checked every 30 seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked: Option<Time>,
}
