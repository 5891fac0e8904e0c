//! Errors of the tenancy controller, each with a bounded category.

use makonis_operator_kit::{apply::ApiCallError, error::ErrorCategory};

/// Why a reconcile of an Agency failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Agency could not be decoded (for example written against an older schema).
    #[error("the Agency cannot be read: {0}")]
    InvalidObject(String),
    /// The Agency passed the API server's schema but breaks a rule the controller checks.
    #[error("the Agency is invalid: {0}")]
    InvalidSpec(String),
    /// A call to the Kubernetes API failed.
    #[error(transparent)]
    Api(#[from] ApiCallError),
}

impl ErrorCategory for Error {
    fn category(&self) -> &'static str {
        match self {
            Error::InvalidObject(_) => "InvalidObject",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Api(error) => error.category(),
        }
    }
}
