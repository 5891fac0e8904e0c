//! Why a sign-in against the directory failed: [`DirectoryError`], and how LDAP errors and
//! result codes map onto it.

use std::fmt;

use ldap3::LdapError;

use super::refusal::PasswordRefusal;

/// Why the directory did not confirm who a user is.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DirectoryError {
    /// Wrong password, unknown user, disabled account or an impossible login name: one
    /// error for all, so that nobody can find out which accounts exist.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The password is right, but the account must change it before it may sign in: Active
    /// Directory's "must change at next sign-in" (`data 773`) or an expired password
    /// (`data 532`). Only a caller who knew the password learns this.
    #[error("the password must be changed before signing in")]
    PasswordChangeRequired,
    /// The directory did not take a new password, for this reason (the current one was
    /// right: a wrong one is [`DirectoryError::InvalidCredentials`]).
    #[error("the directory refused the new password: {}", .0.code())]
    PasswordRefused(PasswordRefusal),
    /// The directory could not be asked: connection refused, TLS failure (such as a
    /// certificate that does not verify), timeout, server busy or unavailable.
    #[error("the directory is unreachable: {0}")]
    Unreachable(String),
    /// The settings do not work: the service account's bind is refused, a base DN does not
    /// exist, plain LDAP without `allow_plain`, an unreadable CA file, ...
    #[error("the directory settings are wrong: {0}")]
    Misconfigured(String),
}

impl DirectoryError {
    /// A stable label for metrics: `invalid_credentials`, `password_change_required`,
    /// `password_refused`, `unreachable` or `misconfigured`.
    pub fn category(&self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::PasswordChangeRequired => "password_change_required",
            Self::PasswordRefused(_) => "password_refused",
            Self::Unreachable(_) => "unreachable",
            Self::Misconfigured(_) => "misconfigured",
        }
    }
}

/// The step of a sign-in that failed; it decides what a result code means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Connecting, including TLS or StartTLS.
    Connect,
    /// The service account's bind (or the return to it after the user's bind).
    ServiceBind,
    /// The search for the user's entry.
    UserSearch,
    /// The bind as the user, which checks the password.
    UserBind,
    /// The search for the user's groups.
    GroupSearch,
    /// Reading the domain's password policy.
    PolicyRead,
    /// Changing the user's password.
    PasswordChange,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "connect",
            Self::ServiceBind => "service account bind",
            Self::UserSearch => "user search",
            Self::UserBind => "user bind",
            Self::GroupSearch => "group search",
            Self::PolicyRead => "password policy read",
            Self::PasswordChange => "password change",
        })
    }
}

/// LDAP result codes (RFC 4511) that need their own meaning.
mod code {
    pub const TIME_LIMIT_EXCEEDED: u32 = 3;
    pub const NO_SUCH_OBJECT: u32 = 32;
    pub const INVALID_CREDENTIALS: u32 = 49;
    pub const BUSY: u32 = 51;
    pub const UNAVAILABLE: u32 = 52;
}

/// What an error of `ldap3` during `step` means for the sign-in.
pub(super) fn classify(step: Step, error: LdapError) -> DirectoryError {
    match error {
        LdapError::LdapResult { result } => classify_code(step, result.rc, &result.text),
        LdapError::UrlParsing { .. }
        | LdapError::UnknownScheme(_)
        | LdapError::DNSName { .. }
        | LdapError::FilterParsing => DirectoryError::Misconfigured(format!("{step}: {error}")),
        // I/O (refused, reset, TLS verification), timeouts and a connection that went away.
        other => DirectoryError::Unreachable(format!("{step}: {other}")),
    }
}

/// What the result code `rc` (with the server's diagnostic `text`) of `step` means.
pub(super) fn classify_code(step: Step, rc: u32, text: &str) -> DirectoryError {
    let said = if text.is_empty() { String::new() } else { format!(": {text}") };
    match (step, rc) {
        (Step::UserBind, code::INVALID_CREDENTIALS) if must_change(text) => DirectoryError::PasswordChangeRequired,
        (Step::UserBind, code::INVALID_CREDENTIALS) => DirectoryError::InvalidCredentials,
        (Step::ServiceBind, code::INVALID_CREDENTIALS) => {
            DirectoryError::Misconfigured(format!("{step} refused: invalid credentials{said}"))
        }
        (_, code::BUSY | code::UNAVAILABLE | code::TIME_LIMIT_EXCEEDED) => {
            DirectoryError::Unreachable(format!("{step}: result code {rc}{said}"))
        }
        (Step::UserSearch | Step::GroupSearch, code::NO_SUCH_OBJECT) => {
            DirectoryError::Misconfigured(format!("{step}: the base DN does not exist{said}"))
        }
        _ => DirectoryError::Misconfigured(format!("{step}: result code {rc}{said}")),
    }
}

/// Whether Active Directory's answer to a bind with the right password says that the
/// password must be changed first: `data 773` (must change at next sign-in) or `data 532`
/// (expired). Any other sub-code (`52e` wrong password, `533` disabled, `775` locked) is
/// not.
fn must_change(text: &str) -> bool {
    let mut words = text.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty());
    while let Some(word) = words.next() {
        if word == "data" {
            return matches!(words.next(), Some("773" | "532"));
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_stable_metric_labels() {
        assert_eq!(DirectoryError::InvalidCredentials.category(), "invalid_credentials");
        assert_eq!(DirectoryError::Unreachable("x".into()).category(), "unreachable");
        assert_eq!(DirectoryError::Misconfigured("x".into()).category(), "misconfigured");
    }

    #[test]
    fn a_refused_bind_is_the_users_fault_only_for_the_user() {
        assert_eq!(classify_code(Step::UserBind, 49, "80090308: data 52e"), DirectoryError::InvalidCredentials);
        let service = classify_code(Step::ServiceBind, 49, "");
        assert_eq!(service, DirectoryError::Misconfigured("service account bind refused: invalid credentials".into()));
    }

    #[test]
    fn a_right_password_that_must_be_changed_says_so() {
        let said = |data: &str| {
            format!("80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data {data}, v1db1")
        };
        assert_eq!(classify_code(Step::UserBind, 49, &said("773")), DirectoryError::PasswordChangeRequired);
        assert_eq!(classify_code(Step::UserBind, 49, &said("532")), DirectoryError::PasswordChangeRequired);
        for other in ["52e", "533", "775", "7730"] {
            assert_eq!(classify_code(Step::UserBind, 49, &said(other)), DirectoryError::InvalidCredentials, "{other}");
        }
        assert_eq!(classify_code(Step::UserBind, 49, "data"), DirectoryError::InvalidCredentials);
        let service = classify_code(Step::ServiceBind, 49, &said("773"));
        assert_eq!(service.category(), "misconfigured", "only the user's own bind can ask for a change");
    }

    #[test]
    fn busy_servers_are_unreachable_and_missing_bases_misconfigured() {
        assert_eq!(classify_code(Step::UserSearch, 52, "").category(), "unreachable");
        assert_eq!(classify_code(Step::ServiceBind, 51, "").category(), "unreachable");
        assert_eq!(
            classify_code(Step::GroupSearch, 32, "no such base"),
            DirectoryError::Misconfigured("group search: the base DN does not exist: no such base".into())
        );
        // Stronger authentication required (plain LDAP to Active Directory).
        assert_eq!(classify_code(Step::UserBind, 8, "").category(), "misconfigured");
        // StartTLS refused by the server.
        assert_eq!(classify_code(Step::Connect, 2, "unsupported").category(), "misconfigured");
    }

    #[test]
    fn transport_errors_are_unreachable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(classify(Step::Connect, LdapError::from(refused)).category(), "unreachable");
        assert_eq!(classify(Step::UserSearch, LdapError::EndOfStream).category(), "unreachable");
        assert_eq!(classify(Step::UserSearch, LdapError::FilterParsing).category(), "misconfigured");
        assert_eq!(classify(Step::Connect, LdapError::UnknownScheme("ldapx".into())).category(), "misconfigured");
        let result =
            ldap3::LdapResult { rc: 49, matched: String::new(), text: String::new(), refs: vec![], ctrls: vec![] };
        assert_eq!(classify(Step::UserBind, LdapError::from(result)), DirectoryError::InvalidCredentials);
    }
}
