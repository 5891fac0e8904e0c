//! Who a token or a session stands for now: its owner is looked up again (the local
//! account, else the directory, as at sign-in) once the last check is older than the
//! configured interval, so that removing someone from the directory, disabling them or
//! taking a group away takes their powers within minutes, not when the credential expires.

use super::{
    Identity,
    ldap::{DirectoryError, lookup},
};
use crate::{actions::ActionError, context::Context};

/// What a re-check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// The owner as they are now: current names and groups.
    Current(Identity),
    /// The owner no longer exists or is disabled: the credential is dead.
    Gone,
}

/// Which credential is re-checked (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// An API token.
    Token,
    /// A browser session.
    Session,
}

impl CredentialKind {
    fn label(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Session => "session",
        }
    }
}

/// Looks up `username` as sign-in would find them, without a password.
/// [`ActionError::DirectoryUnavailable`] when the directory cannot be asked: the caller
/// refuses the credential rather than trusting an old answer.
pub async fn current_owner(context: &Context, kind: CredentialKind, username: &str) -> Result<Owner, ActionError> {
    let outcome = lookup_owner(context, username).await;
    let label = match &outcome {
        Ok(Owner::Current(_)) => "current",
        Ok(Owner::Gone) => "gone",
        Err(_) => "unavailable",
    };
    context.identity_metrics.rechecks.with_label_values(&[kind.label(), label]).inc();
    if matches!(outcome, Ok(Owner::Gone)) {
        tracing::info!(credential = kind.label(), "the owner of a credential is gone; it no longer works");
    }
    outcome
}

async fn lookup_owner(context: &Context, username: &str) -> Result<Owner, ActionError> {
    if let Some(account) = context.store.account(username).await? {
        return Ok(Owner::Current(account.identity()));
    }
    let Some(directory) = &context.config.directory else { return Ok(Owner::Gone) };
    match lookup(directory, username).await {
        Ok(identity) => Ok(Owner::Current(identity)),
        Err(DirectoryError::InvalidCredentials) => Ok(Owner::Gone),
        Err(error) => {
            tracing::error!(%error, category = error.category(), "the directory could not re-check a credential's owner");
            Err(ActionError::DirectoryUnavailable)
        }
    }
}
