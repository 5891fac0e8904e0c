//! What the plan is made from: the objects, reduced to the fields that matter, free of
//! Kubernetes types so that the plan is a pure function with plain tests.

use makonis_api::mail::{DmarcPolicy, ExternalForwarding, MailboxAccess};

/// A namespaced object: its namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

impl Key {
    /// The key of `namespace/name`.
    pub fn new(namespace: &str, name: &str) -> Self {
        Self { namespace: namespace.into(), name: name.into() }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Which of two claims came first: the older creation time, then the key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seniority {
    /// The creation time (RFC 3339, UTC: sorts as text).
    pub created: String,
    /// The object's key, for claims made in the same second.
    pub key: Key,
}

/// An agency, by the namespace it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyInput {
    /// The agency's namespace.
    pub namespace: String,
    /// Its code.
    pub code: String,
    /// The domains platform administrators confirmed it holds.
    pub domains: Vec<String>,
    /// Whether its organisational unit is in the directory this mail system reads.
    pub served: bool,
}

/// A `MailDomain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainInput {
    /// Who claimed it when.
    pub seniority: Seniority,
    /// The domain.
    pub domain: String,
    /// The DMARC policy to publish.
    pub dmarc: DmarcPolicy,
    /// Whether forwarding out of the agency's domains is allowed.
    pub external_forwarding: ExternalForwarding,
    /// The DKIM public key (DER, base64), once generated.
    pub dkim_public_key: Option<String>,
}

/// A `DirectoryUser`, as far as mail cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    /// The object.
    pub key: Key,
    /// Its `email`.
    pub email: Option<String>,
    /// Whether the account is enabled and not leaving.
    pub active: bool,
    /// The `DirectoryGroup`s (object names) it names.
    pub groups: Vec<String>,
}

/// A `DirectoryGroup`, as far as mail cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInput {
    /// The object.
    pub key: Key,
    /// Users listed as members (object names).
    pub users: Vec<String>,
    /// Groups listed as members (object names).
    pub groups: Vec<String>,
}

/// A `Mailbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInput {
    /// Who claimed it when.
    pub seniority: Seniority,
    /// The object's UID: names its storage, which no tenant-written value does.
    pub uid: String,
    /// The user (object name).
    pub user: String,
    /// The quota in bytes, or why it is not one.
    pub quota_bytes: Result<i64, String>,
    /// Extra addresses.
    pub aliases: Vec<String>,
    /// Forwarding addresses and whether a copy stays.
    pub forwarding: Option<(Vec<String>, bool)>,
    /// The groups (object names) that open it, and how.
    pub shared_with: Vec<(String, MailboxAccess)>,
}

/// A `MailAlias`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasInput {
    /// Who claimed it when.
    pub seniority: Seniority,
    /// Its address.
    pub address: String,
    /// Where its mail goes.
    pub to: Vec<String>,
}

/// A `MailingList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInput {
    /// Who claimed it when.
    pub seniority: Seniority,
    /// Its address.
    pub address: String,
    /// The group (object name).
    pub group: String,
}

/// Everything the plan reads.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Agencies.
    pub agencies: Vec<AgencyInput>,
    /// Mail domains.
    pub domains: Vec<DomainInput>,
    /// Directory users.
    pub users: Vec<UserInput>,
    /// Directory groups.
    pub groups: Vec<GroupInput>,
    /// Mailboxes.
    pub mailboxes: Vec<MailboxInput>,
    /// Aliases.
    pub aliases: Vec<AliasInput>,
    /// Lists.
    pub lists: Vec<ListInput>,
}
