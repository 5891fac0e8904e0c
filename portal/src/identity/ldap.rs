//! Interface placeholder; replaced by the directory sign-in module.

use std::time::Duration;

use super::Identity;

/// Directory connection settings.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// URL.
    pub url: String,
    /// Timeout.
    pub timeout: Duration,
}

/// Sign-in failure.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Wrong.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Down.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// Bad config.
    #[error("misconfigured: {0}")]
    Misconfigured(String),
}

impl DirectoryError {
    /// Category.
    pub fn category(&self) -> &'static str {
        "x"
    }
}

/// Authenticate.
pub async fn authenticate(_c: &DirectoryConfig, _u: &str, _p: &str) -> Result<Identity, DirectoryError> {
    Err(DirectoryError::InvalidCredentials)
}
