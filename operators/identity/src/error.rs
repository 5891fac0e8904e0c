//! Errors of the identity controllers, each with a bounded category.

use makonis_operator_kit::{apply::ApiCallError, error::ErrorCategory};

use crate::ldap::DirectoryError;

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object could not be decoded (written against another schema).
    #[error("the object cannot be read: {0}")]
    InvalidObject(String),
    /// The object breaks a rule the schema cannot express (the message says which field).
    #[error("{0}")]
    InvalidSpec(String),
    /// Something the object needs is not there yet: its Agency, a Directory that holds
    /// the agency's OU, a member, a manager.
    #[error("{0}")]
    Waiting(String),
    /// A Secret the object names is missing or lacks a key.
    #[error("{0}")]
    Secret(String),
    /// The entry at the object's place in the directory was not created by the platform.
    #[error("{0}")]
    NotOurs(String),
    /// The directory refused or could not be reached.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// A call to the Kubernetes API failed (boxed: it is the largest variant by far).
    #[error(transparent)]
    Api(Box<ApiCallError>),
    /// The operating system's random generator failed.
    #[error("no random numbers for a password: {0}")]
    Random(String),
}

impl From<ApiCallError> for Error {
    fn from(error: ApiCallError) -> Self {
        Error::Api(Box::new(error))
    }
}

impl ErrorCategory for Error {
    fn category(&self) -> &'static str {
        match self {
            Error::InvalidObject(_) => "InvalidObject",
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Waiting(_) => "Waiting",
            Error::Secret(_) => "SecretMissing",
            Error::NotOurs(_) => "NotManaged",
            Error::Directory(error) => error.category(),
            Error::Api(error) => error.category(),
            Error::Random(_) => "Random",
        }
    }
}
