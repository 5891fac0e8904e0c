//! The API server's audit log: one JSON line per write request (see tests/cluster).

use std::path::PathBuf;

use serde_json::Value;

/// The audit log of the test control plane.
pub fn audit_log_path() -> PathBuf {
    std::env::var_os("MAKONIS_TEST_AUDIT_LOG")
        .map(PathBuf::from)
        .expect("MAKONIS_TEST_AUDIT_LOG is not set: run the integration tests through ./test.sh")
}

/// A write request as the audit log records it.
#[derive(Debug, Clone)]
pub struct AuditedWrite {
    /// Who sent it.
    pub user: String,
    /// `create`, `patch`, `update`, `delete`, …
    pub verb: String,
    /// The resource (`namespaces`, `agencies`, …) and subresource, if any.
    pub resource: String,
    /// The namespace of the object, if namespaced.
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// The HTTP status of the response.
    pub code: i64,
}

/// Reads every write from byte `offset` on, returning them and the new end offset.
pub fn read_writes(offset: u64) -> (Vec<AuditedWrite>, u64) {
    let text = std::fs::read(audit_log_path()).expect("the audit log is readable");
    let end = text.len() as u64;
    let tail = &text[offset.min(end) as usize..];
    let writes = String::from_utf8_lossy(tail)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["stage"] == "ResponseComplete")
        .map(|event| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let object = &event["objectRef"];
            let mut resource = text(&object["resource"]);
            if let Some(sub) = object["subresource"].as_str() {
                resource = format!("{resource}/{sub}");
            }
            AuditedWrite {
                user: text(&event["user"]["username"]),
                verb: text(&event["verb"]),
                resource,
                namespace: text(&object["namespace"]),
                name: text(&object["name"]),
                code: event["responseStatus"]["code"].as_i64().unwrap_or_default(),
            }
        })
        .collect();
    (writes, end)
}

/// The current end of the audit log, to count writes from.
pub fn audit_offset() -> u64 {
    std::fs::metadata(audit_log_path()).map(|m| m.len()).unwrap_or(0)
}
