//! The compute controllers: virtual machines, volumes, backups and restores on libvirt
//! hypervisors (API group `compute.makonis.lv`).
//!
//! The pure steps hold the logic and are unit-tested without a cluster or a hypervisor:
//! [`placement`] (which host), [`quota`] (does the agency have room), [`schedule`]
//! (cron in Europe/Riga), [`retention`] (which backups to keep), [`cloudinit`] (the
//! NoCloud seed disk), [`naming`] (libvirt names and the owner they record) and
//! [`allowed`] (what a host pool offers to whom). The IO edges are [`hypervisor`]
//! (libvirt through the `virt` crate, synchronous, run on blocking threads), [`hosts`]
//! (one open connection per host) and the controllers in [`controller`], with their
//! [`metrics`]; the admission checks that need other objects are in [`webhook`].

pub mod allowed;
pub mod cloudinit;
pub mod config;
pub mod controller;
pub mod error;
pub mod hosts;
pub mod hypervisor;
pub mod metrics;
pub mod naming;
pub mod placement;
pub mod quota;
pub mod retention;
pub mod schedule;
pub mod webhook;

pub use config::ComputeConfig;
pub use controller::{ComputeController, Context};
pub use metrics::ComputeMetrics;

/// The field manager and `app.kubernetes.io/managed-by` value of the compute controllers.
pub const MANAGER: &str = "makonis-compute";
