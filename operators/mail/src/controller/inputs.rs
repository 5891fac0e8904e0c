//! The plan's inputs, read from the watch caches.

use kube::{Resource, ResourceExt, runtime::reflector::Store};
use makonis_api::{
    identity::{Directory, DirectoryGroup, DirectoryUser},
    mail::{MailAlias, MailDomain, Mailbox, MailingList},
    quantity::ParsedQuantity,
    tenancy::Agency,
};
use makonis_identity::controller::holding_directory;

use super::keys::DkimKeys;
use crate::plan::{
    AgencyInput, AliasInput, DomainInput, GroupInput, Inputs, Key, ListInput, MailboxInput, Seniority, UserInput,
};

/// The caches the plan reads.
#[derive(Clone)]
pub struct Stores {
    /// Every Agency.
    pub agencies: Store<Agency>,
    /// Every Directory.
    pub directories: Store<Directory>,
    /// Every DirectoryUser.
    pub users: Store<DirectoryUser>,
    /// Every DirectoryGroup.
    pub groups: Store<DirectoryGroup>,
    /// Every MailDomain.
    pub domains: Store<MailDomain>,
    /// Every Mailbox.
    pub mailboxes: Store<Mailbox>,
    /// Every MailAlias.
    pub aliases: Store<MailAlias>,
    /// Every MailingList.
    pub lists: Store<MailingList>,
}

/// Reads the plan's inputs; `directory` is the Directory the mail system reads.
pub fn read(stores: &Stores, directory: &str, keys: &DkimKeys) -> Inputs {
    let agencies = stores
        .agencies
        .state()
        .iter()
        .filter(|a| a.meta().deletion_timestamp.is_none())
        .map(|agency| AgencyInput {
            namespace: agency.namespace_name(),
            code: agency.spec.code.clone(),
            domains: agency.spec.domains.clone(),
            served: holding_directory(&stores.directories, agency).is_some_and(|d| d.name_any() == directory),
        })
        .collect();
    let domains = stores
        .domains
        .state()
        .iter()
        .filter(|d| d.meta().deletion_timestamp.is_none())
        .map(|domain| DomainInput {
            seniority: seniority(&**domain),
            domain: domain.spec.domain.clone(),
            dmarc: domain.spec.dmarc,
            external_forwarding: domain.spec.external_forwarding,
            dkim_public_key: keys.public_key(&domain.spec.domain),
        })
        .collect();
    let users = stores
        .users
        .state()
        .iter()
        .map(|user| UserInput {
            key: key(&**user),
            email: user.spec.email.clone(),
            active: user.spec.enabled
                && user.meta().deletion_timestamp.is_none()
                && user.status.as_ref().is_none_or(|s| s.leaving.is_none()),
            groups: user.spec.groups.clone(),
        })
        .collect();
    let groups = stores
        .groups
        .state()
        .iter()
        .map(|group| GroupInput {
            key: key(&**group),
            users: group.spec.members.iter().filter_map(|m| m.user.clone()).collect(),
            groups: group.spec.members.iter().filter_map(|m| m.group.clone()).collect(),
        })
        .collect();
    let mailboxes = stores
        .mailboxes
        .state()
        .iter()
        .filter(|m| m.meta().deletion_timestamp.is_none())
        .map(|mailbox| MailboxInput {
            seniority: seniority(&**mailbox),
            uid: mailbox.uid().unwrap_or_default(),
            user: mailbox.spec.user.clone(),
            quota_bytes: quota_bytes(&mailbox.spec.quota.0),
            aliases: mailbox.spec.aliases.clone(),
            forwarding: mailbox.spec.forwarding.as_ref().map(|f| (f.to.clone(), f.keep_copy)),
            shared_with: mailbox.spec.shared_with.iter().map(|d| (d.group.clone(), d.access)).collect(),
        })
        .collect();
    let aliases = stores
        .aliases
        .state()
        .iter()
        .filter(|a| a.meta().deletion_timestamp.is_none())
        .map(|alias| AliasInput {
            seniority: seniority(&**alias),
            address: alias.spec.address.clone(),
            to: alias.spec.to.clone(),
        })
        .collect();
    let lists = stores
        .lists
        .state()
        .iter()
        .filter(|l| l.meta().deletion_timestamp.is_none())
        .map(|list| ListInput {
            seniority: seniority(&**list),
            address: list.spec.address.clone(),
            group: list.spec.group.clone(),
        })
        .collect();
    Inputs { agencies, domains, users, groups, mailboxes, aliases, lists }
}

fn key<K: Resource>(object: &K) -> Key {
    Key::new(&object.namespace().unwrap_or_default(), &object.name_any())
}

fn seniority<K: Resource>(object: &K) -> Seniority {
    let created = object.meta().creation_timestamp.as_ref().map(|t| t.0.to_string()).unwrap_or_default();
    Seniority { created, key: key(object) }
}

/// A quota in whole bytes, at least 1 MiB.
fn quota_bytes(text: &str) -> Result<i64, String> {
    let parsed = ParsedQuantity::parse(text).map_err(|e| e.to_string())?;
    let bytes = parsed.milli_value().map(|milli| milli / 1000).unwrap_or(i128::MAX);
    match i64::try_from(bytes) {
        Ok(bytes) if bytes >= 1 << 20 => Ok(bytes),
        _ => Err(format!("quota {text} must be between 1Mi and 8Ei")),
    }
}
