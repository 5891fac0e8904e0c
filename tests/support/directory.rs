//! The test directories of `tests/directory/` as the security suite uses them: the portal's
//! settings for Samba AD and OpenLDAP, and changes to OpenLDAP's data made as its
//! administrator with `ldapmodify` (what a directory administrator does while the portal
//! runs: remove someone from a group, delete an account).

use std::{io::Write, process::Command};

use makonis_portal::identity::ldap::DirectoryConfig;

/// The value of `name`, which `tests/directory/SCRIPT env` exports.
pub fn env(name: &str, script: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run tests/directory/{script} start and eval \"$(tests/directory/{script} env)\"")
    })
}

/// The Samba domain controller over LDAPS, with the portal's service account.
pub fn samba() -> DirectoryConfig {
    let script = "samba.sh";
    let mut config = DirectoryConfig::active_directory(
        env("MAKONIS_TEST_SAMBA_URL", script),
        env("MAKONIS_TEST_SAMBA_BASE", script),
    );
    config.ca_file = Some(env("MAKONIS_TEST_SAMBA_CA", script).into());
    config.bind_dn = Some(env("MAKONIS_TEST_SAMBA_BIND_DN", script));
    config.bind_password = Some(env("MAKONIS_TEST_SAMBA_BIND_PASSWORD", script));
    config
}

/// OpenLDAP over LDAPS, with the portal's service account.
pub fn openldap() -> DirectoryConfig {
    let script = "openldap.sh";
    let mut config = DirectoryConfig::openldap(
        env("MAKONIS_TEST_OPENLDAP_LDAPS_URL", script),
        env("MAKONIS_TEST_OPENLDAP_BASE", script),
    );
    config.ca_file = Some(env("MAKONIS_TEST_OPENLDAP_CA", script).into());
    config.bind_dn = Some(env("MAKONIS_TEST_OPENLDAP_BIND_DN", script));
    config.bind_password = Some(env("MAKONIS_TEST_OPENLDAP_BIND_PASSWORD", script));
    config
}

/// Applies `ldif` to OpenLDAP as its administrator (`ldapmodify -a`, so it may add
/// entries too); panics with the tool's words if it fails.
pub fn openldap_modify(ldif: &str) {
    let script = "openldap.sh";
    let mut child = Command::new("ldapmodify")
        .env("LDAPTLS_CACERT", env("MAKONIS_TEST_OPENLDAP_CA", script))
        .env("LDAPTLS_REQCERT", "demand")
        .args(["-a", "-x", "-H", &env("MAKONIS_TEST_OPENLDAP_LDAPS_URL", script)])
        .args(["-D", &env("MAKONIS_TEST_OPENLDAP_ADMIN_DN", script)])
        .args(["-w", &env("MAKONIS_TEST_OPENLDAP_ADMIN_PASSWORD", script)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ldapmodify (ldap-utils) runs");
    child.stdin.take().expect("stdin").write_all(ldif.as_bytes()).expect("the LDIF is written");
    let output = child.wait_with_output().expect("ldapmodify ends");
    assert!(output.status.success(), "ldapmodify failed: {}\n{ldif}", String::from_utf8_lossy(&output.stderr));
}
