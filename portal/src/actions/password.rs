//! People changing their own directory password: after their first sign-in (Active
//! Directory asks for it), when it has expired, or whenever they like. The attempt is
//! audited either way; a success signs them in with the new password.

use super::{
    ActionError,
    sign_in::{SignedIn, attempt_event, sign_in},
};
use crate::{
    context::Context,
    identity::{ldap::PasswordRefusal, login::change_credentials},
    store::now_ms,
};

/// A password change as the form or the API gives it.
#[derive(Debug, Clone, Copy)]
pub struct PasswordChange<'a> {
    /// The login name (for a signed-in person: their own).
    pub username: &'a str,
    /// The password now.
    pub current: &'a str,
    /// The password wanted.
    pub new: &'a str,
    /// The password wanted, typed again.
    pub repeat: &'a str,
}

impl PasswordChange<'_> {
    /// What is wrong with the form before the directory is asked.
    fn check(&self) -> Result<(), PasswordRefusal> {
        if self.new != self.repeat {
            Err(PasswordRefusal::Mismatch)
        } else if self.new == self.current {
            Err(PasswordRefusal::Unchanged)
        } else {
            Ok(())
        }
    }
}

/// Changes the password as `change` asks, from `source_ip` with `user_agent`, ends every
/// session the person had (whoever held one with the old password is signed out), and
/// signs them in with the new one. The attempt is audited as `started` before the directory
/// is asked (a change that cannot be recorded is not made), then with its outcome (a
/// success with the number of sessions ended, in the same transaction); the new session is
/// audited on its own. A form refused before the directory is asked (the two new passwords
/// differ, or equal the current one) is audited once, as a failure.
pub async fn change_password(
    context: &Context,
    change: PasswordChange<'_>,
    source_ip: &str,
    user_agent: &str,
) -> Result<SignedIn, ActionError> {
    let username = change.username.trim().to_lowercase();
    let event = |outcome: &str, detail: String| {
        let mut event = attempt_event(&username, "change_password", "password", source_ip, user_agent, now_ms());
        event.outcome = outcome.into();
        event.detail = detail;
        event
    };
    let result = match change.check() {
        Err(refusal) => Err(ActionError::PasswordRefused(refusal)),
        Ok(()) => {
            context.store.audit(&event("started", String::new())).await?;
            change_credentials(context, &username, change.current, change.new, source_ip).await
        }
    };
    match result {
        Ok(()) => {
            let mut tx = context.store.begin().await?;
            let ended = tx.end_sessions_of(&username).await?;
            tx.commit(&event("success", format!("sessions_ended: {ended}"))).await?;
            sign_in(context, &username, change.new, source_ip, user_agent).await
        }
        Err(error) => {
            let detail = match &error {
                ActionError::PasswordRefused(refusal) => format!("password_refused: {}", refusal.code()),
                other => other.code().to_string(),
            };
            context.store.audit(&event("failure", detail)).await?;
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change<'a>(current: &'a str, new: &'a str, repeat: &'a str) -> PasswordChange<'a> {
        PasswordChange { username: "liga.ozolina", current, new, repeat }
    }

    #[test]
    fn the_form_is_checked_before_the_directory_is_asked() {
        assert_eq!(change("Vecā-1!", "Jaunā-2!", "Jaunā-3!").check(), Err(PasswordRefusal::Mismatch));
        assert_eq!(change("Vecā-1!", "Vecā-1!", "Vecā-1!").check(), Err(PasswordRefusal::Unchanged));
        assert_eq!(change("Vecā-1!", "Jaunā-2!", "Jaunā-2!").check(), Ok(()));
    }
}
