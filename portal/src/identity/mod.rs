//! Who a user is: identities from the directory (LDAP / Active Directory) or from local
//! accounts, and the roles their groups give them.

pub mod access;
pub mod ldap;
pub mod login;
pub mod metrics;
pub mod password;
pub mod policy;
pub mod ratelimit;
pub mod recheck;
pub mod role_groups;

use serde::{Deserialize, Serialize};

/// Where an identity was established.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentitySource {
    /// A bind against the directory (LDAP or Active Directory).
    Directory,
    /// A local account of the portal (embedded default and break-glass admins).
    Local,
}

/// A signed-in user: who they are and the directory groups they belong to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The login name, e.g. `janis.berzins` (lower case).
    pub username: String,
    /// The name shown on pages, e.g. `Jānis Bērziņš`.
    pub display_name: String,
    /// E-mail address, when the directory has one.
    pub email: Option<String>,
    /// The groups the user is a member of: their distinguished names for a directory
    /// user (`CN=VDI-Requesters,OU=VDI,…`), the names its account lists for a local one.
    pub groups: Vec<String>,
    /// How the identity was established.
    pub source: IdentitySource,
}
