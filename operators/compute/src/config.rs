//! Settings of the compute controllers.

/// What the compute controllers need to know about the platform.
#[derive(Debug, Clone)]
pub struct ComputeConfig {
    /// The namespace whose Secrets a HostPool's `credentialsSecret` may name.
    pub platform_namespace: String,
    /// This operator process, as written into `Backup.status.runner`: a run whose
    /// runner is not this process was interrupted.
    pub runner: String,
    /// Where connection certificates from credential Secrets are written (`pkipath`).
    pub pki_root: std::path::PathBuf,
    /// Only objects whose labels match this selector are reconciled (to split the work
    /// between instances); quota and placement still count every object.
    pub selector: Option<String>,
}
