//! API group `mail.makonis.lv`: one mail system for every agency, as code.
//!
//! In an agency's namespace, a [`MailDomain`] is one of the agency's DNS domains (it must
//! be listed in the Agency's `spec.domains`, which platform administrators set) that the
//! platform receives mail for: its DKIM key is generated and the DNS records to publish
//! are shown in its status. A [`Mailbox`] gives a `DirectoryUser` a mailbox at the
//! address in its `email` (quota, aliases, forwarding). A [`MailAlias`] is an extra
//! address delivered to mailboxes or lists of the same agency, and a [`MailingList`] is an
//! address that reaches every member of a `DirectoryGroup`; a Mailbox `sharedWith` groups is a
//! shared mailbox their members open as themselves. A [`MailboxMigration`] copies
//! an agency's mailboxes from its old IMAP server.
//!
//! Postfix and Dovecot read the directory (a recipient must be an enabled account whose
//! `mail` is the address; Dovecot signs people in by binding as them) and the mail
//! operator renders the rest of their configuration from these objects.

mod alias;
mod domain;
mod list;
mod mailbox;
mod migration;
mod shared;

pub use alias::{MailAlias, MailAliasSpec, MailAliasStatus};
pub use domain::{DmarcPolicy, DnsRecord, ExternalForwarding, MailDomain, MailDomainSpec, MailDomainStatus};
pub use list::{MailingList, MailingListSpec, MailingListStatus};
pub use mailbox::{Delegation, Forwarding, Mailbox, MailboxAccess, MailboxDelegate, MailboxSpec, MailboxStatus};
pub use migration::{
    CopyState, MailboxMigration, MailboxMigrationSpec, MailboxMigrationStatus, MailboxProgress, MigratedMailbox,
};
pub use shared::{ADDRESS_PATTERN, LOCAL_PART_PATTERN};
