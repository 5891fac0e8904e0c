//! Shared mailboxes, the pure parts: the IMAP rights (RFC 4314, as Dovecot's ACL plugin
//! names them) each access gives, reading `doveadm acl get`, and the changes that make a
//! folder's access list what the plan says.
//!
//! The platform owns every entry of a shared mailbox's access lists but the owner's own:
//! an identifier it did not declare (`anyone`, `authenticated`, a group, another user) is
//! removed, so nobody widens a mailbox's audience past its `sharedWith`.

use std::collections::{BTreeMap, BTreeSet};

use makonis_api::mail::{MailboxAccess, MailboxDelegate};
use makonis_operator_kit::conditions::DesiredCondition;

use crate::address::Address;

/// The Dovecot rights of `access`.
pub fn rights(access: MailboxAccess) -> &'static [&'static str] {
    match access {
        MailboxAccess::Read => &["lookup", "read"],
        MailboxAccess::Full => {
            &["lookup", "read", "write", "write-seen", "write-deleted", "insert", "post", "expunge", "create"]
        }
    }
}

/// Where other people's shared mailboxes appear in a person's folder list (Dovecot's
/// shared namespace prefix, followed by the owner's address).
pub const SHARED_PREFIX: &str = "Shared/";

/// The identifier Dovecot knows a delegate by (they sign in with their address).
pub fn identifier(address: &str) -> String {
    format!("user={address}")
}

/// One folder's access list, as `doveadm -f tab acl get` prints it: identifier → rights.
pub fn parse_acl(text: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    match lines.next() {
        Some(header) if header.split('\t').next() == Some("ID") => {}
        Some(other) => return Err(format!("doveadm acl get printed {other:?} where its header belongs")),
        None => return Ok(BTreeMap::new()),
    }
    let mut entries = BTreeMap::new();
    for line in lines {
        let mut fields = line.split('\t');
        let (Some(id), Some(global), Some(rights)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(format!("doveadm acl get printed {line:?}, not ID, Global and Rights"));
        };
        // Global entries come from the server's configuration, not from the folder.
        if !global.is_empty() {
            continue;
        }
        entries.insert(id.to_owned(), rights.split_whitespace().map(str::to_owned).collect());
    }
    Ok(entries)
}

/// A change to one folder's access list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AclChange {
    /// Give `id` exactly `rights`.
    Set {
        /// The identifier (`user=<address>`).
        id: String,
        /// The rights.
        rights: Vec<&'static str>,
    },
    /// Take every right from `id`.
    Delete {
        /// The identifier.
        id: String,
    },
}

/// The changes that turn the folder's `current` access list into one where exactly the
/// `delegates` have their access; the owner's entry is left alone.
pub fn acl_changes(
    current: &BTreeMap<String, BTreeSet<String>>,
    delegates: &BTreeMap<String, MailboxAccess>,
) -> Vec<AclChange> {
    let wanted: BTreeMap<String, &'static [&'static str]> =
        delegates.iter().map(|(address, access)| (identifier(address), rights(*access))).collect();
    let mut changes: Vec<AclChange> = current
        .keys()
        .filter(|id| id.as_str() != "owner" && !wanted.contains_key(*id))
        .map(|id| AclChange::Delete { id: id.clone() })
        .collect();
    for (id, rights) in wanted {
        let same = current
            .get(&id)
            .is_some_and(|have| have.len() == rights.len() && rights.iter().all(|right| have.contains(*right)));
        if !same {
            changes.push(AclChange::Set { id, rights: rights.to_vec() });
        }
    }
    changes
}

/// The owner's own folders among those `doveadm mailbox list` printed, one per line: the
/// ones under [`SHARED_PREFIX`] are other people's mailboxes shared with the owner, whose
/// lists are their owners' business.
pub fn parse_folders(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && *line != SHARED_PREFIX.trim_end_matches('/'))
        .filter(|line| !line.starts_with(SHARED_PREFIX))
        .map(str::to_owned)
        .collect()
}

/// What a mailbox's status says about its sharing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStatus {
    /// The `Shared` condition, when there is anything to say.
    pub condition: Option<DesiredCondition>,
    /// The delegates the status names.
    pub delegates: Vec<MailboxDelegate>,
}

/// What one mailbox's sharing looks like after a pass.
pub struct SharingFacts<'a> {
    /// The mailbox's address, when the plan serves it.
    pub address: Option<&'a Address>,
    /// Whether `spec.sharedWith` names any group.
    pub declared: bool,
    /// Whether the status has a `Shared` condition already.
    pub had_condition: bool,
    /// The groups of `spec.sharedWith` that do not exist.
    pub missing_groups: &'a [String],
    /// Who the plan lets open it.
    pub planned: Option<&'a BTreeMap<Address, MailboxAccess>>,
    /// How applying its access lists went, when they were applied.
    pub outcome: Option<&'a Result<usize, String>>,
    /// The delegates the status named before.
    pub current: &'a [MailboxDelegate],
}

/// The `Shared` condition and the delegates of a mailbox. The delegates are those applied
/// on the server; when the lists were not applied, the ones the status named stay, so that
/// their access is taken back once the lists can be changed again.
pub fn shared_status(facts: &SharingFacts) -> SharedStatus {
    let delegates = match (facts.outcome, facts.planned) {
        (Some(Ok(_)), Some(planned)) => planned
            .iter()
            .map(|(address, access)| MailboxDelegate { address: address.to_string(), access: *access })
            .collect(),
        (Some(Ok(_)), None) => Vec::new(),
        _ => facts.current.to_vec(),
    };
    let condition = match (facts.address, facts.outcome) {
        (None, _) => None,
        (Some(_), Some(Err(error))) => Some(DesiredCondition::falsy(
            "Shared",
            "NotApplied",
            format!("the mail server's access lists could not be changed: {error}"),
        )),
        (Some(_), _) if !facts.missing_groups.is_empty() => Some(DesiredCondition::falsy(
            "Shared",
            "GroupNotFound",
            format!(
                "no DirectoryGroup {} in this namespace; the other groups' members open the mailbox",
                facts.missing_groups.join(", ")
            ),
        )),
        (Some(address), _) if !delegates.is_empty() => Some(DesiredCondition::truthy(
            "Shared",
            "Applied",
            format!("{} people open the mailbox as Shared/{address}/ in their mail program", delegates.len()),
        )),
        (Some(_), _) if facts.declared => Some(DesiredCondition::falsy(
            "Shared",
            "NoDelegates",
            "no enabled member of the groups has a mailbox of their own, so only the owner opens it",
        )),
        (Some(_), _) if facts.had_condition => {
            Some(DesiredCondition::truthy("Shared", "NotShared", "only the owner opens the mailbox"))
        }
        (Some(_), _) => None,
    };
    SharedStatus { condition, delegates }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRINTED: &str = "ID\tGlobal\tRights\nowner\t\tlookup read write write-seen write-deleted insert post expunge create delete admin\nuser=anna@vsaa.gov.lv\t\tlookup read\nanyone\t\tlookup\nauthenticated\tglobal\tlookup\n";

    fn delegates(entries: &[(&str, MailboxAccess)]) -> BTreeMap<String, MailboxAccess> {
        entries.iter().map(|(a, access)| (a.to_string(), *access)).collect()
    }

    #[test]
    fn the_printed_list_is_read_without_the_servers_global_entries() {
        let acl = parse_acl(PRINTED).unwrap();
        assert_eq!(acl.keys().collect::<Vec<_>>(), ["anyone", "owner", "user=anna@vsaa.gov.lv"]);
        assert_eq!(acl["user=anna@vsaa.gov.lv"], BTreeSet::from(["lookup".to_owned(), "read".to_owned()]));
        assert!(parse_acl("").unwrap().is_empty());
        assert!(parse_acl("Error: no such user\n").is_err(), "anything but the table is an error");
        assert!(parse_acl("ID\tGlobal\tRights\nuser=x\n").is_err());
    }

    #[test]
    fn an_entry_already_as_declared_is_not_written_again() {
        let acl = parse_acl(PRINTED).unwrap();
        let changes = acl_changes(&acl, &delegates(&[("anna@vsaa.gov.lv", MailboxAccess::Read)]));
        assert_eq!(changes, vec![AclChange::Delete { id: "anyone".into() }], "only the undeclared entry goes");
    }

    #[test]
    fn access_is_widened_narrowed_and_taken_as_declared() {
        let acl = parse_acl(PRINTED).unwrap();
        let changes = acl_changes(
            &acl,
            &delegates(&[("anna@vsaa.gov.lv", MailboxAccess::Full), ("janis@vsaa.gov.lv", MailboxAccess::Read)]),
        );
        assert_eq!(
            changes,
            vec![
                AclChange::Delete { id: "anyone".into() },
                AclChange::Set { id: "user=anna@vsaa.gov.lv".into(), rights: rights(MailboxAccess::Full).to_vec() },
                AclChange::Set { id: "user=janis@vsaa.gov.lv".into(), rights: vec!["lookup", "read"] },
            ]
        );
        let none = acl_changes(&acl, &BTreeMap::new());
        assert_eq!(
            none,
            vec![AclChange::Delete { id: "anyone".into() }, AclChange::Delete { id: "user=anna@vsaa.gov.lv".into() }],
            "without delegates only the owner keeps access"
        );
    }

    #[test]
    fn read_access_cannot_change_anything() {
        for right in ["write", "write-seen", "write-deleted", "insert", "post", "expunge", "create", "delete", "admin"]
        {
            assert!(!rights(MailboxAccess::Read).contains(&right), "{right}");
        }
        for right in ["delete", "admin"] {
            assert!(!rights(MailboxAccess::Full).contains(&right), "full access does not include {right}");
        }
    }

    fn facts<'a>(
        address: &'a Address,
        planned: Option<&'a BTreeMap<Address, MailboxAccess>>,
        outcome: Option<&'a Result<usize, String>>,
        current: &'a [MailboxDelegate],
    ) -> SharingFacts<'a> {
        SharingFacts {
            address: Some(address),
            declared: planned.is_some(),
            had_condition: false,
            missing_groups: &[],
            planned,
            outcome,
            current,
        }
    }

    #[test]
    fn the_status_names_the_delegates_once_the_server_has_them() {
        let owner = Address::parse("info@vsaa.gov.lv").unwrap();
        let planned = BTreeMap::from([(Address::parse("anna@vsaa.gov.lv").unwrap(), MailboxAccess::Full)]);
        let applied = facts(&owner, Some(&planned), Some(&Ok(1)), &[]);
        let status = shared_status(&applied);
        assert_eq!(
            status.delegates,
            [MailboxDelegate { address: "anna@vsaa.gov.lv".into(), access: MailboxAccess::Full }]
        );
        let condition = status.condition.unwrap();
        assert!(condition.status && condition.reason == "Applied", "{condition:?}");
        assert!(condition.message.contains("Shared/info@vsaa.gov.lv/"), "{}", condition.message);

        // Not applied: the old delegates stay named, so their access is taken back later.
        let before = [MailboxDelegate { address: "janis@vsaa.gov.lv".into(), access: MailboxAccess::Read }];
        let failed = Err("Permission denied".to_owned());
        let status = shared_status(&facts(&owner, Some(&planned), Some(&failed), &before));
        assert_eq!(status.delegates, before);
        let condition = status.condition.unwrap();
        assert!(
            !condition.status && condition.reason == "NotApplied" && condition.message.contains("Permission denied")
        );
    }

    #[test]
    fn unsharing_and_missing_groups_are_said() {
        let owner = Address::parse("info@vsaa.gov.lv").unwrap();
        let mut unshared = facts(&owner, None, Some(&Ok(2)), &[]);
        unshared.had_condition = true;
        let status = shared_status(&unshared);
        assert!(status.delegates.is_empty());
        assert_eq!(status.condition.unwrap().reason, "NotShared");

        let mut never = facts(&owner, None, None, &[]);
        assert_eq!(shared_status(&never).condition, None, "a mailbox never shared says nothing about it");
        never.declared = true;
        assert_eq!(shared_status(&never).condition.unwrap().reason, "NoDelegates");
        let missing = ["nope".to_owned()];
        never.missing_groups = &missing;
        let condition = shared_status(&never).condition.unwrap();
        assert_eq!(condition.reason, "GroupNotFound");
        assert!(condition.message.contains("nope"));
    }

    #[test]
    fn only_the_owners_own_folders_are_listed() {
        assert_eq!(parse_folders("INBOX\nSent\nArhīvs/2026\n\n"), ["INBOX", "Sent", "Arhīvs/2026"]);
        let with_shared = "INBOX\nShared\nShared/kanceleja@vsaa.gov.lv\nShared/kanceleja@vsaa.gov.lv/INBOX\nSent\n";
        assert_eq!(parse_folders(with_shared), ["INBOX", "Sent"], "another owner's folders are not ours to change");
    }
}
