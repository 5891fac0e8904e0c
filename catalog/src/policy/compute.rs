//! Virtual machines, volumes and backup policies: in the platform's host pool, using the
//! instance's own volumes and Secrets, backing up to the platform's target.

use serde_json::Value;

use super::{Findings, Scope, is_set, items, own_selector, secret_reference};

/// A compute object of `kind`.
pub(super) fn check(object: &Value, kind: &str, scope: &Scope<'_>, findings: &mut Findings<'_>) {
    let platform = scope.platform;
    let mut expect = |pointer: &str, wanted: &str, what: &str| {
        if object.pointer(pointer).and_then(Value::as_str) != Some(wanted) {
            findings.forbid(pointer, format!("must be the platform's {what} `{wanted}`"));
        }
    };
    match kind {
        "VirtualMachine" => {
            expect("/spec/hostPool", &platform.host_pool, "host pool");
            for (index, disk) in items(object, "/spec/disks") {
                if let Some(volume) = disk.get("volume").and_then(Value::as_str)
                    && !scope.renders("Volume", volume)
                {
                    findings.forbid(
                        &format!("/spec/disks/{index}/volume"),
                        format!("Volume `{volume}` is not one the instance renders"),
                    );
                }
            }
            if is_set(object, "/spec/cloudInit/userDataSecret") {
                secret_reference(
                    object.pointer("/spec/cloudInit/userDataSecret"),
                    "/spec/cloudInit/userDataSecret",
                    scope,
                    findings,
                );
            }
        }
        "Volume" => {
            expect("/spec/hostPool", &platform.host_pool, "host pool");
            if let Some(source) = object.pointer("/spec/source/volume").and_then(Value::as_str)
                && !scope.renders("Volume", source)
            {
                findings.forbid("/spec/source/volume", format!("Volume `{source}` is not one the instance renders"));
            }
            if is_set(object, "/spec/source/backup") {
                findings
                    .forbid("/spec/source/backup", "volumes are restored from backups through a Restore, not by items");
            }
        }
        "BackupPolicy" => {
            expect("/spec/target/hostPool", &platform.host_pool, "host pool");
            expect("/spec/target/host", &platform.backup_host, "backup host");
            expect("/spec/target/storagePool", &platform.backup_storage_pool, "backup storage pool");
            for selector in ["/spec/virtualMachineSelector", "/spec/volumeSelector"] {
                if is_set(object, selector) {
                    own_selector(object, selector, scope, findings);
                }
            }
        }
        _ => {}
    }
}
