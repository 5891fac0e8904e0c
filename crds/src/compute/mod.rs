//! API group `compute.makonis.lv`: virtual machines, their disks and their backups on
//! libvirt hypervisors.
//!
//! A [`HostPool`] lists the hypervisors; a [`VirtualMachine`] is placed on one of them
//! with room; a [`Volume`] is a disk in one of a host's storage pools. A
//! [`BackupPolicy`] takes [`Backup`]s of volumes on a schedule and prunes them with a
//! retention; a [`Restore`] writes a backup back, to a new volume or in place.

mod backup;
mod backup_policy;
mod host_pool;
pub(crate) mod quantity_rules;
mod restore;
mod virtual_machine;
mod volume;

pub use backup::{Backup, BackupLocation, BackupPhase, BackupSpec, BackupStatus};
pub use backup_policy::{BackupPolicy, BackupPolicySpec, BackupPolicyStatus, BackupTarget, RetentionSpec};
pub use host_pool::{
    ALL_AGENCIES, HostCapacity, HostPool, HostPoolSpec, HostPoolStatus, HostSpec, HostStatus, Overcommit, PoolNetwork,
    SecretReference, StorageTier,
};
pub use restore::{Restore, RestorePhase, RestoreSpec, RestoreStatus, RestoreTarget};
pub use virtual_machine::{
    CloudInit, DiskSpec, InlineVolume, NetworkAttachment, NetworkKind, Placement, PowerState, VirtualMachine,
    VirtualMachineSpec, VirtualMachineStatus, VmPhase,
};
pub use volume::{
    ImageSource, ReclaimPolicy, Volume, VolumeFormat, VolumePhase, VolumeSource, VolumeSpec, VolumeStatus,
};

/// The API group of every compute kind.
pub const GROUP: &str = "compute.makonis.lv";

/// Names of libvirt objects, volumes and hosts: DNS-label-like, so that they are safe in
/// file names and XML.
pub const OBJECT_NAME_PATTERN: &str = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
/// Names of libvirt storage pools and networks as the hypervisor spells them.
pub const LIBVIRT_NAME_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
