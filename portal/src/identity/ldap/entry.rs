//! Reading the user's entry: attribute values, the Active Directory "disabled" flag, and
//! the [`Identity`] made from the entry and its groups.

use ldap3::SearchEntry;

use super::config::DirectoryFlavour;
use crate::identity::{Identity, IdentitySource};

/// The `userAccountControl` flag of a disabled Active Directory account (`ACCOUNTDISABLE`).
const ACCOUNT_DISABLE: i64 = 0x2;

/// The values of `attribute` (named case-insensitively, as servers differ in case).
pub(super) fn values<'a>(entry: &'a SearchEntry, attribute: &str) -> impl Iterator<Item = &'a str> {
    entry
        .attrs
        .iter()
        .filter(move |(name, _)| name.eq_ignore_ascii_case(attribute))
        .flat_map(|(_, values)| values.iter().map(String::as_str))
}

/// The first non-blank value of `attribute`.
pub(super) fn first_value<'a>(entry: &'a SearchEntry, attribute: &str) -> Option<&'a str> {
    values(entry, attribute).find(|v| !v.trim().is_empty())
}

/// Whether an Active Directory account is disabled, given its `userAccountControl`. A value
/// that is not a number counts as disabled; a missing one does not (the bind still decides).
pub(super) fn is_disabled(user_account_control: Option<&str>) -> bool {
    user_account_control.is_some_and(|v| v.trim().parse::<i64>().map_or(true, |flags| flags & ACCOUNT_DISABLE != 0))
}

/// The identity of the user of `entry`, found with the login name `typed` and a member of
/// `groups`: the directory's account name in lower case, `displayName` (else `cn`, else the
/// account name), `mail`, and the groups' DNs sorted without duplicates.
pub(super) fn identity(
    flavour: DirectoryFlavour,
    entry: &SearchEntry,
    typed: &str,
    mut groups: Vec<String>,
) -> Identity {
    let username = first_value(entry, flavour.account_attribute()).unwrap_or(typed).trim().to_lowercase();
    let display_name = first_value(entry, "displayName")
        .or_else(|| first_value(entry, "cn"))
        .map_or_else(|| username.clone(), |name| name.trim().to_owned());
    groups.sort();
    groups.dedup();
    Identity {
        display_name,
        email: first_value(entry, "mail").map(|mail| mail.trim().to_owned()),
        username,
        groups,
        source: IdentitySource::Directory,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn entry(attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: "CN=anna.requester,CN=Users,DC=lm,DC=test".into(),
            attrs: attrs.iter().map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect())).collect(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn only_the_disable_bit_disables() {
        assert!(!is_disabled(None));
        assert!(!is_disabled(Some("512")));
        assert!(!is_disabled(Some("66048"))); // normal account, password never expires
        assert!(is_disabled(Some("514")));
        assert!(is_disabled(Some("66050")));
        assert!(is_disabled(Some("-2147483646"))); // some tools show the flags signed
        assert!(is_disabled(Some("not a number")));
    }

    #[test]
    fn attributes_are_found_whatever_their_case() {
        let e = entry(&[("samaccountname", &["Anna.Requester"]), ("mail", &["", "anna@lm.test"])]);
        assert_eq!(first_value(&e, "sAMAccountName"), Some("Anna.Requester"));
        assert_eq!(first_value(&e, "mail"), Some("anna@lm.test"));
        assert_eq!(first_value(&e, "displayName"), None);
        assert_eq!(values(&e, "MAIL").count(), 2);
    }

    #[test]
    fn the_identity_uses_the_directorys_names() {
        let e = entry(&[
            ("sAMAccountName", &["Anna.Requester"]),
            ("displayName", &["Anna Bērziņa"]),
            ("cn", &["anna.requester"]),
            ("mail", &["anna.requester@lm.test"]),
        ]);
        let groups = vec!["VDI-Staff".into(), "VDI-Requesters".into(), "VDI-Staff".into()];
        let identity = identity(DirectoryFlavour::ActiveDirectory, &e, "ANNA.REQUESTER", groups);
        assert_eq!(
            identity,
            Identity {
                username: "anna.requester".into(),
                display_name: "Anna Bērziņa".into(),
                email: Some("anna.requester@lm.test".into()),
                groups: vec!["VDI-Requesters".into(), "VDI-Staff".into()],
                source: IdentitySource::Directory,
            }
        );
    }

    #[test]
    fn missing_attributes_fall_back() {
        let with_cn = entry(&[("uid", &["janis"]), ("cn", &["Jānis Kalniņš"])]);
        let identity = identity(DirectoryFlavour::OpenLdap, &with_cn, "janis", vec![]);
        assert_eq!((identity.display_name.as_str(), identity.email), ("Jānis Kalniņš", None));

        let bare = entry(&[]);
        let identity = super::identity(DirectoryFlavour::OpenLdap, &bare, "Janis", vec![]);
        assert_eq!((identity.username.as_str(), identity.display_name.as_str()), ("janis", "janis"));
    }
}
