//! The server-rendered pages, one module per area.

pub mod admin;
pub mod alerts;
pub mod audit;
pub mod catalog;
pub mod order;
pub mod password;
pub mod people;
pub mod reports;
pub mod requests;
pub mod security;
pub mod services;
pub mod session;
pub mod tokens;

use axum::http::StatusCode;

pub use crate::web::redirect::{local_path, see_other};
use crate::{
    actions::{ActionError, Actor},
    web::{AppState, error::WebError},
};

/// The codes of the agencies `actor` administers (every one, for a platform administrator).
pub fn administered(state: &AppState, actor: &Actor) -> Vec<String> {
    state
        .context
        .view
        .agency_groups()
        .into_iter()
        .map(|agency| agency.code)
        .filter(|code| actor.access.may_administer(code))
        .collect()
}

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
