//! Which directory group holds each role, by distinguished name.
//!
//! Agencies name their role groups (`spec.directory.groups`) and their organisational unit
//! (`spec.directory.organizationalUnit`); the platform's groups are flags. A name is unique
//! only within its container, so a name becomes a DN once, by search: the role group of an
//! agency is the one group whose own name (the `cn` of its DN) is the configured name
//! anywhere in the subtree of the agency's OU; a platform group given by name is looked for
//! the same way under the group base, and one given as a DN is taken as it is. No group or
//! more than one (ambiguous) gives the role to nobody, and says so in the log. Directory
//! users hold a role only through that exact DN; local accounts, which the platform's
//! operators write themselves, name their groups.
//!
//! The pure part is here ([`RoleGroupDns`], [`resolution`], [`wanted`]); the search is
//! [`crate::identity::ldap::find_groups`], and [`refresh`] ties them to the context.

use std::collections::{BTreeMap, HashMap};

use super::{
    access::{AgencyGroups, PlatformGroups},
    ldap::{DirectoryError, cn_of_dn, find_groups, normalize_dn},
};
use crate::context::Context;

/// Where a role group must be, and its name: a base DN and a `cn`, both normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey {
    /// The normalised DN of the subtree the group must be in.
    pub base: String,
    /// The group's name in lower case.
    pub name: String,
}

impl GroupKey {
    /// The key of the group called `name` under `base`; `None` when `base` is not a DN.
    pub fn new(base: &str, name: &str) -> Option<Self> {
        Some(Self { base: normalize_dn(base)?, name: name.trim().to_lowercase() })
    }
}

/// What a search for one role group found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Exactly one group: its normalised DN holds the role.
    Unique(String),
    /// No group of that name: nobody holds the role.
    Missing,
    /// Several groups of that name (their DNs): nobody holds the role until one is left.
    Ambiguous(Vec<String>),
}

/// The resolution of the groups `found` (DNs under the key's base) for the name of `key`:
/// only groups whose own RDN is that name count (not a second `cn` value of another group).
pub fn resolution(key: &GroupKey, found: &[String]) -> Resolution {
    let mut dns: Vec<String> = found
        .iter()
        .filter(|dn| cn_of_dn(dn).is_some_and(|cn| cn.trim().to_lowercase() == key.name))
        .filter_map(|dn| normalize_dn(dn))
        .filter(|dn| dn.ends_with(&format!(",{}", key.base)))
        .collect();
    dns.sort();
    dns.dedup();
    match dns.len() {
        0 => Resolution::Missing,
        1 => Resolution::Unique(dns.remove(0)),
        _ => Resolution::Ambiguous(dns),
    }
}

/// How a platform group is configured: a DN as it is, or a name looked for under the
/// group base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformGroup {
    /// A distinguished name (normalised) and its `cn`, which local accounts name.
    Dn { dn: String, cn: String },
    /// A name.
    Name(String),
}

impl PlatformGroup {
    /// What `configured` (a `--platform-…-group` value) means.
    pub fn parse(configured: &str) -> Self {
        match (configured.contains('='), normalize_dn(configured), cn_of_dn(configured)) {
            (true, Some(dn), Some(cn)) => Self::Dn { dn, cn },
            _ => Self::Name(configured.trim().to_string()),
        }
    }

    /// The name local accounts list for this group.
    pub fn name(&self) -> &str {
        match self {
            Self::Dn { cn, .. } => cn,
            Self::Name(name) => name,
        }
    }
}

/// The role groups' DNs as last resolved: what [`crate::identity::access::Access`] matches
/// directory users' groups against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleGroupDns {
    /// Where platform groups given by name are looked for (the directory's group base).
    pub platform_base: Option<String>,
    /// Each configured group's resolution.
    pub resolved: HashMap<GroupKey, Resolution>,
}

impl RoleGroupDns {
    /// Nothing resolved yet; platform groups given by name are looked for under `platform_base`.
    pub fn new(platform_base: Option<&str>) -> Self {
        Self { platform_base: platform_base.map(str::to_string), resolved: HashMap::new() }
    }

    /// The DN of the group `name` in the subtree of `base`, if exactly one was found.
    pub fn dn(&self, base: &str, name: &str) -> Option<&str> {
        match self.resolved.get(&GroupKey::new(base, name)?)? {
            Resolution::Unique(dn) => Some(dn),
            _ => None,
        }
    }

    /// The DN of the platform group configured as `group`.
    pub fn platform_dn<'a>(&'a self, group: &'a PlatformGroup) -> Option<&'a str> {
        match group {
            PlatformGroup::Dn { dn, .. } => Some(dn),
            PlatformGroup::Name(name) => self.dn(self.platform_base.as_deref()?, name),
        }
    }
}

/// Every group that must be resolved: each agency's five role groups under its OU, and the
/// platform groups given by name under `platform_base`. Grouped by base DN (as configured)
/// so that one search per base finds them all.
pub fn wanted(
    agencies: &[AgencyGroups],
    platform: &PlatformGroups,
    platform_base: Option<&str>,
) -> BTreeMap<String, Vec<String>> {
    let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for agency in agencies {
        let g = &agency.groups;
        let names = [&g.admins, &g.requesters, &g.approvers, &g.security_officers, &g.viewers];
        wanted.entry(agency.organizational_unit.clone()).or_default().extend(names.into_iter().cloned());
    }
    if let Some(base) = platform_base {
        for group in [&platform.admins, &platform.operators, &platform.security] {
            if let PlatformGroup::Name(name) = PlatformGroup::parse(group) {
                wanted.entry(base.to_string()).or_default().push(name);
            }
        }
    }
    for names in wanted.values_mut() {
        names.sort_by_key(|name| name.to_lowercase());
        names.dedup_by_key(|name| name.to_lowercase());
    }
    wanted
}

/// Searches the directory for every role group of the current agencies and the platform
/// (all of them with `only_missing` false, else those not resolved yet) and keeps what is
/// found. Without a directory there is nothing to resolve. If the directory cannot be asked,
/// the previous resolutions stay.
pub async fn refresh(context: &Context, only_missing: bool) -> Result<(), DirectoryError> {
    let Some(directory) = &context.config.directory else { return Ok(()) };
    let mut wanted =
        wanted(&context.view.agency_groups(), &context.config.platform_groups, Some(&directory.group_base));
    if only_missing {
        let known = context.role_groups.read().unwrap_or_else(|p| p.into_inner()).clone();
        wanted.retain(|base, names| {
            names.retain(|name| GroupKey::new(base, name).is_some_and(|key| !known.resolved.contains_key(&key)));
            !names.is_empty()
        });
        if wanted.is_empty() {
            return Ok(());
        }
    }
    let found = find_groups(directory, &wanted).await?;
    let mut resolved = HashMap::new();
    for (base, names) in &wanted {
        for name in names {
            let Some(key) = GroupKey::new(base, name) else {
                tracing::warn!(base, "an organisational unit is not a distinguished name; its role groups are unused");
                continue;
            };
            let dns = found.get(&(base.clone(), name.clone())).map(Vec::as_slice).unwrap_or_default();
            let outcome = resolution(&key, dns);
            match &outcome {
                Resolution::Missing => {
                    tracing::warn!(base, group = name, "no directory group of this name; nobody holds its role")
                }
                Resolution::Ambiguous(dns) => tracing::warn!(
                    base,
                    group = name,
                    ?dns,
                    "several directory groups have this name; nobody holds its role until one is renamed"
                ),
                Resolution::Unique(_) => {}
            }
            resolved.insert(key, outcome);
        }
    }
    let mut current = context.role_groups.write().unwrap_or_else(|p| p.into_inner());
    if !only_missing {
        current.resolved.clear();
    }
    current.resolved.extend(resolved);
    Ok(())
}

#[cfg(test)]
mod tests {
    use makonis_api::tenancy::RoleGroups;

    use super::*;

    fn key(base: &str, name: &str) -> GroupKey {
        GroupKey::new(base, name).unwrap()
    }

    #[test]
    fn exactly_one_group_of_the_name_under_the_base_holds_the_role() {
        let k = key("OU=VDI,OU=Iestades,DC=lm,DC=test", "VDI-Admins");
        let real = "CN=VDI-Admins,OU=Groups,OU=VDI,OU=Iestades,DC=lm,DC=test".to_string();
        assert_eq!(
            resolution(&k, std::slice::from_ref(&real)),
            Resolution::Unique("cn=vdi-admins,ou=groups,ou=vdi,ou=iestades,dc=lm,dc=test".into())
        );
        assert_eq!(resolution(&k, &[]), Resolution::Missing);
        let twin = "CN=VDI-Admins,OU=Helpdesk,OU=VDI,OU=Iestades,DC=lm,DC=test".to_string();
        assert!(matches!(resolution(&k, &[real.clone(), twin]), Resolution::Ambiguous(dns) if dns.len() == 2));
        // Outside the base, or named otherwise (a second cn value), it does not count.
        let elsewhere = "CN=VDI-Admins,OU=Rogue,DC=lm,DC=test".to_string();
        let other_rdn = "CN=Rogue,OU=VDI,OU=Iestades,DC=lm,DC=test".to_string();
        assert_eq!(
            resolution(&k, &[real, elsewhere, other_rdn]),
            Resolution::Unique("cn=vdi-admins,ou=groups,ou=vdi,ou=iestades,dc=lm,dc=test".into())
        );
    }

    #[test]
    fn platform_groups_are_dns_or_names() {
        let dn = PlatformGroup::parse("CN=Makonis-Platform-Admins,OU=Makonis,DC=lm,DC=test");
        assert_eq!(
            dn,
            PlatformGroup::Dn {
                dn: "cn=makonis-platform-admins,ou=makonis,dc=lm,dc=test".into(),
                cn: "Makonis-Platform-Admins".into()
            }
        );
        assert_eq!(dn.name(), "Makonis-Platform-Admins");
        assert_eq!(
            PlatformGroup::parse("Makonis-Platform-Admins"),
            PlatformGroup::Name("Makonis-Platform-Admins".into())
        );

        let mut dns = RoleGroupDns::new(Some("DC=lm,DC=test"));
        let by_name = PlatformGroup::parse("Makonis-Platform-Admins");
        assert_eq!(dns.platform_dn(&by_name), None, "unresolved: nobody");
        dns.resolved.insert(
            key("dc=lm,dc=test", "makonis-platform-admins"),
            Resolution::Unique("cn=makonis-platform-admins,ou=makonis,dc=lm,dc=test".into()),
        );
        assert_eq!(dns.platform_dn(&by_name), Some("cn=makonis-platform-admins,ou=makonis,dc=lm,dc=test"));
        assert_eq!(dns.platform_dn(&dn), Some("cn=makonis-platform-admins,ou=makonis,dc=lm,dc=test"));
    }

    #[test]
    fn every_role_group_is_wanted_once_per_base() {
        let groups = RoleGroups {
            admins: "VDI-Admins".into(),
            requesters: "VDI-Requesters".into(),
            approvers: "VDI-Approvers".into(),
            security_officers: "VDI-Security".into(),
            viewers: "vdi-admins".into(),
        };
        let agencies =
            [AgencyGroups { code: "vdi".into(), organizational_unit: "OU=VDI,DC=lm,DC=test".into(), groups }];
        let platform = PlatformGroups {
            admins: "CN=Makonis-Platform-Admins,OU=Makonis,DC=lm,DC=test".into(),
            operators: "Makonis-Platform-Operators".into(),
            security: "CN=Makonis-Platform-Security,OU=Makonis,DC=lm,DC=test".into(),
        };
        let wanted = wanted(&agencies, &platform, Some("DC=lm,DC=test"));
        assert_eq!(wanted["OU=VDI,DC=lm,DC=test"], ["VDI-Admins", "VDI-Approvers", "VDI-Requesters", "VDI-Security"]);
        assert_eq!(wanted["DC=lm,DC=test"], ["Makonis-Platform-Operators"], "a DN needs no search");
        assert_eq!(wanted.len(), 2);
    }
}
