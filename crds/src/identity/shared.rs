//! Types every identity kind shares.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the operator does when someone changed a managed object directly in the directory.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DriftPolicy {
    /// Put the declared values back, with an Event naming each attribute.
    #[default]
    Correct,
    /// Leave the directory as it is; report each differing attribute in an Event and in
    /// the `InSync` condition.
    Report,
}

/// An account on its way out: disabled, in the agency's leavers OU, deleted after the
/// grace period.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct Leaving {
    /// When the account was disabled and moved (RFC 3339, UTC).
    pub since: String,
    /// When it will be deleted from the directory (RFC 3339, UTC).
    pub delete_after: String,
    /// What still keeps it, if anything besides the grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
}

/// Characters a person's name, title or department may hold: no control characters.
pub const TEXT_PATTERN: &str = r"^[^\x00-\x1F\x7F]+$";

/// A sAMAccountName the platform creates: lower-case letters, digits, `.`, `_` and `-`,
/// starting with a letter or digit (AD allows 20 characters).
pub const ACCOUNT_PATTERN: &str = r"^[a-z0-9][a-z0-9._-]*$";

/// An e-mail address.
pub const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";

/// A directory group's name (`CN` and `sAMAccountName`): no control characters and none of
/// the characters Active Directory refuses in them.
pub const GROUP_NAME_PATTERN: &str = r#"^[^"/\\\[\]:;|=,+*?<>@\x00-\x1F\x7F]+$"#;
/// The name of a Kubernetes object in the same namespace (a DNS subdomain).
pub const OBJECT_NAME_PATTERN: &str = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$";
