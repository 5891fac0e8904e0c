//! The compute operator's IO layer to libvirt: connecting to a host, Mākonis domains (virtual
//! machines tagged with our metadata), storage pools and volumes, streaming volume copies with
//! SHA-256, and freezing a running domain's disk for a consistent copy.
//!
//! Every call is synchronous and may block on the network; the operator runs them inside
//! `tokio::task::spawn_blocking`. [`Hypervisor`] is `Send + Sync` (virt's `Connect` is, and a
//! libvirt connection may be used from several threads at once).

mod connection;
mod copy;
mod domain;
mod local;
mod snapshot;
mod spec;
mod stream;
mod volume;
mod xml;

pub use connection::{Credentials, HostFacts, Hypervisor};
pub use copy::{checksum_volume, copy_volume, read_volume, stream_volume, verify_volume};
pub use snapshot::{FrozenDisk, freeze_disk, thaw_disk};
pub use spec::{
    CopyReport, DiskSpec, DomainInfo, DomainSpec, NetworkSpec, PoolInfo, PowerState, VolumeFormat, VolumeInfo,
    VolumeSource, VolumeSpec,
};
pub use xml::{METADATA_NAMESPACE, domain_xml, owner_uid, pool_dir_xml, snapshot_xml, volume_xml};

/// Why a hypervisor call failed. Every message names the host URI (without any password) and
/// the object concerned, and says what an operator can do about it.
#[derive(Debug, thiserror::Error)]
pub enum HypervisorError {
    /// The host cannot be reached or refused the connection (daemon down, wrong URI, bad
    /// credentials or certificates, connection lost).
    #[error(
        "cannot talk to the hypervisor at {uri}: {message}; check that libvirtd runs on that host, that the URI is \
         right and that the credentials and TLS certificates are valid"
    )]
    Unreachable {
        /// The host's URI, password removed.
        uri: String,
        /// libvirt's explanation.
        message: String,
    },
    /// libvirt rejected or failed an operation.
    #[error("libvirt on {uri} could not {action}: {message}")]
    Libvirt {
        /// The host's URI, password removed.
        uri: String,
        /// What was attempted, naming the object, e.g. "start domain web-1".
        action: String,
        /// libvirt's explanation.
        message: String,
    },
    /// The host's libvirt driver does not offer the call (e.g. volume uploads on the test
    /// hypervisor).
    #[error("the hypervisor at {uri} cannot {action}: its libvirt driver does not support it")]
    Unsupported {
        /// The host's URI, password removed.
        uri: String,
        /// What was attempted.
        action: String,
    },
    /// A domain, pool or volume that must exist does not.
    #[error("{what} does not exist on {uri}; {hint}")]
    NotFound {
        /// The host's URI, password removed.
        uri: String,
        /// The missing object, e.g. "storage pool makonis".
        what: String,
        /// What to do about it.
        hint: String,
    },
    /// The operation would destroy data or someone else's object and is refused.
    #[error("refused on {uri}: {reason}")]
    Refused {
        /// The host's URI, password removed.
        uri: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A volume's content does not have the expected SHA-256 or length.
    #[error("volume {volume} on {uri} {problem}; the copy is not trustworthy, copy it again")]
    Checksum {
        /// The host's URI, password removed.
        uri: String,
        /// "pool/volume".
        volume: String,
        /// What differs.
        problem: String,
    },
    /// Reading or writing volume data failed: the reader of an upload, or a copy or
    /// checksum on the operator's own host.
    #[error("reading or writing the data of volume {volume} on {uri} failed: {source}")]
    Io {
        /// The host's URI, password removed.
        uri: String,
        /// "pool/volume".
        volume: String,
        /// The reader's error.
        source: std::io::Error,
    },
    /// A long-running libvirt job did not finish in time.
    #[error("{what} on {uri} did not finish within {seconds} s; {hint}")]
    Timeout {
        /// The host's URI, password removed.
        uri: String,
        /// The job, naming its object.
        what: String,
        /// How long we waited.
        seconds: u64,
        /// What to do about it.
        hint: String,
    },
}

impl HypervisorError {
    /// Whether the host's driver lacks the call (as opposed to the call failing).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, HypervisorError::Unsupported { .. })
    }

    /// A short, bounded label for metrics and conditions: "unreachable", "libvirt",
    /// "unsupported", "not-found", "refused", "checksum", "io" or "timeout".
    pub fn category(&self) -> &'static str {
        match self {
            HypervisorError::Unreachable { .. } => "unreachable",
            HypervisorError::Libvirt { .. } => "libvirt",
            HypervisorError::Unsupported { .. } => "unsupported",
            HypervisorError::NotFound { .. } => "not-found",
            HypervisorError::Refused { .. } => "refused",
            HypervisorError::Checksum { .. } => "checksum",
            HypervisorError::Io { .. } => "io",
            HypervisorError::Timeout { .. } => "timeout",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn hypervisor_and_frozen_disk_cross_threads() {
        assert_send_sync::<Hypervisor>();
        assert_send_sync::<FrozenDisk>();
        assert_send_sync::<HypervisorError>();
    }

    #[test]
    fn categories_are_bounded() {
        let uri = "qemu:///session".to_string();
        let refused = HypervisorError::Refused { uri: uri.clone(), reason: "no".into() };
        assert_eq!(refused.category(), "refused");
        let missing = HypervisorError::NotFound { uri, what: "storage pool x".into(), hint: "create it".into() };
        assert_eq!(missing.category(), "not-found");
        assert!(missing.to_string().contains("storage pool x does not exist on qemu:///session"));
    }
}
