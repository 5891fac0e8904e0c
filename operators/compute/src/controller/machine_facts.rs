//! What the compute controllers read off machines and volumes: the volumes a machine's
//! disks use, whether libvirt reports its domain running or shut off, the running disk of
//! a volume, the names of power states and formats, and the finalizer that guards a
//! machine's domain. The machine, volume, backup and restore controllers all use these.

use kube::ResourceExt;
use makonis_api::compute::VirtualMachine;

use crate::{
    hypervisor::{self, PowerState},
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

/// Whether libvirt last reported the machine's domain as running.
pub fn is_running(machine: &VirtualMachine) -> bool {
    machine.status.as_ref().and_then(|s| s.power_state.as_deref()) == Some(power_state_name(PowerState::Running))
}

/// Whether libvirt last reported the machine's domain as shut off.
pub fn is_shut_off(machine: &VirtualMachine) -> bool {
    machine.status.as_ref().and_then(|s| s.power_state.as_deref()) == Some(power_state_name(PowerState::ShutOff))
}

/// The running domain and guest device that use `volume`, if its machine runs: what a
/// disk snapshot or an online resize needs.
pub fn running_disk(machine: &VirtualMachine, namespace: &str, volume: &str) -> Option<(String, String)> {
    let index = volume_names(machine).iter().position(|v| v == volume)?;
    is_running(machine).then(|| (naming::domain_name(namespace, &machine.name_any()), naming::disk_target(index)))
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
