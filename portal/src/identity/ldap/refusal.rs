//! Why a directory did not take a new password, read from its answer. Pure.
//!
//! Active Directory answers a refused change with result code 19 (constraint violation)
//! and a Windows error code first in the text: `00000056` for a wrong current password,
//! `0000052D` for a password the policy refuses. Windows stops there; Samba adds the rule
//! in words ("too short", "complexity", "already used", "too young"), and OpenLDAP's
//! password policy overlay answers in words of its own. The rule is named when the words
//! say it, and otherwise the refusal is the policy's (the page lists the policy's rules).

use serde::Serialize;

/// Why a new password was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordRefusal {
    /// The current password is wrong.
    WrongCurrent,
    /// The new password is shorter than the policy's minimum.
    TooShort,
    /// The new password does not mix enough kinds of characters, or contains the name.
    NotComplex,
    /// The new password was used before.
    InHistory,
    /// The current password is newer than the policy's minimum age.
    TooYoung,
    /// The policy refused it without saying which rule.
    Policy,
    /// The new password and its repetition differ (checked before asking the directory).
    Mismatch,
    /// The new password is the current one (checked before asking the directory).
    Unchanged,
}

impl PasswordRefusal {
    /// A stable code for templates, the API, metrics and the audit trail.
    pub fn code(self) -> &'static str {
        match self {
            Self::WrongCurrent => "wrong_current",
            Self::TooShort => "too_short",
            Self::NotComplex => "not_complex",
            Self::InHistory => "in_history",
            Self::TooYoung => "too_young",
            Self::Policy => "policy",
            Self::Mismatch => "mismatch",
            Self::Unchanged => "unchanged",
        }
    }
}

/// RFC 4511 result codes a password change is refused with.
const INVALID_CREDENTIALS: u32 = 49;
const CONSTRAINT_VIOLATION: u32 = 19;
const UNWILLING_TO_PERFORM: u32 = 53;

/// The Windows error code of a wrong current password (`ERROR_INVALID_PASSWORD`).
const WINDOWS_WRONG_PASSWORD: &str = "00000056";

/// Samba's and OpenLDAP's words for a wrong current password ("old passwords" alone is
/// OpenLDAP's history rule).
const WRONG_CURRENT: &[&str] = &["old password specified", "verify old password"];

/// What a password change's result code `rc` and text say, or `None` when it is not a
/// refusal of the passwords (an error of the directory or of its settings).
pub fn classify_refusal(rc: u32, text: &str) -> Option<PasswordRefusal> {
    let words = text.to_lowercase();
    let says = |phrases: &[&str]| phrases.iter().any(|phrase| words.contains(phrase));
    match rc {
        INVALID_CREDENTIALS => Some(PasswordRefusal::WrongCurrent),
        CONSTRAINT_VIOLATION if text.starts_with(WINDOWS_WRONG_PASSWORD) || says(WRONG_CURRENT) => {
            Some(PasswordRefusal::WrongCurrent)
        }
        CONSTRAINT_VIOLATION if says(&["too short", "not long enough"]) => Some(PasswordRefusal::TooShort),
        CONSTRAINT_VIOLATION if says(&["complexity", "quality"]) => Some(PasswordRefusal::NotComplex),
        CONSTRAINT_VIOLATION if says(&["history", "already used"]) => Some(PasswordRefusal::InHistory),
        CONSTRAINT_VIOLATION if says(&["too young"]) => Some(PasswordRefusal::TooYoung),
        CONSTRAINT_VIOLATION => Some(PasswordRefusal::Policy),
        UNWILLING_TO_PERFORM if says(WRONG_CURRENT) => Some(PasswordRefusal::WrongCurrent),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sambas_words_name_the_rule() {
        let samba = |rule: &str| format!("0000052D: Constraint violation - check_password_restrictions: {rule}");
        let cases = [
            ("the password is too short. It should be equal or longer than 7 characters!", PasswordRefusal::TooShort),
            ("the password does not meet the complexity criteria!", PasswordRefusal::NotComplex),
            ("the password was already used (in history)!", PasswordRefusal::InHistory),
            ("password is too young to change!", PasswordRefusal::TooYoung),
        ];
        for (words, refusal) in cases {
            assert_eq!(classify_refusal(19, &samba(words)), Some(refusal), "{words}");
        }
        let wrong =
            "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!";
        assert_eq!(classify_refusal(19, wrong), Some(PasswordRefusal::WrongCurrent));
    }

    #[test]
    fn windows_says_only_which_kind() {
        let policy = "0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 \
                      (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)";
        assert_eq!(classify_refusal(19, policy), Some(PasswordRefusal::Policy));
        let wrong = "00000056: AtrErr: DSID-03190F80, #1:\n\t0: 00000056: DSID-03190F80, problem 1005 \
                     (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)";
        assert_eq!(classify_refusal(19, wrong), Some(PasswordRefusal::WrongCurrent));
    }

    #[test]
    fn openldaps_words_name_the_rule() {
        assert_eq!(classify_refusal(19, "Password fails quality checking policy"), Some(PasswordRefusal::NotComplex));
        assert_eq!(classify_refusal(19, "Password is in history of old passwords"), Some(PasswordRefusal::InHistory));
        assert_eq!(classify_refusal(19, "Password is too young to change"), Some(PasswordRefusal::TooYoung));
        assert_eq!(classify_refusal(19, "Password is not long enough"), Some(PasswordRefusal::TooShort));
        assert_eq!(classify_refusal(53, "unwilling to verify old password"), Some(PasswordRefusal::WrongCurrent));
        assert_eq!(classify_refusal(49, ""), Some(PasswordRefusal::WrongCurrent));
    }

    #[test]
    fn other_answers_are_not_refusals_of_the_password() {
        // Active Directory without TLS, a busy server, missing rights.
        assert_eq!(
            classify_refusal(53, "00002035: setup_io: it's not allowed to set the NT hash password directly"),
            None
        );
        assert_eq!(classify_refusal(51, ""), None);
        assert_eq!(classify_refusal(50, "insufficient access"), None);
    }

    #[test]
    fn codes_are_stable() {
        assert_eq!(PasswordRefusal::WrongCurrent.code(), "wrong_current");
        assert_eq!(PasswordRefusal::Policy.code(), "policy");
    }
}
