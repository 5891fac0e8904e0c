//! Who is asking: every request passes through [`resolve`], which finds the session
//! (cookie) or API token (bearer), checks the CSRF token of every state-changing form,
//! and leaves a [`Viewer`] in the request's extensions for the handlers.

use std::net::SocketAddr;

use axum::{
    body::{Body, to_bytes},
    extract::{ConnectInfo, FromRequestParts, Request, State, connect_info::MockConnectInfo},
    http::{HeaderMap, Method, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use super::{
    AppState, cookies,
    error::{PageFailure, WebError},
};
use crate::{
    actions::{
        Actor,
        connection::{self, session_id, token_id},
    },
    context::Context,
    i18n::Lang,
    store::now_ms,
};

/// The largest form body the CSRF check reads.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// The form field (and header) that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header API clients using a session cookie send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The person (or automation) behind a request.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// Who, when signed in.
    pub actor: Option<Actor>,
    /// The language pages are shown in.
    pub lang: Lang,
    /// The session's CSRF token (for forms), when signed in with a cookie.
    pub csrf: Option<String>,
    /// The session cookie's token, when signed in with one (for signing out).
    pub session_token: Option<String>,
    /// The client's address.
    pub source_ip: String,
    /// The client's user agent, as the audit trail keeps it.
    pub user_agent: String,
    /// The path and query of the page asked for (where the language switch returns to).
    pub path: String,
}

impl Viewer {
    /// The signed-in actor, or [`WebError::SignIn`].
    pub fn signed_in(&self) -> Result<&Actor, WebError> {
        self.actor.as_ref().ok_or(WebError::SignIn)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Viewer>()
            .cloned()
            .ok_or(WebError::Internal("the viewer middleware is not installed".into()))
    }
}

fn source_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .or_else(|| parts.extensions.get::<MockConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()))
        .unwrap_or_else(|| "-".into())
}

fn language(headers: &HeaderMap) -> Lang {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    cookies::get(cookie, cookies::LANGUAGE).and_then(Lang::parse).unwrap_or_else(|| {
        Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or(""))
    })
}

async fn identify(
    context: &Context,
    headers: &HeaderMap,
    ip: &str,
    user_agent: &str,
) -> Result<(Option<Actor>, Option<String>, Option<String>, bool), WebError> {
    let now = now_ms();
    if let Some(bearer) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        let identity = context.store.token_identity(bearer.trim(), now).await?.ok_or(WebError::BadToken)?;
        let actor = Actor::new(context, identity, ip.to_string()).through(token_id(bearer.trim()), user_agent.into());
        return Ok((Some(actor), None, None, true));
    }
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(token) = cookies::get(cookie, cookies::SESSION) else {
        return Ok((None, None, None, false));
    };
    Ok(match context.store.session(token, now).await? {
        Some(session) => (
            Some(Actor::new(context, session.identity, ip.to_string()).through(session_id(token), user_agent.into())),
            Some(session.csrf_token),
            Some(token.to_string()),
            false,
        ),
        None => (None, None, None, false),
    })
}

/// The value of `name` in a form-encoded body.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Constant-time comparison of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves the [`Viewer`] and enforces CSRF protection on unsafe methods: a form
/// posted with a session must carry the session's token (`_csrf`), the sign-in form
/// the token of its cookie.
pub async fn resolve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let ip = source_ip(&parts);
    let lang = language(&parts.headers);
    let user_agent = connection::user_agent(parts.headers.get(header::USER_AGENT).map(|v| v.as_bytes()));
    let (actor, csrf, session_token, via_token) = match identify(&state.context, &parts.headers, &ip, &user_agent).await
    {
        Ok(found) => found,
        Err(error) => return error.into_response_for(lang, parts.uri.path()),
    };
    // Forms posted with a session cookie (ambient authority a forged form could borrow)
    // and the sign-in form (so no one can sign a victim in as themselves) need a token;
    // API tokens are never ambient, and anonymous posts elsewhere have nothing to abuse.
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let needs_token = unsafe_method && !via_token && (csrf.is_some() || parts.uri.path() == "/login");
    let mut body = body;
    if needs_token {
        let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => return WebError::TooLarge.into_response_for(lang, parts.uri.path()),
        };
        let cookie = parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = match &csrf {
            Some(token) => Some(token.as_str()),
            None => cookies::get(cookie, cookies::LOGIN_CSRF),
        };
        let given = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| form_value(&bytes, CSRF_FIELD));
        let valid = matches!((expected, given.as_deref()), (Some(e), Some(g)) if same_token(e, g));
        if !valid {
            tracing::warn!(path = parts.uri.path(), ip, "a form was refused: missing or wrong CSRF token");
            return WebError::Csrf.into_response_for(lang, parts.uri.path());
        }
        body = Body::from(bytes);
    }
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let viewer = Viewer { actor, lang, csrf, session_token, source_ip: ip, user_agent, path: format!("{path}{query}") };
    parts.extensions.insert(viewer.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    match response.extensions().get::<PageFailure>() {
        Some(failure) if !path.starts_with("/api/") => error_page(&state, &viewer, failure, &format!("{path}{query}")),
        _ => response,
    }
}

/// The full page for a failed page request; a page that needs a signed-in user sends
/// the browser to sign in and back.
fn error_page(state: &AppState, viewer: &Viewer, failure: &PageFailure, back_to: &str) -> Response {
    if matches!(failure.error, WebError::SignIn) {
        let target = format!("/login?next={}", urlencode(back_to));
        return Redirect::to(&target).into_response();
    }
    let mut context = tera::Context::new();
    context.insert("code", failure.error.code());
    context.insert("status", &failure.error.status().as_u16());
    context.insert("reference", &failure.reference);
    let detail = match &failure.error {
        WebError::Forbidden(m) | WebError::Conflict(m) => m.clone(),
        WebError::RateLimited(s) => s.to_string(),
        _ => String::new(),
    };
    context.insert("detail", &detail);
    state.templates.page(viewer, failure.error.status(), "error.html", context)
}

/// Percent-encodes `text` for a query value.
pub fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).map(|s| s[2..].to_string()).unwrap_or_default()
}
