//! Signing in: local accounts first (the embedded default and break-glass admins), then
//! the directory. Failures are counted per address and username, and audited.

use super::{ActionError, record};
use crate::{
    context::Context,
    identity::{
        Identity, IdentitySource,
        ldap::{DirectoryError, authenticate},
        password::{decoy_hash, verify_password},
    },
    store::{audit::AuditEvent, now_ms},
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

/// Checks `username` and `password` from `source_ip`; the identity on success.
pub async fn sign_in(
    context: &Context,
    username: &str,
    password: &str,
    source_ip: &str,
) -> Result<Identity, ActionError> {
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
    let (outcome, detail) = match &result {
        Ok(identity) => ("success", format!("{:?}", identity.source).to_lowercase()),
        Err(error) => ("failure", error.code().to_string()),
    };
    let actor: String = username.chars().take(64).collect();
    let event = AuditEvent {
        at: now,
        actor: if actor.is_empty() { "-".into() } else { actor },
        agency: None,
        action: "sign_in".into(),
        object: "session".into(),
        outcome: outcome.into(),
        source_ip: source_ip.into(),
        detail,
    };
    record(context, event).await;
    result
}
