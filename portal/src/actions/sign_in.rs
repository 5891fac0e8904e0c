//! Signing in: the credentials are checked behind the sign-in throttle
//! ([`crate::identity::login`]), every attempt is audited, and a success starts the
//! session in one transaction with its audit record.

use super::ActionError;
use crate::{
    context::Context,
    identity::login::check_credentials,
    store::{audit::AuditEvent, now_ms, random_id, sessions::Session},
};

pub use crate::identity::login::MAX_CREDENTIAL;

/// A session just started: the cookie token (given to the browser, never stored) and
/// what the database keeps of it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie's token.
    pub token: String,
    /// The session.
    pub session: Session,
}

/// The audit record of an attempt by someone not (yet) signed in, claiming to be
/// `username`; its outcome and detail are filled in once known.
pub(super) fn attempt_event(
    username: &str,
    action: &str,
    object: &str,
    source_ip: &str,
    user_agent: &str,
    at: i64,
) -> AuditEvent {
    let actor: String = username.chars().take(64).collect();
    AuditEvent {
        at,
        actor: if actor.is_empty() { "-".into() } else { actor },
        agency: None,
        action: action.into(),
        object: object.into(),
        outcome: String::new(),
        source_ip: source_ip.into(),
        session_id: String::new(),
        user_agent: user_agent.into(),
        detail: String::new(),
    }
}

/// Checks `username` and `password` from `source_ip` (with `user_agent`) and, on
/// success, starts a session. The attempt is audited either way; a session that cannot
/// be audited is not started.
pub async fn sign_in(
    context: &Context,
    username: &str,
    password: &str,
    source_ip: &str,
    user_agent: &str,
) -> Result<SignedIn, ActionError> {
    let username = username.trim().to_lowercase();
    let now = now_ms();
    let result = check_credentials(context, &username, password, source_ip).await;
    let mut event = attempt_event(&username, "sign_in", "session", source_ip, user_agent, now);
    let identity = match result {
        Ok(identity) => identity,
        Err(error) => {
            event.outcome = "failure".into();
            event.detail = error.code().to_string();
            context.store.audit(&event).await?;
            return Err(error);
        }
    };
    let token = random_id(32);
    let ttl = i64::try_from(context.config.session_ttl.as_millis()).unwrap_or(i64::MAX / 2);
    event.outcome = "success".into();
    event.detail = format!("{:?}", identity.source).to_lowercase();
    let session = Session {
        id: random_id(8),
        identity,
        csrf_token: random_id(16),
        expires_at: now.saturating_add(ttl),
        checked_at: now,
    };
    event.session_id = format!("s-{}", session.id);
    let mut tx = context.store.begin().await?;
    tx.create_session(&token, &session, source_ip, user_agent, now).await?;
    tx.commit(&event).await?;
    Ok(SignedIn { token, session })
}
