//! What the compute controllers read off machines and volumes: the volumes a machine's
//! disks use, the disk that uses a volume (and whether libvirt runs its domain), the
//! names of power states and formats, and the finalizer that guards a machine's domain.
//! The machine, volume, backup and restore controllers all use these.

use kube::ResourceExt;
use makonis_api::compute::VirtualMachine;

use crate::{
    hypervisor::{self, Hypervisor, HypervisorError, PowerState},
    naming,
};

/// The finalizer that removes the machine's libvirt domain before the machine goes.
pub const FINALIZER: &str = "compute.makonis.lv/domain";

/// The names of the `Volume`s a machine's disks use, in disk order.
pub fn volume_names(machine: &VirtualMachine) -> Vec<String> {
    machine
        .spec
        .disks
        .iter()
        .map(|disk| match &disk.volume {
            Some(volume) => volume.clone(),
            None => naming::inline_volume_name(&machine.name_any(), &disk.name),
        })
        .collect()
}

/// The disk of a machine that uses a volume: its domain, guest device and the machine's
/// UID (which the domain's metadata must carry for the disk to be the machine's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedDisk {
    /// The domain's name.
    pub domain: String,
    /// The guest device, e.g. `vdb`.
    pub target: String,
    /// The machine's UID.
    pub owner_uid: String,
}

impl AttachedDisk {
    /// Whether libvirt on `hv` runs the machine's own domain now (asked, never read from
    /// the machine's status).
    pub fn is_running(&self, hv: &Hypervisor) -> Result<bool, HypervisorError> {
        Ok(hv.find_domain(&self.domain)?.is_some_and(|d| {
            d.state == PowerState::Running
                && !self.owner_uid.is_empty()
                && d.owner_uid.as_deref() == Some(&self.owner_uid)
        }))
    }
}

/// The disk of `machine` that uses `volume`, from the machine's spec.
pub fn disk_of(machine: &VirtualMachine, namespace: &str, volume: &str) -> Option<AttachedDisk> {
    let index = volume_names(machine).iter().position(|v| v == volume)?;
    Some(AttachedDisk {
        domain: naming::domain_name(namespace, &machine.name_any()),
        target: naming::disk_target(index),
        owner_uid: machine.uid().unwrap_or_default(),
    })
}

/// The name a power state has in `status.powerState`.
pub fn power_state_name(state: PowerState) -> &'static str {
    match state {
        PowerState::Running => "Running",
        PowerState::Paused => "Paused",
        PowerState::ShutOff => "ShutOff",
        PowerState::Crashed => "Crashed",
        PowerState::Other => "Other",
    }
}

/// The hypervisor's name for a volume's format.
pub fn disk_format(format: makonis_api::compute::VolumeFormat) -> hypervisor::VolumeFormat {
    match format {
        makonis_api::compute::VolumeFormat::Raw => hypervisor::VolumeFormat::Raw,
        makonis_api::compute::VolumeFormat::Qcow2 => hypervisor::VolumeFormat::Qcow2,
    }
}
