//! The names of the groups a user belongs to, nested groups included.
//!
//! Active Directory follows nesting itself (the in-chain matching rule), so one search
//! suffices. For OpenLDAP the groups containing the user are searched, then the groups
//! containing those, level by level, up to [`MAX_NESTING`] levels; cycles end the walk. The
//! user's `memberOf` values (kept by the memberof overlay) are added by name.

use std::collections::HashSet;

use ldap3::SearchEntry;

use super::config::{DirectoryConfig, DirectoryFlavour};
use super::dn::cn_of_dn;
use super::entry::{first_value, values};
use super::error::{DirectoryError, Step};
use super::filter::group_filter;
use super::session::Session;

/// How many levels of nested groups are followed on OpenLDAP.
const MAX_NESTING: usize = 8;

/// The names of the groups of the user with entry `user`.
pub(super) async fn group_names(
    session: &mut Session,
    config: &DirectoryConfig,
    user: &SearchEntry,
) -> Result<Vec<String>, DirectoryError> {
    let mut walk = GroupWalk::new(&user.dn);
    walk.names.extend(values(user, "memberOf").filter_map(cn_of_dn));
    // Active Directory resolves the whole chain in one search.
    let levels = match config.flavour {
        DirectoryFlavour::ActiveDirectory => 1,
        DirectoryFlavour::OpenLdap => MAX_NESTING,
    };
    let mut frontier = vec![user.dn.clone()];
    for _ in 0..levels {
        let filter = group_filter(config.flavour, &frontier);
        let groups = session.search(Step::GroupSearch, &config.group_base, &filter, &["cn"], 0).await?;
        frontier = walk.absorb(&groups);
        if frontier.is_empty() {
            break;
        }
    }
    if levels > 1 && !frontier.is_empty() {
        tracing::warn!(levels, "groups nested deeper than this are ignored");
    }
    Ok(walk.names)
}

/// What a walk through nested groups has seen so far.
struct GroupWalk {
    /// DNs already searched for (lower case), so that cycles end.
    seen: HashSet<String>,
    /// The names of the groups found.
    names: Vec<String>,
}

impl GroupWalk {
    fn new(user_dn: &str) -> Self {
        Self { seen: HashSet::from([user_dn.to_lowercase()]), names: Vec::new() }
    }

    /// Records the names of `groups` and returns the DNs of those not seen before: the
    /// groups whose own containers are searched next.
    fn absorb(&mut self, groups: &[SearchEntry]) -> Vec<String> {
        let mut next = Vec::new();
        for group in groups {
            if let Some(name) = group_name(group) {
                self.names.push(name);
            }
            if self.seen.insert(group.dn.to_lowercase()) {
                next.push(group.dn.clone());
            }
        }
        next
    }
}

/// A group's name: its `cn`, else the `cn` of its DN.
fn group_name(group: &SearchEntry) -> Option<String> {
    first_value(group, "cn").map(|cn| cn.trim().to_owned()).or_else(|| cn_of_dn(&group.dn))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn group(dn: &str, cn: Option<&str>) -> SearchEntry {
        let attrs = cn.map(|cn| HashMap::from([("cn".to_owned(), vec![cn.to_owned()])])).unwrap_or_default();
        SearchEntry { dn: dn.into(), attrs, bin_attrs: HashMap::new() }
    }

    #[test]
    fn names_come_from_cn_or_from_the_dn() {
        assert_eq!(group_name(&group("cn=x,dc=lm", Some("VDI-Staff"))).as_deref(), Some("VDI-Staff"));
        assert_eq!(group_name(&group("CN=VDI-Approvers,CN=Users,DC=lm", None)).as_deref(), Some("VDI-Approvers"));
        assert_eq!(group_name(&group("ou=odd,dc=lm", None)), None);
    }

    #[test]
    fn the_walk_goes_up_one_level_at_a_time_and_stops_at_cycles() {
        let mut walk = GroupWalk::new("uid=anna,ou=people,dc=lm");
        let level1 = [group("cn=VDI-Requesters,ou=groups,dc=lm", Some("VDI-Requesters"))];
        assert_eq!(walk.absorb(&level1), ["cn=VDI-Requesters,ou=groups,dc=lm"]);

        // VDI-Staff contains VDI-Requesters, and (a cycle) VDI-Requesters contains VDI-Staff.
        let level2 = [group("cn=VDI-Staff,ou=groups,dc=lm", Some("VDI-Staff"))];
        assert_eq!(walk.absorb(&level2), ["cn=VDI-Staff,ou=groups,dc=lm"]);
        let level3 = [group("CN=VDI-Requesters,ou=groups,dc=lm", Some("VDI-Requesters"))];
        assert!(walk.absorb(&level3).is_empty());

        assert_eq!(walk.names, ["VDI-Requesters", "VDI-Staff", "VDI-Requesters"]);
    }
}
