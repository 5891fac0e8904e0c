//! Changing one's own directory password (`/password`): for a signed-in person, and for
//! one whose sign-in the directory refused until the password is changed (the first
//! sign-in of an account created with an initial password, or an expired password). The
//! domain's rules are shown with the form; a refusal names the rule when the directory does.

use axum::{
    Form,
    extract::{Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tera::Context as TeraContext;

use super::{
    local_path,
    session::{Next, page_with_login_csrf, signed_in_response},
};
use crate::{
    actions::{
        ActionError,
        password::{PasswordChange, change_password},
    },
    identity::IdentitySource,
    web::{AppState, error::WebError, viewer::Viewer},
};

/// The form's fields.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
    #[serde(default)]
    required: bool,
    next: Option<String>,
}

/// What the page shows besides the form.
struct Shown<'a> {
    username: &'a str,
    next: &'a str,
    /// The directory asked for the change at sign-in.
    required: bool,
    /// A problem code and its detail (seconds to wait).
    problem: Option<(&'a str, String)>,
}

async fn page(state: &AppState, viewer: &Viewer, status: StatusCode, shown: Shown<'_>) -> Response {
    let directory = state.context.config.directory.as_ref();
    let policy = match directory {
        Some(directory) => state.context.password_policy.get(directory, state.context.config.group_refresh).await,
        None => None,
    };
    let signed_in = viewer.actor.as_ref();
    let local = signed_in.is_some_and(|actor| actor.identity.source == IdentitySource::Local);
    let mut context = TeraContext::new();
    context.insert("username", signed_in.map_or(shown.username, |actor| actor.identity.username.as_str()));
    context.insert("signed_in", &signed_in.is_some());
    context.insert("available", &(directory.is_some() && !local));
    context.insert("required", &shown.required);
    context.insert("next", shown.next);
    context.insert("policy", &policy);
    context.insert("problem", &shown.problem.as_ref().map(|(code, _)| *code));
    context.insert("problem_detail", &shown.problem.map(|(_, detail)| detail).unwrap_or_default());
    if signed_in.is_some() {
        state.templates.page(viewer, status, "password.html", context)
    } else {
        page_with_login_csrf(state, viewer, status, "password.html", context)
    }
}

/// `GET /password`.
pub async fn form(State(state): State<AppState>, viewer: Viewer, Query(query): Query<Next>) -> Response {
    let next = local_path(query.next.as_deref());
    page(&state, &viewer, StatusCode::OK, Shown { username: "", next: &next, required: false, problem: None }).await
}

/// The sign-in page's turn when the directory took the password but wants a new one first.
pub(super) async fn required(state: &AppState, viewer: &Viewer, username: &str, next: &str) -> Response {
    page(state, viewer, StatusCode::OK, Shown { username, next, required: true, problem: None }).await
}

/// `POST /password`: changes the password and signs the person in with the new one; on a
/// refusal the form again, with the login name kept and the reason.
pub async fn post(State(state): State<AppState>, viewer: Viewer, Form(form): Form<PasswordForm>) -> Response {
    let next = local_path(form.next.as_deref());
    if viewer.actor.as_ref().is_some_and(|actor| actor.token_id.is_some()) {
        return WebError::Forbidden("an API token cannot change a password".into()).into_response();
    }
    let username = viewer.actor.as_ref().map_or(form.username.as_str(), |actor| actor.identity.username.as_str());
    let change = PasswordChange {
        username,
        current: &form.current_password,
        new: &form.new_password,
        repeat: &form.repeat_password,
    };
    let error = match change_password(&state.context, change, &viewer.source_ip, &viewer.user_agent).await {
        Ok(signed_in) => {
            if let Err(error) = end_replaced_session(&state, &viewer).await {
                return error.into_response();
            }
            return signed_in_response(&state, signed_in, &next).await;
        }
        Err(error) => error,
    };
    let (status, code, detail) = match &error {
        ActionError::RateLimited(seconds) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", seconds.to_string()),
        ActionError::DirectoryUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "directory_unavailable", String::new()),
        ActionError::PasswordRefused(refusal) => (StatusCode::UNPROCESSABLE_ENTITY, refusal.code(), String::new()),
        ActionError::Unauthenticated => (StatusCode::UNAUTHORIZED, "wrong_current", String::new()),
        _ => return WebError::from(error).into_response(),
    };
    let username: String = username.chars().take(256).collect();
    let shown = Shown { username: &username, next: &next, required: form.required, problem: Some((code, detail)) };
    page(&state, &viewer, status, shown).await
}

/// Ends the session the person changed their password in (the new password starts a new
/// one), in one transaction with its audit record.
async fn end_replaced_session(state: &AppState, viewer: &Viewer) -> Result<(), WebError> {
    if let (Some(token), Some(actor)) = (viewer.session_token(), &viewer.actor) {
        let mut tx = state.context.store.begin().await?;
        tx.delete_session(token).await?;
        tx.commit(&actor.event(None, "sign_out", "session", "success", "replaced after a password change")).await?;
    }
    Ok(())
}
