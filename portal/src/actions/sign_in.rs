//! Signing in: the credentials are checked behind the sign-in throttle
//! ([`crate::identity::login`]), and every attempt is audited.

use super::{ActionError, record};
use crate::{
    context::Context,
    identity::{Identity, login::check_credentials},
    store::{audit::AuditEvent, now_ms},
};

pub use crate::identity::login::MAX_CREDENTIAL;

/// Checks `username` and `password` from `source_ip`; the identity on success.
pub async fn sign_in(
    context: &Context,
    username: &str,
    password: &str,
    source_ip: &str,
) -> Result<Identity, ActionError> {
    let username = username.trim().to_lowercase();
    let now = now_ms();
    let result = check_credentials(context, &username, password, source_ip).await;
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
