//! Checking the credentials of a sign-in: local accounts first (the embedded default and
//! break-glass admins), then the directory, behind the throttle. Each attempt takes its
//! slots of the shared counters before any password is checked
//! ([`super::ratelimit`]); argon2 runs off the async workers, a bounded number at once.
//! A change of a directory password checks the current one and so sits behind the same
//! throttle.

use std::future::Future;

use super::{
    Identity,
    ldap::{DirectoryError, authenticate, change_password},
    password::{decoy_hash, verify_bounded},
    ratelimit::Scope,
};
use crate::{
    actions::ActionError,
    context::Context,
    store::{login_throttle::Claim, now_ms},
};

/// The longest username or password accepted (longer input is refused before any work).
pub const MAX_CREDENTIAL: usize = 256;

/// Who `username` (trimmed, lower case) is, if `password` is theirs, for an attempt from
/// `address`. [`ActionError::RateLimited`] when a counter is full: then no password was
/// checked.
pub async fn check_credentials(
    context: &Context,
    username: &str,
    password: &str,
    address: &str,
) -> Result<Identity, ActionError> {
    if username.is_empty() || password.is_empty() || username.len() > MAX_CREDENTIAL || password.len() > MAX_CREDENTIAL
    {
        return Err(ActionError::Unauthenticated);
    }
    throttled(context, username, address, check(context, username, password)).await
}

/// Changes the directory password of `username` from `current` to `new`, for an attempt
/// from `address`, behind the sign-in throttle (a wrong current password is a failed
/// attempt). A local account's password is not changed here (the platform's operators set
/// it): its name is refused like an unknown one, so that the form tells nobody which
/// local accounts exist.
pub async fn change_credentials(
    context: &Context,
    username: &str,
    current: &str,
    new: &str,
    address: &str,
) -> Result<(), ActionError> {
    if [username, current, new].iter().any(|value| value.is_empty() || value.len() > MAX_CREDENTIAL) {
        return Err(ActionError::Unauthenticated);
    }
    let change = async {
        let directory = match &context.config.directory {
            Some(directory) if context.store.account(username).await?.is_none() => directory,
            _ => return Err(ActionError::Unauthenticated),
        };
        let result = change_password(directory, username, current, new).await;
        let outcome = match &result {
            Ok(()) => "changed",
            Err(DirectoryError::PasswordRefused(refusal)) => refusal.code(),
            Err(DirectoryError::InvalidCredentials) => "invalid_credentials",
            Err(_) => "unavailable",
        };
        context.identity_metrics.password_changes.with_label_values(&[outcome]).inc();
        result.map_err(from_directory)
    };
    throttled(context, username, address, change).await
}

/// Runs `attempt` (which checks a password of `username`) once it holds its slots of the
/// throttle's counters, and gives them back as its outcome says: all of them after a
/// success, none after wrong credentials, the slot but not the failures otherwise.
/// [`ActionError::RateLimited`] when a counter is full: then `attempt` did not run.
async fn throttled<T>(
    context: &Context,
    username: &str,
    address: &str,
    attempt: impl Future<Output = Result<T, ActionError>>,
) -> Result<T, ActionError> {
    let limits = &context.config.login;
    let counters = limits.counters(username, address);
    if let Claim::Blocked { scope, retry_after_ms } =
        context.store.claim_sign_in(&counters, limits.window_ms(), now_ms()).await?
    {
        context.identity_metrics.sign_ins_throttled.with_label_values(&[scope_label(scope)]).inc();
        tracing::info!(scope = scope_label(scope), "sign-in throttled before any password check");
        return Err(ActionError::RateLimited(u64::try_from((retry_after_ms + 999) / 1000).unwrap_or(1)));
    }
    let result = attempt.await;
    let release = match &result {
        Ok(_) => Some(true),
        Err(ActionError::Unauthenticated) => None,
        Err(_) => Some(false),
    };
    if let Some(success) = release
        && let Err(error) = context.store.release_sign_in(&counters, success).await
    {
        tracing::warn!(%error, "giving back the sign-in throttle's slots failed; they expire with their window");
    }
    result
}

/// What a directory's answer means for the person: their mistake, their next step, or the
/// directory's failure (logged here, shown to them only as "unavailable").
fn from_directory(error: DirectoryError) -> ActionError {
    match error {
        DirectoryError::InvalidCredentials => ActionError::Unauthenticated,
        DirectoryError::PasswordChangeRequired => ActionError::PasswordChangeRequired,
        DirectoryError::PasswordRefused(refusal) => ActionError::PasswordRefused(refusal),
        other @ (DirectoryError::Unreachable(_) | DirectoryError::Misconfigured(_)) => {
            tracing::error!(error = %other, category = other.category(), "the directory could not check a password");
            ActionError::DirectoryUnavailable
        }
    }
}

fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::AccountFromAddress => "account_from_address",
        Scope::Account => "account",
        Scope::Address => "address",
    }
}

async fn check(context: &Context, username: &str, password: &str) -> Result<Identity, ActionError> {
    let metrics = &context.identity_metrics.password_checks;
    if let Some(account) = context.store.account(username).await? {
        metrics.with_label_values(&["local"]).inc();
        return if verify_bounded(&context.password_checks, password, &account.password_hash).await {
            Ok(account.identity())
        } else {
            Err(ActionError::Unauthenticated)
        };
    }
    let Some(directory) = &context.config.directory else {
        metrics.with_label_values(&["decoy"]).inc();
        verify_bounded(&context.password_checks, password, decoy_hash()).await;
        return Err(ActionError::Unauthenticated);
    };
    metrics.with_label_values(&["directory"]).inc();
    let identity = authenticate(directory, username, password).await.map_err(from_directory)?;
    if let Err(error) = super::role_groups::refresh(context, true).await {
        tracing::warn!(%error, "the role groups of new agencies could not be resolved yet");
    }
    Ok(identity)
}
