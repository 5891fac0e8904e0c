//! Errors of the mail controller, each with a bounded category.

use makonis_operator_kit::{apply::ApiCallError, error::ErrorCategory};

use crate::{dkim::DkimError, render::RenderError};

/// Why a pass over the mail system failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something the mail system needs is not there yet (its Directory, the caches).
    #[error("{0}")]
    Waiting(String),
    /// A Secret is missing or lacks a key.
    #[error("{0}")]
    Secret(String),
    /// The settings cannot be rendered.
    #[error(transparent)]
    Render(#[from] RenderError),
    /// A DKIM key could not be made or read.
    #[error(transparent)]
    Dkim(#[from] DkimError),
    /// Writing the configuration failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// A server refused to reload.
    #[error("{server} did not reload: {detail}")]
    Reload {
        /// Postfix or Dovecot.
        server: &'static str,
        /// What it said.
        detail: String,
    },
    /// `doveadm` failed (a migration step).
    #[error("doveadm: {0}")]
    Doveadm(String),
    /// A call to the Kubernetes API failed (boxed: it is the largest variant by far).
    #[error(transparent)]
    Api(Box<ApiCallError>),
}

impl From<ApiCallError> for Error {
    fn from(error: ApiCallError) -> Self {
        Error::Api(Box::new(error))
    }
}

impl ErrorCategory for Error {
    fn category(&self) -> &'static str {
        match self {
            Error::Waiting(_) => "Waiting",
            Error::Secret(_) => "SecretMissing",
            Error::Render(_) => "InvalidSettings",
            Error::Dkim(_) => "DkimKey",
            Error::Write { .. } => "WriteFailed",
            Error::Reload { .. } => "ReloadFailed",
            Error::Doveadm(_) => "DoveadmFailed",
            Error::Api(error) => error.category(),
        }
    }
}
