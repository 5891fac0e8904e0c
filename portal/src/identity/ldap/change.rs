//! People changing their own password, and the domain's password policy to show them.
//!
//! On Active Directory the portal's service account sends the change (the current value
//! of `unicodePwd` removed, the new one added, in one modification over TLS): the server
//! checks the current password and the policy, and a person whose account must change its
//! password (who cannot bind) can still do it. Changing a password this way is the "Change
//! Password" right, which Active Directory gives everyone on every account by default; it
//! is not the "Reset Password" right of administrators. On OpenLDAP the person binds and
//! sends the Password Modify extended operation (RFC 3062) with the current password.

use makonis_api::identity::PasswordPolicy;

use super::{
    DirectoryConfig, DirectoryError, DirectoryFlavour, bind_service,
    entry::first_value,
    error::{Step, classify_code},
    filter::is_valid_username,
    find_user,
    refusal::{PasswordRefusal, classify_refusal},
    session::Session,
};

/// Changes `username`'s password from `current` to `new`. A wrong current password, an
/// unknown or disabled account and an impossible login name are all
/// [`DirectoryError::InvalidCredentials`]; a password the policy refuses is
/// [`DirectoryError::PasswordRefused`] with the rule when the server names it.
pub async fn change_password(
    config: &DirectoryConfig,
    username: &str,
    current: &str,
    new: &str,
) -> Result<(), DirectoryError> {
    let transport = config.check()?;
    if current.is_empty() || new.is_empty() || !is_valid_username(username) {
        return Err(DirectoryError::InvalidCredentials);
    }
    let mut session = Session::open(config, transport).await?;
    let result = change(&mut session, config, username, current, new).await;
    session.close().await;
    match &result {
        Ok(()) => tracing::info!(username, "the directory took a new password"),
        Err(error) => tracing::info!(username, outcome = error.category(), "the directory took no new password"),
    }
    result
}

async fn change(
    session: &mut Session,
    config: &DirectoryConfig,
    username: &str,
    current: &str,
    new: &str,
) -> Result<(), DirectoryError> {
    bind_service(session, config).await?;
    let user = find_user(session, config, username).await?;
    let answer = match config.flavour {
        DirectoryFlavour::ActiveDirectory => session.replace_unicode_pwd(&user.dn, current, new).await?,
        DirectoryFlavour::OpenLdap => {
            session.bind(Step::UserBind, &user.dn, current).await?;
            session.password_modify(current, new).await?
        }
    };
    if answer.rc == 0 {
        return Ok(());
    }
    match classify_refusal(answer.rc, &answer.text) {
        Some(PasswordRefusal::WrongCurrent) => Err(DirectoryError::InvalidCredentials),
        Some(refusal) => Err(DirectoryError::PasswordRefused(refusal)),
        None => Err(classify_code(Step::PasswordChange, answer.rc, &answer.text)),
    }
}

/// The domain's password policy, read by the service account from the domain object that
/// the root DSE names (`defaultNamingContext`); `None` for OpenLDAP, whose policies are
/// per entry and not read here, or when the domain object is not readable.
pub async fn password_policy(config: &DirectoryConfig) -> Result<Option<PasswordPolicy>, DirectoryError> {
    if config.flavour != DirectoryFlavour::ActiveDirectory {
        return Ok(None);
    }
    let transport = config.check()?;
    let mut session = Session::open(config, transport).await?;
    let result = async {
        bind_service(&mut session, config).await?;
        let root = session.read(Step::PolicyRead, "", &["defaultNamingContext"]).await?;
        let Some(domain) = root.as_ref().and_then(|root| first_value(root, "defaultNamingContext")) else {
            return Ok(None);
        };
        let entry = session.read(Step::PolicyRead, domain, &PasswordPolicy::DOMAIN_ATTRIBUTES).await?;
        Ok(entry.map(|entry| {
            PasswordPolicy::from_domain(|name| first_value(&entry, name).and_then(|value| value.parse().ok()))
        }))
    }
    .await;
    session.close().await;
    result
}
