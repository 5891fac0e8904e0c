//! The plain data the hypervisor layer takes and returns: what a domain or a volume should
//! be, what was found on a host, and what a copy produced. No libvirt here.

/// The desired shape of a Mākonis virtual machine on a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainSpec {
    /// libvirt domain name, unique on the host.
    pub name: String,
    /// UID of the owning Kubernetes object; guards against taking over another VM's domain.
    pub owner_uid: String,
    /// Namespace of the owning object.
    pub owner_namespace: String,
    /// Name of the owning object.
    pub owner_name: String,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Memory in bytes (rounded up to whole KiB).
    pub memory_bytes: u64,
    /// Disks, attached as virtio in this order.
    pub disks: Vec<DiskSpec>,
    /// Network interfaces (virtio).
    pub networks: Vec<NetworkSpec>,
    /// Path of a seed ISO volume, attached read-only as SATA CD-ROM `sda`.
    pub cdrom: Option<String>,
}

/// One virtio disk of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskSpec {
    /// Path of the volume (see [`super::VolumeInfo::path`]).
    pub path: String,
    /// How qemu reads the file.
    pub format: VolumeFormat,
    /// Guest device, e.g. "vda".
    pub target: String,
}

/// One network interface of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkSpec {
    /// Attached to the libvirt network of this name.
    Network(String),
    /// qemu user-mode networking (no privileges needed; for `qemu:///session`).
    User,
}

/// The power state of a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerState {
    /// Running (or blocked on a resource).
    Running,
    /// Paused by an administrator or libvirt, or suspended by the guest.
    Paused,
    /// Not running.
    ShutOff,
    /// Crashed (and not restarted).
    Crashed,
    /// Anything else, e.g. in the middle of shutting down.
    Other,
}

/// A domain as found on a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainInfo {
    /// libvirt domain name.
    pub name: String,
    /// libvirt domain UUID.
    pub uuid: String,
    /// Power state.
    pub state: PowerState,
    /// UID of the owning object from our metadata; `None` for domains Mākonis does not manage.
    pub owner_uid: Option<String>,
    /// Virtual CPUs.
    pub vcpus: u32,
    /// Maximum memory in bytes.
    pub memory_bytes: u64,
}

/// How a volume's bytes are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeFormat {
    /// The guest's disk byte for byte (also anything libvirt reports that is not qcow2).
    Raw,
    /// A qcow2 image.
    Qcow2,
}

/// A storage pool's state and space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// Pool name.
    pub name: String,
    /// Size of the underlying storage in bytes.
    pub capacity_bytes: u64,
    /// Bytes allocated to volumes.
    pub allocation_bytes: u64,
    /// Bytes still free for new volumes.
    pub available_bytes: u64,
    /// Target directory (or device) of the pool, when it has one.
    pub path: Option<String>,
    /// Whether the pool is started.
    pub active: bool,
}

/// A storage volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeInfo {
    /// Volume name, unique in its pool.
    pub name: String,
    /// Host-wide unique key.
    pub key: String,
    /// Path for a domain's disk source.
    pub path: String,
    /// Size the guest sees, in bytes.
    pub capacity_bytes: u64,
    /// Bytes allocated on the host.
    pub allocation_bytes: u64,
    /// Layout.
    pub format: VolumeFormat,
}

/// Where a new volume's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VolumeSource {
    /// Zeros.
    Empty,
    /// A copy of another volume of the same host (any pool), converted to the new format.
    Clone {
        /// The source volume's pool.
        pool: String,
        /// The source volume's name.
        name: String,
    },
}

/// A volume to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeSpec {
    /// Volume name.
    pub name: String,
    /// Size in bytes; a clone of a smaller volume is grown to it.
    pub capacity_bytes: u64,
    /// Layout.
    pub format: VolumeFormat,
    /// Initial content.
    pub source: VolumeSource,
}

/// The outcome of a copy or checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyReport {
    /// Bytes streamed.
    pub bytes: u64,
    /// SHA-256 of those bytes, lowercase hex.
    pub sha256: String,
}
