//! Errors of the compute controllers, with the bounded category used for metric labels
//! and Event reasons.

use makonis_operator_kit::{apply::ApiCallError, error::ErrorCategory};

use crate::hypervisor::HypervisorError;

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error(transparent)]
    Api(#[from] ApiCallError),
    /// A libvirt call failed.
    #[error(transparent)]
    Hypervisor(#[from] HypervisorError),
    /// The credentials Secret of a host pool cannot be read or used.
    #[error("cannot use the credentials of host pool {pool}: {message}")]
    Credentials {
        /// The HostPool.
        pool: String,
        /// What is wrong.
        message: String,
    },
    /// A HostPool has no host of that name.
    #[error("host pool {pool} has no host {host}")]
    UnknownHost {
        /// The HostPool.
        pool: String,
        /// The host asked for.
        host: String,
    },
    /// An agency's quota cannot be read.
    #[error("{0}")]
    Quota(String),
    /// A blocking libvirt task panicked or was cancelled.
    #[error("a libvirt task ended abnormally: {0}")]
    Task(String),
    /// The stored object does not decode as its kind (written under another schema).
    #[error("the object cannot be read as its kind: {0}; correct or delete it")]
    InvalidObject(String),
}

impl ErrorCategory for Error {
    fn category(&self) -> &'static str {
        match self {
            Self::Api(error) => error.category(),
            Self::Hypervisor(error) => error.category(),
            Self::Credentials { .. } => "credentials",
            Self::UnknownHost { .. } => "unknown-host",
            Self::Quota(_) => "quota",
            Self::Task(_) => "task",
            Self::InvalidObject(_) => "InvalidObject",
        }
    }
}
