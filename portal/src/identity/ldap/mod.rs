//! Sign-in against the directory: Active Directory or OpenLDAP, over LDAPS or StartTLS.
//!
//! [`authenticate`] finds the account with the service account (search), checks the
//! password by binding as the account's DN, then reads the DNs of the account's groups
//! (nested ones too) as the service account again. Wrong passwords, unknown users and
//! disabled accounts are one and the same [`DirectoryError::InvalidCredentials`].
//! [`lookup`] does the same without the password, to re-check who a token or session
//! stands for; [`find_groups`] finds groups by name, to resolve role groups to DNs;
//! [`change_password`] lets people change their own password, and [`password_policy`]
//! reads the rules to show them.

mod change;
mod config;
mod entry;
mod error;
mod filter;
mod find;
mod groups;
mod refusal;
mod session;
pub(crate) mod tls;

pub use change::{change_password, password_policy};
pub use config::{DirectoryConfig, DirectoryFlavour};
pub use error::DirectoryError;
pub use find::find_groups;
pub use makonis_api::dn::{cn_of_dn, normalize_dn};
pub use refusal::PasswordRefusal;

use ldap3::SearchEntry;
use tracing::Instrument;
use tracing::field::Empty;

use super::Identity;
use error::Step;
use session::Session;

/// Checks `username` and `password` against the directory and returns who the user is.
///
/// Nothing is sent to the server when the settings are unsafe or incomplete
/// ([`DirectoryError::Misconfigured`]), when the password is empty (a simple bind with an
/// empty password is an anonymous bind that "succeeds"), or when the login name is not 1 to
/// 64 characters of `A-Z a-z 0-9 . _ @ -` ([`DirectoryError::InvalidCredentials`]).
pub async fn authenticate(
    config: &DirectoryConfig,
    username: &str,
    password: &str,
) -> Result<Identity, DirectoryError> {
    let span = tracing::info_span!(
        "directory_sign_in",
        url = %config.url,
        flavour = ?config.flavour,
        username = Empty,
        outcome = Empty
    );
    let result = sign_in(config, username, password, &span).instrument(span.clone()).await;
    span.in_scope(|| match &result {
        Ok(identity) => {
            span.record("outcome", "success");
            tracing::info!(groups = identity.groups.len(), "signed in with the directory");
        }
        Err(error @ DirectoryError::InvalidCredentials) => {
            span.record("outcome", error.category());
            tracing::info!("directory sign-in refused");
        }
        Err(error) => {
            span.record("outcome", error.category());
            tracing::warn!(%error, "directory sign-in failed");
        }
    });
    result
}

/// Checks what can be checked locally, then asks the directory on one connection, which is
/// unbound and closed whatever happens. Records the login name on `span` once it is plausible.
async fn sign_in(
    config: &DirectoryConfig,
    username: &str,
    password: &str,
    span: &tracing::Span,
) -> Result<Identity, DirectoryError> {
    let transport = config.check()?;
    if password.is_empty() || !filter::is_valid_username(username) {
        tracing::debug!(reason = "empty password or impossible login name", "refused without asking the directory");
        return Err(DirectoryError::InvalidCredentials);
    }
    span.record("username", username);
    let mut session = Session::open(config, transport).await?;
    let result = verify(&mut session, config, username, password).await;
    session.close().await;
    result
}

/// Finds the account, checks the password and reads the groups on an open session.
async fn verify(
    session: &mut Session,
    config: &DirectoryConfig,
    username: &str,
    password: &str,
) -> Result<Identity, DirectoryError> {
    bind_service(session, config).await?;
    let user = find_user(session, config, username).await?;
    session.bind(Step::UserBind, &user.dn, password).await.inspect_err(|error| {
        if *error == DirectoryError::InvalidCredentials {
            tracing::debug!(reason = "wrong password", "the directory refused the user's bind");
        }
    })?;
    bind_service(session, config).await?;
    let groups = groups::group_dns(session, config, &user).await?;
    Ok(entry::identity(config.flavour, &user, username, groups))
}

/// Who `username` is now, as the service account sees it (no password): the account's
/// current names and groups, or [`DirectoryError::InvalidCredentials`] when it no longer
/// exists or is disabled. Re-checks tokens and sessions.
pub async fn lookup(config: &DirectoryConfig, username: &str) -> Result<Identity, DirectoryError> {
    let transport = config.check()?;
    if !filter::is_valid_username(username) {
        return Err(DirectoryError::InvalidCredentials);
    }
    let mut session = Session::open(config, transport).await?;
    let result = async {
        bind_service(&mut session, config).await?;
        let user = find_user(&mut session, config, username).await?;
        let groups = groups::group_dns(&mut session, config, &user).await?;
        Ok(entry::identity(config.flavour, &user, username, groups))
    }
    .await;
    session.close().await;
    result
}

/// Binds as the service account, or returns to anonymous when there is none.
async fn bind_service(session: &mut Session, config: &DirectoryConfig) -> Result<(), DirectoryError> {
    match (&config.bind_dn, &config.bind_password) {
        (Some(dn), Some(password)) => session.bind(Step::ServiceBind, dn, password).await,
        _ => session.bind(Step::ServiceBind, "", "").await,
    }
}

/// The one enabled account that the user filter finds for `username`.
async fn find_user(
    session: &mut Session,
    config: &DirectoryConfig,
    username: &str,
) -> Result<SearchEntry, DirectoryError> {
    let filter = filter::user_filter(&config.user_filter, username);
    // Two at most: enough to see that a filter is ambiguous.
    let mut found =
        session.search(Step::UserSearch, &config.user_base, &filter, config.flavour.user_attributes(), 2).await?;
    let user = match (found.pop(), found.is_empty()) {
        (Some(user), true) => user,
        (None, _) => {
            tracing::debug!(reason = "no such account", "refused");
            return Err(DirectoryError::InvalidCredentials);
        }
        (Some(_), false) => {
            tracing::warn!(%filter, "the user filter matches more than one entry; refusing the sign-in");
            return Err(DirectoryError::InvalidCredentials);
        }
    };
    if config.flavour == DirectoryFlavour::ActiveDirectory
        && entry::is_disabled(entry::first_value(&user, "userAccountControl"))
    {
        tracing::debug!(reason = "account disabled", "refused");
        return Err(DirectoryError::InvalidCredentials);
    }
    Ok(user)
}
