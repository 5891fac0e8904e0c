//! The mail plan: from the objects to what the mail system serves (domains, mailboxes,
//! the address routes) and what each object's status says. Pure.
//!
//! Every address has one owner. Claims are taken in order of seniority (the older object
//! first), whatever their kind, so a new object can never take an address that works
//! from an old one; the loser says who holds the address.

mod inputs;
mod verdict;

use std::collections::{BTreeMap, BTreeSet, HashMap};

pub use inputs::{
    AgencyInput, AliasInput, DomainInput, GroupInput, Inputs, Key, ListInput, MailboxInput, Seniority, UserInput,
};
use makonis_api::mail::{DmarcPolicy, ExternalForwarding, MailboxAccess};
pub use verdict::{Kind, Verdict};

use makonis_identity::plan::ownership::marker;

use crate::address::Address;

/// A domain the mail system receives mail for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedDomain {
    /// The domain.
    pub domain: String,
    /// The namespace of the agency that holds it.
    pub namespace: String,
    /// Its DMARC policy.
    pub dmarc: DmarcPolicy,
    /// Whether its addresses may forward out of the agency's domains.
    pub external_forwarding: ExternalForwarding,
    /// The DKIM public key (DER, base64), once generated.
    pub dkim_public_key: Option<String>,
}

/// Where a mailbox keeps its mail and how much, and whose account may use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMailbox {
    /// The Mailbox object's UID, which names its storage.
    pub uid: String,
    /// The marker (`adminDescription`) of the one directory account the mailbox belongs
    /// to: the identity controller writes it on the DirectoryUser's account, so no other
    /// entry with the same `mail` is taken for the owner.
    pub account_marker: String,
    /// The quota in bytes.
    pub quota_bytes: i64,
}

/// What the mail system serves, and every object's verdict.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Served domains, by name.
    pub domains: BTreeMap<String, ServedDomain>,
    /// Mailboxes, by address.
    pub mailboxes: BTreeMap<Address, StoredMailbox>,
    /// Addresses that deliver elsewhere (aliases, lists, forwarding), with their targets.
    pub routes: BTreeMap<Address, Vec<Address>>,
    /// Shared mailboxes, by address: who else opens each, and how.
    pub shares: BTreeMap<Address, BTreeMap<Address, MailboxAccess>>,
    /// Who may send as each address through submission: the sign-in names (mailbox
    /// addresses) Postfix takes it from as envelope sender. A mailbox's owner for its
    /// address and aliases, and those with full access to a shared mailbox for its address.
    pub senders: BTreeMap<Address, BTreeSet<Address>>,
    /// Each object's verdict.
    pub verdicts: BTreeMap<(Kind, Key), Verdict>,
}

/// An object that claims addresses, in seniority order.
enum Claimant<'a> {
    Mailbox(&'a MailboxInput),
    Alias(&'a AliasInput),
    List(&'a ListInput),
}

impl Claimant<'_> {
    fn seniority(&self) -> &Seniority {
        match self {
            Claimant::Mailbox(m) => &m.seniority,
            Claimant::Alias(a) => &a.seniority,
            Claimant::List(l) => &l.seniority,
        }
    }
}

/// Builds the plan.
pub fn plan(inputs: &Inputs) -> Plan {
    let mut plan = Plan::default();
    let agencies: HashMap<&str, &AgencyInput> = inputs.agencies.iter().map(|a| (a.namespace.as_str(), a)).collect();
    plan_domains(inputs, &agencies, &mut plan);

    let users: HashMap<(&str, &str), &UserInput> =
        inputs.users.iter().map(|u| ((u.key.namespace.as_str(), u.key.name.as_str()), u)).collect();
    let mut claimants: Vec<Claimant> = inputs
        .mailboxes
        .iter()
        .map(Claimant::Mailbox)
        .chain(inputs.aliases.iter().map(Claimant::Alias))
        .chain(inputs.lists.iter().map(Claimant::List))
        .collect();
    claimants.sort_by(|a, b| a.seniority().cmp(b.seniority()));

    // First pass: who owns which address.
    let mut owners: BTreeMap<Address, (Kind, Key)> = BTreeMap::new();
    let mut mailbox_of_user: HashMap<(String, String), Address> = HashMap::new();
    let mut claims = Claims { plan: &mut plan, owners: &mut owners };
    for claimant in &claimants {
        match claimant {
            Claimant::Mailbox(mailbox) => {
                if let Some(address) = claims.mailbox(mailbox, &users) {
                    mailbox_of_user.insert((mailbox.seniority.key.namespace.clone(), mailbox.user.clone()), address);
                }
            }
            Claimant::Alias(alias) => claims.single(Kind::Alias, &alias.seniority.key, &alias.address),
            Claimant::List(list) => claims.single(Kind::List, &list.seniority.key, &list.address),
        }
    }

    // Second pass: where each owned address delivers.
    for claimant in &claimants {
        match claimant {
            Claimant::Mailbox(mailbox) => route_mailbox(&mut plan, mailbox, &users, &owners),
            Claimant::Alias(alias) => route_alias(&mut plan, alias, &owners),
            Claimant::List(list) => route_list(&mut plan, list, inputs, &mailbox_of_user, &users),
        }
    }
    for mailbox in &inputs.mailboxes {
        share_mailbox(&mut plan, mailbox, inputs, &mailbox_of_user, &users);
    }
    let mut per_domain: BTreeMap<String, u32> = BTreeMap::new();
    for address in plan.mailboxes.keys() {
        *per_domain.entry(address.domain().to_owned()).or_default() += 1;
    }
    for domain in &inputs.domains {
        if let Some(verdict) = plan.verdicts.get_mut(&(Kind::Domain, domain.seniority.key.clone())) {
            let served =
                plan.domains.get(&domain.domain).is_some_and(|d| d.namespace == domain.seniority.key.namespace);
            verdict.count = if served { per_domain.get(&domain.domain).copied().unwrap_or(0) } else { 0 };
        }
    }
    plan
}

fn plan_domains(inputs: &Inputs, agencies: &HashMap<&str, &AgencyInput>, plan: &mut Plan) {
    let mut domains: Vec<&DomainInput> = inputs.domains.iter().collect();
    domains.sort_by(|a, b| a.seniority.cmp(&b.seniority));
    for domain in domains {
        let key = domain.seniority.key.clone();
        let verdict = match agencies.get(key.namespace.as_str()) {
            None => Verdict::refused(
                "AgencyNotFound",
                format!(
                    "namespace {} belongs to no Agency: mail domains are declared in an agency's namespace",
                    key.namespace
                ),
            ),
            Some(agency) if !agency.domains.contains(&domain.domain) => Verdict::refused(
                "DomainNotHeld",
                format!(
                    "{} is not among the domains of Agency {} (spec.domains): platform administrators add it there once they have checked that the agency holds it",
                    domain.domain, agency.code
                ),
            ),
            Some(agency) if !agency.served => Verdict::refused(
                "DirectoryNotServed",
                format!(
                    "Agency {}'s organisational unit is not in the directory this mail system reads, so its people cannot have mailboxes here",
                    agency.code
                ),
            ),
            Some(_) => match plan.domains.get(&domain.domain) {
                Some(holder) => Verdict::refused(
                    "DomainTaken",
                    format!("{} is already served for namespace {}", domain.domain, holder.namespace),
                ),
                None => {
                    plan.domains.insert(
                        domain.domain.clone(),
                        ServedDomain {
                            domain: domain.domain.clone(),
                            namespace: key.namespace.clone(),
                            dmarc: domain.dmarc,
                            external_forwarding: domain.external_forwarding,
                            dkim_public_key: domain.dkim_public_key.clone(),
                        },
                    );
                    match domain.dkim_public_key {
                        Some(_) => Verdict::ready("Serving", format!("mail for {} is received", domain.domain)),
                        None => Verdict::refused(
                            "KeyPending",
                            format!("mail for {} is received; its DKIM key is being generated", domain.domain),
                        ),
                    }
                }
            },
        };
        plan.verdicts.insert((Kind::Domain, key), verdict);
    }
}

/// Why a claim was refused: a reason for the `Ready` condition and what it means.
struct Refusal(&'static str, String);

/// The first pass: addresses claimed in seniority order.
struct Claims<'p> {
    plan: &'p mut Plan,
    owners: &'p mut BTreeMap<Address, (Kind, Key)>,
}

impl Claims<'_> {
    /// Checks that `text` is an address in a domain the namespace's agency is served for.
    fn own_address(&self, namespace: &str, text: &str) -> Result<Address, Refusal> {
        let address = Address::parse(text).map_err(|e| Refusal("InvalidAddress", e.0))?;
        match self.plan.domains.get(address.domain()) {
            Some(domain) if domain.namespace == namespace => Ok(address),
            _ => Err(Refusal(
                "DomainNotReady",
                format!("{address}: {} is not a ready MailDomain in this namespace", address.domain()),
            )),
        }
    }

    /// Takes `address` for `owner`, or says who has it.
    fn take(&mut self, address: &Address, owner: (Kind, Key)) -> Result<(), Refusal> {
        match self.owners.get(address) {
            Some((kind, key)) if (kind, key) != (&owner.0, &owner.1) => {
                Err(Refusal("AddressTaken", format!("{address} already belongs to {} {key}", kind.name())))
            }
            _ => {
                self.owners.insert(address.clone(), owner);
                Ok(())
            }
        }
    }

    /// A mailbox claims its user's address; returns it when the mailbox holds it.
    fn mailbox(&mut self, mailbox: &MailboxInput, users: &HashMap<(&str, &str), &UserInput>) -> Option<Address> {
        let key = mailbox.seniority.key.clone();
        let result = (|| {
            let user = users.get(&(key.namespace.as_str(), mailbox.user.as_str())).ok_or_else(|| {
                Refusal("UserNotFound", format!("DirectoryUser {} does not exist in this namespace", mailbox.user))
            })?;
            let email = user.email.as_deref().ok_or_else(|| {
                Refusal(
                    "NoAddress",
                    format!("DirectoryUser {} has no email: the mailbox's address is the user's email", mailbox.user),
                )
            })?;
            let address = self.own_address(&key.namespace, email)?;
            let quota_bytes = mailbox.quota_bytes.clone().map_err(|e| Refusal("InvalidQuota", e))?;
            self.take(&address, (Kind::Mailbox, key.clone()))?;
            self.plan.mailboxes.insert(
                address.clone(),
                StoredMailbox {
                    uid: mailbox.uid.clone(),
                    account_marker: marker("DirectoryUser", &key.namespace, &mailbox.user),
                    quota_bytes,
                },
            );
            let verdict = match user.active {
                true => Verdict::ready("Delivering", format!("mail to {address} is delivered")),
                false => Verdict::refused(
                    "AccountDisabled",
                    format!(
                        "the account of DirectoryUser {} is disabled: mail to {address} is refused until it is enabled",
                        mailbox.user
                    ),
                ),
            };
            Ok((address, quota_bytes, verdict))
        })();
        let (address, verdict) = match result {
            Ok((address, quota_bytes, mut verdict)) => {
                verdict.address = Some(address.to_string());
                verdict.quota_bytes = Some(quota_bytes);
                (Some(address), verdict)
            }
            Err(Refusal(reason, message)) => (None, Verdict::refused(reason, message)),
        };
        let mut verdict = verdict;
        if let Some(primary) = &address {
            for alias in &mailbox.aliases {
                let taken = self.own_address(&key.namespace, alias).and_then(|a| {
                    self.take(&a, (Kind::Mailbox, key.clone()))?;
                    Ok(a)
                });
                match taken {
                    Ok(alias) if alias != *primary => verdict.aliases.push(alias.to_string()),
                    Ok(_) => {}
                    Err(Refusal(_, why)) => verdict.refused_routes.push(why),
                }
            }
        }
        self.plan.verdicts.insert((Kind::Mailbox, key), verdict);
        address
    }

    /// An alias or a list claims its address.
    fn single(&mut self, kind: Kind, key: &Key, text: &str) {
        let verdict = match self.own_address(&key.namespace, text).and_then(|a| self.take(&a, (kind, key.clone()))) {
            Ok(()) => Verdict::ready("Delivering", String::new()),
            Err(Refusal(reason, message)) => Verdict::refused(reason, message),
        };
        self.plan.verdicts.insert((kind, key.clone()), verdict);
    }
}

/// Whether `target` may receive mail routed from `from`: inside the agency's own served
/// domains always (when something there holds it), outside only where the domain allows.
fn target_allowed(
    plan: &Plan,
    owners: &BTreeMap<Address, (Kind, Key)>,
    namespace: &str,
    from: &Address,
    target: &str,
) -> Result<Address, String> {
    let target = Address::parse(target).map_err(|e| e.0)?;
    match plan.domains.get(target.domain()) {
        Some(domain) if domain.namespace == namespace => match owners.contains_key(&target) {
            true => Ok(target),
            false => Err(format!("{target}: no mailbox, alias or list has this address")),
        },
        _ => {
            let policy = external_forwarding(plan, from);
            match policy {
                ExternalForwarding::Allow => Ok(target),
                ExternalForwarding::Deny => Err(format!(
                    "{target} is outside the agency's mail domains, and {}'s MailDomain does not allow external forwarding",
                    from.domain()
                )),
            }
        }
    }
}

fn external_forwarding(plan: &Plan, from: &Address) -> ExternalForwarding {
    plan.domains.get(from.domain()).map_or(ExternalForwarding::Deny, |d| d.external_forwarding)
}

fn route_mailbox(
    plan: &mut Plan,
    mailbox: &MailboxInput,
    users: &HashMap<(&str, &str), &UserInput>,
    owners: &BTreeMap<Address, (Kind, Key)>,
) {
    let key = (Kind::Mailbox, mailbox.seniority.key.clone());
    let Some(primary) = plan.verdicts.get(&key).and_then(|v| v.address.clone()) else { return };
    let primary = Address::parse(&primary).expect("the plan stores checked addresses");
    let active = users.get(&(key.1.namespace.as_str(), mailbox.user.as_str())).is_some_and(|u| u.active);
    let mut refused = Vec::new();
    if active {
        plan.senders.entry(primary.clone()).or_default().insert(primary.clone());
        for alias in &mailbox.aliases {
            if let Ok(alias) = Address::parse(alias)
                && owners.get(&alias) == Some(&key)
                && alias != primary
            {
                plan.routes.insert(alias.clone(), vec![primary.clone()]);
                plan.senders.entry(alias).or_default().insert(primary.clone());
            }
        }
        if let Some((to, keep_copy)) = &mailbox.forwarding {
            let mut targets: Vec<Address> = if *keep_copy { vec![primary.clone()] } else { Vec::new() };
            for target in to {
                match target_allowed(plan, owners, &key.1.namespace, &primary, target) {
                    Ok(target) if !targets.contains(&target) => targets.push(target),
                    Ok(_) => {}
                    Err(why) => refused.push(why),
                }
            }
            if targets.iter().any(|t| *t != primary) {
                plan.routes.insert(primary.clone(), targets);
            }
        }
    }
    if let Some(verdict) = plan.verdicts.get_mut(&key) {
        verdict.refused_routes.extend(refused);
    }
}

fn route_alias(plan: &mut Plan, alias: &AliasInput, owners: &BTreeMap<Address, (Kind, Key)>) {
    let key = (Kind::Alias, alias.seniority.key.clone());
    if !plan.verdicts.get(&key).is_some_and(|v| v.ready) {
        return;
    }
    let address = Address::parse(&alias.address).expect("a ready alias has a checked address");
    let mut targets = Vec::new();
    let mut refused = Vec::new();
    for target in &alias.to {
        match target_allowed(plan, owners, &key.1.namespace, &address, target) {
            Ok(target) if target == address => refused.push(format!("{target}: an alias cannot deliver to itself")),
            Ok(target) if !targets.contains(&target) => targets.push(target),
            Ok(_) => {}
            Err(why) => refused.push(why),
        }
    }
    let verdict = match refused.is_empty() {
        true => {
            let count = targets.len() as u32;
            plan.routes.insert(address.clone(), targets);
            let mut verdict =
                Verdict::ready("Delivering", format!("mail to {address} is delivered to {count} address(es)"));
            verdict.count = count;
            verdict
        }
        false => Verdict::refused("TargetRefused", refused.join("; ")),
    };
    plan.verdicts.insert(key, verdict);
}

fn route_list(
    plan: &mut Plan,
    list: &ListInput,
    inputs: &Inputs,
    mailbox_of_user: &HashMap<(String, String), Address>,
    users: &HashMap<(&str, &str), &UserInput>,
) {
    let key = (Kind::List, list.seniority.key.clone());
    if !plan.verdicts.get(&key).is_some_and(|v| v.ready) {
        return;
    }
    let namespace = key.1.namespace.as_str();
    let address = Address::parse(&list.address).expect("a ready list has a checked address");
    let verdict = match members(inputs, namespace, &list.group) {
        None => {
            Verdict::refused("GroupNotFound", format!("DirectoryGroup {} does not exist in this namespace", list.group))
        }
        Some(members) => {
            let recipients: Vec<Address> = member_mailboxes(plan, namespace, &members, mailbox_of_user, users)
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            match recipients.len() as u32 {
                0 => Verdict::refused(
                    "NoRecipients",
                    format!(
                        "no enabled member of DirectoryGroup {} has a mailbox: mail to {address} is refused",
                        list.group
                    ),
                ),
                count => {
                    plan.routes.insert(address.clone(), recipients);
                    let mut verdict =
                        Verdict::ready("Delivering", format!("mail to {address} reaches {count} mailbox(es)"));
                    verdict.count = count;
                    verdict
                }
            }
        }
    };
    plan.verdicts.insert(key, verdict);
}

/// Who opens a shared mailbox besides its owner: the enabled members of its groups who
/// have a mailbox of their own in the plan, each with the most any of their groups gives.
/// Members come from this namespace's groups only, so a mailbox is never shared with
/// another agency.
fn share_mailbox(
    plan: &mut Plan,
    mailbox: &MailboxInput,
    inputs: &Inputs,
    mailbox_of_user: &HashMap<(String, String), Address>,
    users: &HashMap<(&str, &str), &UserInput>,
) {
    let key = (Kind::Mailbox, mailbox.seniority.key.clone());
    let namespace = key.1.namespace.as_str();
    let Some(owner) = plan.verdicts.get(&key).and_then(|v| v.address.as_deref()).and_then(|a| Address::parse(a).ok())
    else {
        return;
    };
    let mut delegates: BTreeMap<Address, MailboxAccess> = BTreeMap::new();
    let mut missing = Vec::new();
    for (group, access) in &mailbox.shared_with {
        let Some(members) = members(inputs, namespace, group) else {
            missing.push(group.clone());
            continue;
        };
        for address in member_mailboxes(plan, namespace, &members, mailbox_of_user, users) {
            if *address != owner {
                let held = delegates.entry(address.clone()).or_insert(*access);
                *held = (*held).max(*access);
            }
        }
    }
    // Full access includes sending as the shared mailbox, while its owner may send at all.
    if let Some(senders) = plan.senders.get_mut(&owner) {
        senders.extend(delegates.iter().filter(|(_, a)| **a == MailboxAccess::Full).map(|(d, _)| d.clone()));
    }
    if !delegates.is_empty() {
        plan.shares.insert(owner, delegates);
    }
    if let Some(verdict) = plan.verdicts.get_mut(&key) {
        verdict.missing_groups = missing;
    }
}

/// The mailboxes of the enabled users among `members` (object names in `namespace`).
fn member_mailboxes<'a>(
    plan: &'a Plan,
    namespace: &'a str,
    members: &'a BTreeSet<String>,
    mailbox_of_user: &'a HashMap<(String, String), Address>,
    users: &'a HashMap<(&str, &str), &UserInput>,
) -> impl Iterator<Item = &'a Address> + 'a {
    members
        .iter()
        .filter(move |user| users.get(&(namespace, user.as_str())).is_some_and(|u| u.active))
        .filter_map(move |user| mailbox_of_user.get(&(namespace.to_owned(), user.clone())))
        .filter(move |address| plan.mailboxes.contains_key(*address))
}

/// The users (object names) a group holds, through nested groups; `None` when the group
/// does not exist.
fn members(inputs: &Inputs, namespace: &str, group: &str) -> Option<BTreeSet<String>> {
    let groups: HashMap<&str, &GroupInput> =
        inputs.groups.iter().filter(|g| g.key.namespace == namespace).map(|g| (g.key.name.as_str(), g)).collect();
    groups.get(group)?;
    let mut seen = BTreeSet::new();
    let mut pending = vec![group.to_owned()];
    let mut users = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(found) = groups.get(name.as_str()) {
            users.extend(found.users.iter().cloned());
            pending.extend(found.groups.iter().cloned());
        }
        users.extend(
            inputs
                .users
                .iter()
                .filter(|u| u.key.namespace == namespace && u.groups.contains(&name))
                .map(|u| u.key.name.clone()),
        );
    }
    Some(users)
}

#[cfg(test)]
mod tests;
