//! Errors of pages and API calls. A handler returns a [`WebError`]; the viewer middleware
//! turns it into a page in the user's language or a JSON error with a stable code.
//! Internal details never reach the client: they are logged with a reference the user
//! can quote.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use makonis_catalog::FieldError;
use serde_json::json;

use crate::{actions::ActionError, i18n::Lang, store::StoreError};

/// Why a page or API call did not succeed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WebError {
    /// The page needs a signed-in user.
    #[error("sign in first")]
    SignIn,
    /// The bearer token is unknown, expired or revoked.
    #[error("the API token is not valid")]
    BadToken,
    /// Signed in, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Not found (or not visible to this user).
    #[error("not found")]
    NotFound,
    /// The form's CSRF token is missing or wrong.
    #[error("the form expired")]
    Csrf,
    /// The body is larger than accepted.
    #[error("the request is too large")]
    TooLarge,
    /// The input has problems.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// It conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts.
    #[error("too many attempts; retry in {0} s")]
    RateLimited(u64),
    /// The directory is unreachable.
    #[error("the directory cannot be reached")]
    DirectoryUnavailable,
    /// The SIEM's store of security logs cannot be asked right now.
    #[error("the security log store cannot be reached right now; try again later")]
    SiemUnavailable,
    /// The action's audit record cannot be written, so it was not done.
    #[error("the audit trail cannot be written right now, so nothing was done; try again later")]
    AuditUnavailable,
    /// Something broke on our side; the string is logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl From<ActionError> for WebError {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::Unauthenticated => Self::SignIn,
            ActionError::Forbidden(m) => Self::Forbidden(m),
            ActionError::NotFound => Self::NotFound,
            ActionError::Invalid(e) => Self::Invalid(e),
            ActionError::Quota(m) => Self::Conflict(m),
            ActionError::Conflict(m) => Self::Conflict(m),
            ActionError::RateLimited(s) => Self::RateLimited(s),
            ActionError::DirectoryUnavailable => Self::DirectoryUnavailable,
            ActionError::ClusterUnavailable(words) => Self::Internal(words),
            ActionError::PasswordChangeRequired => {
                Self::Forbidden("the password must be changed before signing in: change it at /password".into())
            }
            ActionError::PasswordRefused(refusal) => Self::Invalid(vec![makonis_catalog::FieldError::new(
                "new_password",
                format!("the directory refused the new password ({})", refusal.code()),
            )]),
            ActionError::AuditUnavailable(e) | ActionError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Audit(cause) => {
                tracing::error!(error = %cause, "an action was refused: its audit record cannot be written");
                Self::AuditUnavailable
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl WebError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::SignIn | Self::BadToken => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::DirectoryUnavailable | Self::AuditUnavailable | Self::SiemUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SignIn => "unauthenticated",
            Self::BadToken => "invalid_token",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::Csrf => "csrf",
            Self::TooLarge => "too_large",
            Self::Invalid(_) => "invalid",
            Self::Conflict(_) => "conflict",
            Self::RateLimited(_) => "rate_limited",
            Self::DirectoryUnavailable => "directory_unavailable",
            Self::AuditUnavailable => "audit_unavailable",
            Self::SiemUnavailable => "siem_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// The message shown to people (English for the API; pages translate by code).
    pub fn public_message(&self, reference: &str) -> String {
        match self {
            Self::Internal(_) => {
                format!("something went wrong on our side; the error was logged with reference {reference}")
            }
            other => other.to_string(),
        }
    }

    /// The JSON body of an API error.
    pub fn json_body(&self, reference: &str) -> serde_json::Value {
        let mut body = json!({"code": self.code(), "message": self.public_message(reference)});
        if let Self::Invalid(errors) = self {
            body["errors"] = json!(errors);
        }
        if let Self::RateLimited(seconds) = self {
            body["retryAfterSeconds"] = json!(seconds);
        }
        body
    }

    /// The error as a response: JSON under `/api/`, otherwise a minimal page (the
    /// middleware replaces it with the full page when it can).
    pub fn into_response_for(self, lang: Lang, path: &str) -> Response {
        let reference = crate::store::random_id(4);
        if let Self::Internal(detail) = &self {
            tracing::error!(reference, detail, path, "request failed");
        }
        let status = self.status();
        if path.starts_with("/api/") {
            return (status, Json(self.json_body(&reference))).into_response();
        }
        let mut response = (status, self.public_message(&reference)).into_response();
        response.extensions_mut().insert(PageFailure { error: self, reference, lang });
        response
    }
}

/// Marks a response as a failed page, for the middleware to render in full.
#[derive(Debug, Clone)]
pub struct PageFailure {
    /// The error.
    pub error: WebError,
    /// The reference logged with it.
    pub reference: String,
    /// The language to show it in.
    pub lang: Lang,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let reference = crate::store::random_id(4);
        if let Self::Internal(detail) = &self {
            tracing::error!(reference, detail, "request failed");
        }
        let status = self.status();
        let mut response = (status, Json(self.json_body(&reference))).into_response();
        response.extensions_mut().insert(PageFailure { error: self, reference, lang: Lang::default() });
        response
    }
}
