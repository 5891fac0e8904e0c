//! Who is asking: every request passes through [`resolve`], which works out the client's
//! address (behind trusted proxies, see [`super::client_address`]), finds the session
//! (cookie) or API token (bearer), re-checks its owner when the last check is too old
//! ([`crate::identity::recheck`]), checks the CSRF token of every state-changing form, and
//! leaves a [`Viewer`] in the request's extensions for the handlers.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::atomic::{AtomicBool, Ordering},
};

use axum::{
    body::{Body, to_bytes},
    extract::{ConnectInfo, FromRequestParts, Request, State, connect_info::MockConnectInfo},
    http::{HeaderMap, Method, header, request::Parts},
    middleware::Next,
    response::Response,
};

use super::{
    AppState, cookies,
    error::{PageFailure, WebError},
};
use crate::{
    actions::Actor,
    context::Context,
    i18n::Lang,
    identity::{
        Identity,
        recheck::{CredentialKind, Owner, current_owner},
    },
    store::{audit::AuditEvent, now_ms, tokens::REVOKED_BY_PORTAL},
};

/// The largest form body the CSRF check reads.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// The form field (and header) that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header API clients using a session cookie send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The longest `User-Agent` kept.
const MAX_USER_AGENT: usize = 256;

/// The forms that sign a person in without a session: signing in, and changing a password
/// that must be changed first.
const SIGN_IN_FORMS: [&str; 2] = ["/login", "/password"];
/// The shortest CSRF token that can match (the portal's own are 32 characters).
const MIN_CSRF_TOKEN: usize = 16;

/// The credential a request came with. The secret stays in memory, for signing out and
/// for live streams to check that it still works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A session cookie's token.
    Session(String),
    /// An API token's secret.
    Token(String),
}

/// The person (or automation) behind a request.
#[derive(Clone, Debug)]
pub struct Viewer {
    /// Who, when signed in (with the client's address, user agent and credential id).
    pub actor: Option<Actor>,
    /// The language pages are shown in.
    pub lang: Lang,
    /// The session's CSRF token (for forms), when signed in with a cookie.
    pub csrf: Option<String>,
    /// The credential the request came with, when it still works.
    pub credential: Option<Credential>,
    /// The client's address (behind trusted proxies, the one they report).
    pub source_ip: String,
    /// The client's `User-Agent`, shortened and without control characters.
    pub user_agent: String,
    /// The path and query of the page asked for (where the language switch returns to).
    pub path: String,
}

impl Viewer {
    /// The signed-in actor, or [`WebError::SignIn`].
    pub fn signed_in(&self) -> Result<&Actor, WebError> {
        self.actor.as_ref().ok_or(WebError::SignIn)
    }

    /// The session cookie's token, when signed in with one (for signing out).
    pub fn session_token(&self) -> Option<&str> {
        match &self.credential {
            Some(Credential::Session(token)) => Some(token),
            _ => None,
        }
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

/// The connection's peer address.
fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .or_else(|| parts.extensions.get::<MockConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
}

/// The client's address: the peer, or behind trusted proxies the one they report.
fn client_address(context: &Context, parts: &Parts) -> IpAddr {
    static HINTED: AtomicBool = AtomicBool::new(false);
    let peer = peer(parts);
    let proxies = &context.config.trusted_proxies;
    if proxies.ignores_forwarding_from(peer, &parts.headers) && !HINTED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            %peer,
            "a request came with a forwarding header from a proxy that is not trusted: if the portal runs \
             behind an ingress, list its addresses in --trusted-proxies, or every client has its address"
        );
    }
    proxies.client_address(peer, &parts.headers)
}

/// The `User-Agent`, without control characters, at most [`MAX_USER_AGENT`] characters.
fn user_agent(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes()).chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT).collect()
        })
        .unwrap_or_default()
}

fn language(headers: &HeaderMap, secure: bool) -> Lang {
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    cookies::get(cookie, cookies::LANGUAGE, secure).and_then(Lang::parse).unwrap_or_else(|| {
        Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or(""))
    })
}

/// The credential `headers` carry: a bearer token, else the session cookie.
fn credential(headers: &HeaderMap, secure: bool) -> Option<Credential> {
    if let Some(bearer) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(Credential::Token(bearer.trim().to_string()));
    }
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    cookies::get(cookie, cookies::SESSION, secure).map(|token| Credential::Session(token.to_string()))
}

/// Who `credential` stands for now, from `source_ip` with `user_agent`, and the session's
/// CSRF token. `Ok(None)` for a session that ended (or whose owner is gone: the session
/// ends too); [`WebError::BadToken`] for an unknown, expired or revoked token (or one whose
/// owner is gone: it is revoked); [`WebError::DirectoryUnavailable`] when the owner must
/// be re-checked and the directory cannot be asked.
pub async fn identify(
    context: &Context,
    credential: &Credential,
    source_ip: &str,
    user_agent: &str,
) -> Result<Option<(Actor, Option<String>)>, WebError> {
    let now = now_ms();
    let recheck_ms = i64::try_from(context.config.identity_recheck.as_millis()).unwrap_or(i64::MAX);
    let fresh = |checked_at: i64| now.saturating_sub(checked_at) < recheck_ms;
    let actor = |identity: Identity| Actor::new(context, identity, source_ip.to_string(), user_agent.to_string());
    match credential {
        Credential::Token(secret) => {
            let record = context.store.token(secret, now).await?.ok_or(WebError::BadToken)?;
            let news = record.use_is_news(source_ip, now);
            let mut acting = match record.identity.filter(|_| fresh(record.checked_at)) {
                Some(identity) => actor(identity),
                None => match current_owner(context, CredentialKind::Token, &record.username).await? {
                    Owner::Current(identity) => {
                        let acting = actor(identity);
                        let agencies: Vec<String> = acting.access.agencies.keys().cloned().collect();
                        context.store.token_checked(&record.id, &acting.identity, &agencies, now).await?;
                        acting
                    }
                    Owner::Gone => {
                        let mut tx = context.store.begin().await?;
                        tx.revoke_token_of_gone_owner(&record.id, now).await?;
                        let object = format!("token {}", record.id);
                        let event = owner_gone(&record.username, "revoke_token", &object, source_ip, user_agent, now);
                        tx.commit(&AuditEvent { session_id: format!("t-{}", record.id), ..event }).await?;
                        return Err(WebError::BadToken);
                    }
                },
            };
            if news {
                context.store.token_used(&record.id, source_ip, now).await?;
            }
            acting.token_id = Some(record.id);
            Ok(Some((acting, None)))
        }
        Credential::Session(token) => {
            let Some(session) = context.store.session(token, now).await? else { return Ok(None) };
            let identity = if fresh(session.checked_at) {
                session.identity
            } else {
                match current_owner(context, CredentialKind::Session, &session.identity.username).await? {
                    Owner::Current(identity) => {
                        context.store.session_checked(token, &identity, now).await?;
                        identity
                    }
                    Owner::Gone => {
                        let mut tx = context.store.begin().await?;
                        tx.delete_session(token).await?;
                        let username = &session.identity.username;
                        let event = owner_gone(username, "sign_out", "session", source_ip, user_agent, now);
                        tx.commit(&AuditEvent { session_id: format!("s-{}", session.id), ..event }).await?;
                        return Ok(None);
                    }
                }
            };
            let mut acting = actor(identity);
            acting.session_id = Some(session.id);
            Ok(Some((acting, Some(session.csrf_token))))
        }
    }
}

/// The record of the portal ending `owner`'s credential because the directory no longer
/// has them (or has them disabled): the portal acts, on the owner's behalf.
fn owner_gone(owner: &str, action: &str, object: &str, source_ip: &str, user_agent: &str, at: i64) -> AuditEvent {
    AuditEvent {
        at,
        actor: REVOKED_BY_PORTAL.into(),
        agency: None,
        action: action.into(),
        object: object.into(),
        outcome: "success".into(),
        source_ip: source_ip.into(),
        session_id: String::new(),
        user_agent: user_agent.into(),
        detail: format!("{owner} is no longer an enabled account of the directory"),
    }
}

/// The value of `name` in a form-encoded body.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Constant-time comparison of two tokens; an empty or short token never matches.
fn same_token(a: &str, b: &str) -> bool {
    a.len() >= MIN_CSRF_TOKEN
        && a.len() == b.len()
        && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves the [`Viewer`] and enforces CSRF protection on unsafe methods: a form
/// posted with a session must carry the session's token (`_csrf`), the sign-in form
/// the token of its cookie.
pub async fn resolve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let context = &state.context;
    let secure = context.config.secure_cookies;
    let ip = client_address(context, &parts).to_string();
    let agent = user_agent(&parts.headers);
    let lang = language(&parts.headers, secure);
    let mut credential = credential(&parts.headers, secure);
    let (actor, csrf) = match &credential {
        None => (None, None),
        Some(given) => match identify(context, given, &ip, &agent).await {
            Ok(Some((actor, csrf))) => (Some(actor), csrf),
            Ok(None) => (None, None),
            Err(error) => return error.into_response_for(lang, parts.uri.path()),
        },
    };
    if actor.is_none() {
        credential = None;
    }
    let via_token = matches!(credential, Some(Credential::Token(_)));
    // Forms posted with a session cookie (ambient authority a forged form could borrow)
    // and the forms that sign in (so no one can sign a victim in as themselves) need a
    // token; API tokens are never ambient, and anonymous posts elsewhere have nothing to
    // abuse.
    let unsafe_method = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let needs_token = unsafe_method && !via_token && (csrf.is_some() || SIGN_IN_FORMS.contains(&parts.uri.path()));
    let mut body = body;
    if needs_token {
        let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
            Ok(bytes) => bytes,
            Err(_) => return WebError::TooLarge.into_response_for(lang, parts.uri.path()),
        };
        let cookie = parts.headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let expected = match &csrf {
            Some(token) => Some(token.as_str()),
            None => cookies::get(cookie, cookies::LOGIN_CSRF, secure),
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
    let viewer =
        Viewer { actor, lang, csrf, credential, source_ip: ip, user_agent: agent, path: format!("{path}{query}") };
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
        return super::redirect::see_other(&target);
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
