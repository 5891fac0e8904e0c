//! The distinguished names of the groups a user belongs to, nested groups included. Roles
//! are granted by a group's DN, never by its name: a name (CN) is unique only within its
//! container, so anyone who may create a group somewhere could otherwise borrow a role.
//!
//! Active Directory follows nesting itself (the in-chain matching rule), so one search
//! suffices. For OpenLDAP the groups containing the user are searched, then the groups
//! containing those, level by level, up to [`MAX_NESTING`] levels; cycles end the walk. The
//! user's `memberOf` values (kept by the memberof overlay) are added as they are.

use std::collections::HashSet;

use ldap3::SearchEntry;

use super::config::{DirectoryConfig, DirectoryFlavour};
use super::entry::values;
use super::error::{DirectoryError, Step};
use super::filter::group_filter;
use super::session::Session;

/// How many levels of nested groups are followed on OpenLDAP.
const MAX_NESTING: usize = 8;

/// The DNs of the groups of the user with entry `user`.
pub(super) async fn group_dns(
    session: &mut Session,
    config: &DirectoryConfig,
    user: &SearchEntry,
) -> Result<Vec<String>, DirectoryError> {
    let mut walk = GroupWalk::new(&user.dn);
    walk.dns.extend(values(user, "memberOf").map(str::to_owned));
    // Active Directory resolves the whole chain in one search.
    let levels = match config.flavour {
        DirectoryFlavour::ActiveDirectory => 1,
        DirectoryFlavour::OpenLdap => MAX_NESTING,
    };
    let mut frontier = vec![user.dn.clone()];
    for _ in 0..levels {
        let filter = group_filter(config.flavour, &frontier);
        let groups = session.search(Step::GroupSearch, &config.group_base, &filter, &["1.1"], 0).await?;
        frontier = walk.absorb(&groups);
        if frontier.is_empty() {
            break;
        }
    }
    if levels > 1 && !frontier.is_empty() {
        tracing::warn!(levels, "groups nested deeper than this are ignored");
    }
    Ok(walk.dns)
}

/// What a walk through nested groups has seen so far.
struct GroupWalk {
    /// DNs already searched for (lower case), so that cycles end.
    seen: HashSet<String>,
    /// The DNs of the groups found, as the server wrote them.
    dns: Vec<String>,
}

impl GroupWalk {
    fn new(user_dn: &str) -> Self {
        Self { seen: HashSet::from([user_dn.to_lowercase()]), dns: Vec::new() }
    }

    /// Records the DNs of `groups` and returns those not seen before: the groups whose own
    /// containers are searched next.
    fn absorb(&mut self, groups: &[SearchEntry]) -> Vec<String> {
        let mut next = Vec::new();
        for group in groups {
            self.dns.push(group.dn.clone());
            if self.seen.insert(group.dn.to_lowercase()) {
                next.push(group.dn.clone());
            }
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn group(dn: &str) -> SearchEntry {
        SearchEntry { dn: dn.into(), attrs: HashMap::new(), bin_attrs: HashMap::new() }
    }

    #[test]
    fn the_walk_goes_up_one_level_at_a_time_and_stops_at_cycles() {
        let mut walk = GroupWalk::new("uid=anna,ou=people,dc=lm");
        let level1 = [group("cn=VDI-Requesters,ou=groups,dc=lm")];
        assert_eq!(walk.absorb(&level1), ["cn=VDI-Requesters,ou=groups,dc=lm"]);

        // VDI-Staff contains VDI-Requesters, and (a cycle) VDI-Requesters contains VDI-Staff.
        let level2 = [group("cn=VDI-Staff,ou=groups,dc=lm")];
        assert_eq!(walk.absorb(&level2), ["cn=VDI-Staff,ou=groups,dc=lm"]);
        let level3 = [group("CN=VDI-Requesters,ou=groups,dc=lm")];
        assert!(walk.absorb(&level3).is_empty());

        assert_eq!(
            walk.dns,
            ["cn=VDI-Requesters,ou=groups,dc=lm", "cn=VDI-Staff,ou=groups,dc=lm", "CN=VDI-Requesters,ou=groups,dc=lm"]
        );
    }
}
