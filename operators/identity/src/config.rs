//! Settings of the identity controllers that do not come from an object.

use std::time::Duration;

/// Where the platform runs and how patient the controllers are with the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    /// The platform's namespace, which holds every Directory's CA and bind Secrets.
    pub platform_namespace: String,
    /// The longest one LDAP request may take.
    pub ldap_timeout: Duration,
    /// How often a healthy object is compared with the directory when nothing changed
    /// (finds direct changes in AD).
    pub resync: Duration,
    /// When set, only Agencies and Directories whose labels match are managed, and objects
    /// in other agencies' namespaces are left alone (to split the work between instances).
    pub selector: Option<String>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            platform_namespace: "makonis-system".into(),
            ldap_timeout: Duration::from_secs(10),
            resync: Duration::from_secs(300),
            selector: None,
        }
    }
}
