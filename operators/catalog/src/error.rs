//! Errors of the catalog controller, each with a bounded category.

use makonis_operator_kit::{apply::ApiCallError, error::ErrorCategory};

/// Why a reconcile of a ServiceInstance failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to the Kubernetes API failed.
    #[error(transparent)]
    Api(#[from] ApiCallError),
    /// The operating system could not supply random bytes for a password.
    #[error("generating a password: {0}")]
    Random(String),
}

impl ErrorCategory for Error {
    fn category(&self) -> &'static str {
        match self {
            Error::Api(error) => error.category(),
            Error::Random(_) => "Internal",
        }
    }
}
