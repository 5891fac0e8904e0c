//! A group: its managed attributes and its members.

use std::collections::BTreeMap;

use makonis_api::{
    dn::normalize_dn,
    identity::{DirectoryGroupSpec, GroupKind},
};

use super::{attributes::Wanted, ownership::MARKER_ATTRIBUTE};

/// `groupType` of a global security group.
pub const GLOBAL_SECURITY: i64 = -2_147_483_646;
/// `groupType` of a global distribution group.
pub const GLOBAL_DISTRIBUTION: i64 = 2;

/// The `groupType` of `kind`.
pub fn group_type(kind: GroupKind) -> i64 {
    match kind {
        GroupKind::Security => GLOBAL_SECURITY,
        GroupKind::Distribution => GLOBAL_DISTRIBUTION,
    }
}

/// What the platform keeps true on a group (members apart).
pub fn group_attributes(spec: &DirectoryGroupSpec, marker: &str) -> Vec<Wanted> {
    vec![
        Wanted::text("groupType", Some(group_type(spec.kind).to_string())),
        Wanted::text("description", spec.description.as_deref()),
        Wanted::text("mail", spec.email.as_deref()),
        Wanted::text(MARKER_ATTRIBUTE, Some(marker)),
    ]
}

/// What the platform keeps true on a role group it created for an agency (members apart).
pub fn role_group_attributes(marker: &str) -> Vec<Wanted> {
    vec![Wanted::text("groupType", Some(GLOBAL_SECURITY.to_string())), Wanted::text(MARKER_ATTRIBUTE, Some(marker))]
}

/// Which members to add and which to remove so that `live` becomes `wanted` (both DNs,
/// compared normalised; the DNs returned are as given).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberChanges {
    /// Members to add.
    pub add: Vec<String>,
    /// Members to remove.
    pub remove: Vec<String>,
}

impl MemberChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// The member changes from `live` to `wanted`. DNs that cannot be normalised are compared
/// as written.
pub fn member_changes(live: &[String], wanted: &[String]) -> MemberChanges {
    let key = |dn: &String| normalize_dn(dn).unwrap_or_else(|| dn.clone());
    let live: BTreeMap<String, &String> = live.iter().map(|dn| (key(dn), dn)).collect();
    let wanted: BTreeMap<String, &String> = wanted.iter().map(|dn| (key(dn), dn)).collect();
    MemberChanges {
        add: wanted.iter().filter(|(k, _)| !live.contains_key(*k)).map(|(_, dn)| (*dn).clone()).collect(),
        remove: live.iter().filter(|(k, _)| !wanted.contains_key(*k)).map(|(_, dn)| (*dn).clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_compared_as_dns() {
        let live = vec!["CN=Anna,OU=People,DC=lm".to_string(), "CN=Old,OU=People,DC=lm".to_string()];
        let wanted = vec!["cn=anna, ou=people,dc=LM".to_string(), "CN=Līga,OU=People,DC=lm".to_string()];
        let changes = member_changes(&live, &wanted);
        assert_eq!(changes.add, vec!["CN=Līga,OU=People,DC=lm".to_string()]);
        assert_eq!(changes.remove, vec!["CN=Old,OU=People,DC=lm".to_string()]);
        assert!(member_changes(&wanted, &live[..1]).add.is_empty());
    }

    #[test]
    fn kinds_have_their_group_types() {
        assert_eq!(group_type(GroupKind::Security), -2147483646);
        assert_eq!(group_type(GroupKind::Distribution), 2);
    }
}
