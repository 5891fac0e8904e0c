//! Signing in and out, and choosing the language.

use axum::{
    Form,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use tera::Context as TeraContext;

use super::{local_path, see_other};
use crate::{
    actions::{
        ActionError,
        sign_in::{SignedIn, sign_in},
    },
    i18n::Lang,
    store::random_id,
    web::{
        AppState, cookies,
        error::WebError,
        viewer::{CSRF_FIELD, Viewer},
    },
};

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct Next {
    pub(super) next: Option<String>,
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
    next: Option<String>,
}

fn login_page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    username: &str,
    next: &str,
    problem: Option<(&str, String)>,
) -> Response {
    let mut context = TeraContext::new();
    context.insert("username", username);
    context.insert("next", next);
    context.insert("problem", &problem.as_ref().map(|(code, _)| *code));
    context.insert("problem_detail", &problem.map(|(_, detail)| detail).unwrap_or_default());
    context.insert("directory", &state.context.config.directory.is_some());
    page_with_login_csrf(state, viewer, status, "login.html", context)
}

/// `GET /login`.
pub async fn login_form(State(state): State<AppState>, viewer: Viewer, Query(query): Query<Next>) -> Response {
    let next = local_path(query.next.as_deref());
    if viewer.actor.is_some() {
        return see_other(&next);
    }
    login_page(&state, &viewer, StatusCode::OK, "", &next, None)
}

/// `POST /login`: on success a new session and back to where the user was going; on
/// failure the form again with the username kept and the reason.
pub async fn login(State(state): State<AppState>, viewer: Viewer, Form(form): Form<Credentials>) -> Response {
    let next = local_path(form.next.as_deref());
    let context = &state.context;
    let signed_in = match sign_in(context, &form.username, &form.password, &viewer.source_ip, &viewer.user_agent).await
    {
        Ok(signed_in) => signed_in,
        Err(error) => {
            let (status, code, detail) = match &error {
                ActionError::RateLimited(seconds) => {
                    (StatusCode::TOO_MANY_REQUESTS, "rate_limited", seconds.to_string())
                }
                ActionError::DirectoryUnavailable => {
                    (StatusCode::SERVICE_UNAVAILABLE, "directory_unavailable", String::new())
                }
                ActionError::PasswordChangeRequired => {
                    let username: String = form.username.trim().to_lowercase().chars().take(256).collect();
                    return super::password::required(&state, &viewer, &username, &next).await;
                }
                ActionError::Store(_) | ActionError::AuditUnavailable(_) => {
                    return WebError::from(error).into_response();
                }
                _ => (StatusCode::UNAUTHORIZED, "invalid", String::new()),
            };
            let username: String = form.username.chars().take(256).collect();
            return login_page(&state, &viewer, status, &username, &next, Some((code, detail)));
        }
    };
    signed_in_response(&state, signed_in, &next).await
}

/// After a sign-in: the session cookie, the sign-in form's CSRF cookie cleared, the
/// remembered language, and on to `next`.
pub(super) async fn signed_in_response(state: &AppState, signed_in: SignedIn, next: &str) -> Response {
    let context = &state.context;
    let (token, identity) = (signed_in.token, signed_in.session.identity);
    let ttl = context.config.session_ttl;
    let secure = context.config.secure_cookies;
    let mut response = see_other(next);
    let headers = response.headers_mut();
    let mut add = |cookie: String| {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    };
    add(cookies::set(cookies::SESSION, &token, ttl.as_secs(), secure));
    add(cookies::set(cookies::LOGIN_CSRF, "", 0, secure));
    if let Ok(Some(lang)) = context.store.language(&identity.username).await {
        add(cookies::set(cookies::LANGUAGE, &lang, 365 * 24 * 3600, secure));
    }
    response
}

/// Renders `template` with a fresh token for a form posted without a session (signing in,
/// changing a password that must be changed): the token goes into the form as
/// `login_csrf` and into the sign-in CSRF cookie.
pub(super) fn page_with_login_csrf(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    template: &str,
    mut context: TeraContext,
) -> Response {
    let token = random_id(16);
    context.insert("login_csrf", &token);
    context.insert("csrf_field", CSRF_FIELD);
    let mut response = state.templates.page(viewer, status, template, context);
    let cookie = cookies::set(cookies::LOGIN_CSRF, &token, 3600, state.context.config.secure_cookies);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST /logout`: ends the session, in one transaction with its audit record.
pub async fn logout(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    if let (Some(token), Some(actor)) = (viewer.session_token(), &viewer.actor) {
        let mut tx = state.context.store.begin().await?;
        tx.delete_session(token).await?;
        tx.commit(&actor.event(None, "sign_out", "session", "success", "")).await?;
    }
    let mut response = see_other("/login");
    let cookie = cookies::set(cookies::SESSION, "", 0, state.context.config.secure_cookies);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The language form's fields.
#[derive(Debug, Deserialize)]
pub struct LanguageChoice {
    lang: String,
    next: Option<String>,
}

/// `POST /language`: remembers the choice in a cookie, and for a signed-in user also in
/// their preferences.
pub async fn language(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<LanguageChoice>,
) -> Result<Response, WebError> {
    let lang = Lang::parse(&form.lang)
        .ok_or_else(|| WebError::Invalid(vec![makonis_catalog::FieldError::new("lang", "must be lv or en")]))?;
    if let Some(actor) = &viewer.actor {
        state.context.store.set_language(&actor.identity.username, lang.code()).await?;
    }
    let mut response = see_other(&local_path(form.next.as_deref()));
    let cookie = cookies::set(cookies::LANGUAGE, lang.code(), 365 * 24 * 3600, state.context.config.secure_cookies);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response.into_response())
}
