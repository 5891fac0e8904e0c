//! The server-rendered pages, one module per area.

pub mod admin;
pub mod audit;
pub mod catalog;
pub mod order;
pub mod reports;
pub mod requests;
pub mod services;
pub mod session;
pub mod tokens;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};

use crate::{actions::ActionError, web::error::WebError};

/// Any path the portal does not have: the 404 page (JSON under `/api/`).
pub async fn not_found() -> WebError {
    WebError::NotFound
}

/// How a page shows an action's refusal above itself again: the status and the words.
/// Anything that is not a refusal (not found, storage) becomes an error page.
pub fn refusal(error: ActionError) -> Result<(StatusCode, String), WebError> {
    match error {
        ActionError::Invalid(errors) => {
            let words = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
            Ok((StatusCode::UNPROCESSABLE_ENTITY, words))
        }
        ActionError::Forbidden(words) => Ok((StatusCode::FORBIDDEN, words)),
        ActionError::Quota(words) | ActionError::Conflict(words) => Ok((StatusCode::CONFLICT, words)),
        other => Err(other.into()),
    }
}

/// A redirect after a successful form post (303: the browser follows with GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// `next` if it is a path of this portal, otherwise `/catalog` (no open redirects).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path.to_string(),
        _ => "/catalog".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/requests/vdi-1")), "/requests/vdi-1");
        assert_eq!(local_path(Some("//evil.example")), "/catalog");
        assert_eq!(local_path(Some("https://evil.example")), "/catalog");
        assert_eq!(local_path(Some("/\\evil.example")), "/catalog");
        assert_eq!(local_path(None), "/catalog");
    }
}
