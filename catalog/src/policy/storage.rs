//! Claims: storage of the platform's class, never a chosen or cloned volume.

use serde_json::Value;

use super::{Findings, Scope, is_set};

/// Claim fields that bind or fill a claim with storage the instance does not own: a
/// chosen volume (another tenant's released one), a label selector over volumes, a
/// volume or snapshot to clone.
const FOREIGN_STORAGE_FIELDS: &[&str] = &["volumeName", "selector", "dataSource", "dataSourceRef"];

/// The claim spec at `spec`.
pub(super) fn claim(object: &Value, spec: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    for field in FOREIGN_STORAGE_FIELDS {
        let pointer = format!("{spec}/{field}");
        if is_set(object, &pointer) {
            findings.forbid(
                &pointer,
                "claims get new storage of their own: binding or cloning other storage is not allowed",
            );
        }
    }
    let class = format!("{spec}/storageClassName");
    if let Some(name) = object.pointer(&class).and_then(Value::as_str)
        && name != scope.platform.storage_class
    {
        let expected = if scope.platform.storage_class.is_empty() {
            "leave it out (the platform uses the cluster's default class)".to_string()
        } else {
            format!("use the platform's `{}`", scope.platform.storage_class)
        };
        findings.forbid(&class, format!("storage class `{name}` is not the platform's: {expected}"));
    }
}
