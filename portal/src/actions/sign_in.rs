//! Signing in: local accounts first (the embedded default and break-glass admins), then
//! the directory. Failures are counted per address and username, and audited; a success
//! starts the session in one transaction with its audit record.

use super::{ActionError, connection::session_id};
use crate::{
    context::Context,
    identity::{
        Identity, IdentitySource,
        ldap::{DirectoryError, authenticate},
        password::{decoy_hash, verify_password},
    },
    store::{audit::AuditEvent, now_ms, random_id, sessions::Session},
};

/// The longest username or password accepted (longer input is refused before any work).
pub const MAX_CREDENTIAL: usize = 256;

async fn check(context: &Context, username: &str, password: &str) -> Result<Identity, ActionError> {
    if username.is_empty() || password.is_empty() || username.len() > MAX_CREDENTIAL || password.len() > MAX_CREDENTIAL
    {
        return Err(ActionError::Unauthenticated);
    }
    if let Some(account) = context.store.account(username).await? {
        return if verify_password(password, &account.password_hash) {
            Ok(Identity {
                username: account.username,
                display_name: account.display_name,
                email: account.email,
                groups: account.groups,
                source: IdentitySource::Local,
            })
        } else {
            Err(ActionError::Unauthenticated)
        };
    }
    let Some(directory) = &context.config.directory else {
        verify_password(password, decoy_hash());
        return Err(ActionError::Unauthenticated);
    };
    authenticate(directory, username, password).await.map_err(|error| match error {
        DirectoryError::InvalidCredentials => ActionError::Unauthenticated,
        other => {
            tracing::error!(error = %other, category = other.category(), "the directory could not check a sign-in");
            ActionError::DirectoryUnavailable
        }
    })
}

/// A session just started: the cookie token (given to the browser, never stored) and
/// what the database keeps of it.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The cookie's token.
    pub token: String,
    /// The session.
    pub session: Session,
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
    let blocked = context.limiter.lock().unwrap_or_else(|p| p.into_inner()).blocked_for(source_ip, &username, now);
    let result = match blocked {
        Some(wait_ms) => Err(ActionError::RateLimited(u64::try_from((wait_ms + 999) / 1000).unwrap_or(1))),
        None => check(context, &username, password).await,
    };
    {
        let mut limiter = context.limiter.lock().unwrap_or_else(|p| p.into_inner());
        match &result {
            Ok(_) => limiter.succeeded(&username),
            Err(ActionError::Unauthenticated) => limiter.failed(source_ip, &username, now),
            Err(_) => {}
        }
    }
    let actor: String = username.chars().take(64).collect();
    let mut event = AuditEvent {
        at: now,
        actor: if actor.is_empty() { "-".into() } else { actor },
        agency: None,
        action: "sign_in".into(),
        object: "session".into(),
        outcome: String::new(),
        source_ip: source_ip.into(),
        session_id: String::new(),
        user_agent: user_agent.into(),
        detail: String::new(),
    };
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
    event.session_id = session_id(&token);
    let session = Session { identity, csrf_token: random_id(16), expires_at: now.saturating_add(ttl) };
    let mut tx = context.store.begin().await?;
    tx.create_session(&token, &session, source_ip, now).await?;
    tx.commit(&event).await?;
    Ok(SignedIn { token, session })
}
