//! What the plan says about one object: the status the controller writes.

/// The mail kinds the plan judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A `MailDomain`.
    Domain,
    /// A `Mailbox`.
    Mailbox,
    /// A `MailAlias`.
    Alias,
    /// A `MailingList`.
    List,
}

impl Kind {
    /// The kind's name, as messages use it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Domain => "MailDomain",
            Kind::Mailbox => "Mailbox",
            Kind::Alias => "MailAlias",
            Kind::List => "MailingList",
        }
    }
}

/// One object's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether the object works as declared (its `Ready` condition).
    pub ready: bool,
    /// The condition's reason.
    pub reason: &'static str,
    /// What it means, and what to do when it is not ready.
    pub message: String,
    /// A mailbox's address.
    pub address: Option<String>,
    /// A mailbox's quota in bytes.
    pub quota_bytes: Option<i64>,
    /// A domain's mailboxes, a list's recipients, an alias's targets.
    pub count: u32,
    /// A mailbox's aliases that it holds.
    pub aliases: Vec<String>,
    /// A mailbox's aliases and forwarding targets that were refused, and why.
    pub refused_routes: Vec<String>,
    /// A shared mailbox's groups that do not exist.
    pub missing_groups: Vec<String>,
}

impl Verdict {
    /// A ready verdict.
    pub fn ready(reason: &'static str, message: String) -> Self {
        Self {
            ready: true,
            reason,
            message,
            address: None,
            quota_bytes: None,
            count: 0,
            aliases: Vec::new(),
            refused_routes: Vec::new(),
            missing_groups: Vec::new(),
        }
    }

    /// A refusal.
    pub fn refused(reason: &'static str, message: String) -> Self {
        Self { ready: false, ..Self::ready(reason, message) }
    }
}
