//! Finding groups by name under a base DN, as the service account: how configured role
//! group names become DNs ([`crate::identity::role_groups`]).

use std::collections::{BTreeMap, HashMap};

use ldap3::ldap_escape;

use super::bind_service;
use super::config::{DirectoryConfig, DirectoryFlavour};
use super::error::{DirectoryError, Step};
use super::session::Session;
use makonis_api::dn::cn_of_dn;

/// The DNs of the groups found per (base, name) of `wanted` (base DN → names), searching
/// each base's subtree once. A base that does not exist finds nothing (and is logged); an
/// unreachable directory fails the whole search.
pub async fn find_groups(
    config: &DirectoryConfig,
    wanted: &BTreeMap<String, Vec<String>>,
) -> Result<HashMap<(String, String), Vec<String>>, DirectoryError> {
    let transport = config.check()?;
    let mut session = Session::open(config, transport).await?;
    let result = search_all(&mut session, config, wanted).await;
    session.close().await;
    result
}

async fn search_all(
    session: &mut Session,
    config: &DirectoryConfig,
    wanted: &BTreeMap<String, Vec<String>>,
) -> Result<HashMap<(String, String), Vec<String>>, DirectoryError> {
    bind_service(session, config).await?;
    let mut found = HashMap::new();
    for (base, names) in wanted {
        let filter = groups_named(config.flavour, names);
        let entries = match session.search(Step::GroupSearch, base, &filter, &["1.1"], 0).await {
            Ok(entries) => entries,
            Err(error @ DirectoryError::Misconfigured(_)) => {
                tracing::warn!(base, %error, "cannot look for role groups under this base");
                continue;
            }
            Err(error) => return Err(error),
        };
        for name in names {
            let lower = name.trim().to_lowercase();
            let dns = entries
                .iter()
                .filter(|entry| cn_of_dn(&entry.dn).is_some_and(|cn| cn.trim().to_lowercase() == lower))
                .map(|entry| entry.dn.clone())
                .collect();
            found.insert((base.clone(), name.clone()), dns);
        }
    }
    Ok(found)
}

/// The filter for groups with any of `names` as their `cn`.
fn groups_named(flavour: DirectoryFlavour, names: &[String]) -> String {
    let class = match flavour {
        DirectoryFlavour::ActiveDirectory => "group",
        DirectoryFlavour::OpenLdap => "groupOfNames",
    };
    let names: String = names.iter().map(|name| format!("(cn={})", ldap_escape(name.trim()))).collect();
    format!("(&(objectClass={class})(|{names}))")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_into_one_filter() {
        let names = ["VDI-Admins".to_string(), "a*(b)".to_string()];
        assert_eq!(
            groups_named(DirectoryFlavour::ActiveDirectory, &names),
            "(&(objectClass=group)(|(cn=VDI-Admins)(cn=a\\2a\\28b\\29)))"
        );
        assert_eq!(
            groups_named(DirectoryFlavour::OpenLdap, &names[..1]),
            "(&(objectClass=groupOfNames)(|(cn=VDI-Admins)))"
        );
    }
}
