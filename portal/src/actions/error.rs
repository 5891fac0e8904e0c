//! Why an action did not happen, with a stable code for the API.

use makonis_catalog::FieldError;

use crate::identity::ldap::PasswordRefusal;

use crate::store::StoreError;

/// Why an action did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Not signed in, or the credentials are wrong.
    #[error("not signed in")]
    Unauthenticated,
    /// Signed in, but not allowed.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// No such thing (or not visible to the user: the same answer, by design).
    #[error("not found")]
    NotFound,
    /// The input has problems, each tied to a field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The agency's quota has no room.
    #[error("{0}")]
    Quota(String),
    /// The thing changed meanwhile or conflicts with another.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; retry after this many seconds.
    #[error("too many attempts")]
    RateLimited(u64),
    /// The password is right but must be changed before the account may sign in.
    #[error("the password must be changed before signing in")]
    PasswordChangeRequired,
    /// The directory did not take a new password.
    #[error("the new password was refused: {}", .0.code())]
    PasswordRefused(PasswordRefusal),
    /// The Kubernetes API cannot be asked right now (or the portal runs without it); the
    /// words are logged, never shown.
    #[error("the cluster is unavailable: {0}")]
    ClusterUnavailable(String),
    /// The directory cannot be asked right now.
    #[error("the directory is unreachable")]
    DirectoryUnavailable,
    /// The action's audit record cannot be written, so the action was not done.
    #[error("the audit trail cannot be written; nothing was done")]
    AuditUnavailable(#[source] StoreError),
    /// Storage failed (logged with a reference; users see only the reference).
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for ActionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Audit(_) => Self::AuditUnavailable(error),
            other => Self::Store(other),
        }
    }
}

impl ActionError {
    /// A stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::Invalid(_) => "invalid",
            Self::Quota(_) => "quota_exceeded",
            Self::Conflict(_) => "conflict",
            Self::RateLimited(_) => "rate_limited",
            Self::PasswordChangeRequired => "password_change_required",
            Self::PasswordRefused(_) => "password_refused",
            Self::ClusterUnavailable(_) => "cluster_unavailable",
            Self::DirectoryUnavailable => "directory_unavailable",
            Self::AuditUnavailable(_) => "audit_unavailable",
            Self::Store(_) => "internal",
        }
    }
}

/// One field problem.
pub fn field(path: &str, message: impl Into<String>) -> ActionError {
    ActionError::Invalid(vec![FieldError::new(path, message)])
}
