//! The names the platform gives an instance's own things (its credentials Secret, its
//! directory account): derived from the instance, never chosen by an order. The renderer
//! hands them to templates and the policy holds rendered objects to them.

/// Name of the per-instance Secret with a generated password.
pub fn credentials_secret_name(instance: &str) -> String {
    format!("{instance}-credentials")
}

/// The directory account of the instance `instance` in `namespace` (see
/// [`InstanceVars::directory_account`](crate::render::InstanceVars)).
pub fn directory_account_name(namespace: &str, instance: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{namespace}/{instance}").as_bytes());
    let hex: String = digest.iter().take(8).map(|byte| format!("{byte:02x}")).collect();
    format!("svc-{hex}")
}
