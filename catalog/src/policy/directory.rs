//! Directory accounts: an instance's `DirectoryServiceAccount` has the one account name
//! the platform derives for the instance (an order cannot name, and so cannot claim or
//! collide with, any other account in the domain), and its credentials go to the Secret
//! the identity operator names after the object (`<name>-directory`), which the
//! instance's workloads may then read.

use serde_json::Value;

use super::{Findings, Scope, is_set};

/// The Secret the identity operator writes a service account's credentials to when the
/// object names none.
pub(super) fn credentials_secret(account: &str) -> String {
    format!("{account}-directory")
}

/// A rendered `DirectoryServiceAccount`.
pub(super) fn service_account(object: &Value, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    let wanted = scope.directory_account.as_str();
    if object.pointer("/spec/username").and_then(Value::as_str) != Some(wanted) {
        findings.forbid(
            "/spec/username",
            format!("must be the instance's directory account `{wanted}` (instance.directoryAccount)"),
        );
    }
    if is_set(object, "/spec/secretName") {
        findings.forbid("/spec/secretName", "must be left out: the credentials go to `<name>-directory`");
    }
}
