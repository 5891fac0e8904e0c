//! What a user may do: roles per agency from the agencies' directory groups, and the
//! platform roles of the central provider. Pure; every page and API call asks here.
//!
//! A directory user holds a role only through the exact DN its group resolved to
//! ([`super::role_groups`]); a group of the same name elsewhere in the directory gives
//! nothing. Local accounts (written by the platform's operators) name their groups.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use makonis_api::tenancy::RoleGroups;
use serde::Serialize;

use super::{
    Identity, IdentitySource,
    ldap::normalize_dn,
    role_groups::{PlatformGroup, RoleGroupDns},
};

/// A role within one agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyRole {
    /// Administers the agency: everything its requesters, approvers and security officers may.
    AgencyAdmin,
    /// Orders, resizes and retires services.
    Requester,
    /// Approves or rejects the agency's requests.
    Approver,
    /// Reads the agency's audit trail and security events.
    SecurityOfficer,
    /// Only looks.
    Viewer,
}

/// A role of the central provider, across all agencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformRole {
    /// Runs the platform: sees every agency, gives the platform's approvals.
    Operator,
    /// Everything an operator may, plus the audit trail of all agencies.
    Admin,
}

/// The directory groups that hold the platform roles, each a DN
/// (`CN=Makonis-Platform-Admins,OU=Makonis,DC=lm,DC=gov,DC=lv`) or a name looked for under
/// the directory's group base ([`PlatformGroup`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformGroups {
    /// Members are platform administrators.
    pub admins: String,
    /// Members are platform operators.
    pub operators: String,
    /// Members are the platform's security officers: they read every agency's security
    /// logs.
    pub security: String,
}

/// One agency as access control sees it: its code, its organisational unit and the names of
/// its role groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyGroups {
    /// The agency's code, e.g. `vdi`.
    pub code: String,
    /// The DN of the agency's organisational unit: its role groups are in its subtree.
    pub organizational_unit: String,
    /// Its directory groups per role.
    pub groups: RoleGroups,
}

/// Everything a user may do, worked out once per request from their groups.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Access {
    /// The user's platform role, if any (the higher one when in both groups).
    pub platform: Option<PlatformRole>,
    /// The user's roles per agency code.
    pub agencies: BTreeMap<String, BTreeSet<AgencyRole>>,
    /// Whether the user is one of the platform's security officers.
    pub platform_security: bool,
}

impl Access {
    /// The access `identity`'s groups give, among `agencies`: a directory user's by the
    /// groups' DNs as resolved in `dns`, a local account's by name. DNs and names compare
    /// case-insensitively, as Active Directory does.
    pub fn of(
        identity: &Identity,
        agencies: &[AgencyGroups],
        platform_groups: &PlatformGroups,
        dns: &RoleGroupDns,
    ) -> Self {
        let held = Held::of(identity);
        let platform_member = |configured: &str| {
            let group = PlatformGroup::parse(configured);
            held.has(group.name(), dns.platform_dn(&group))
        };
        let platform = if platform_member(&platform_groups.admins) {
            Some(PlatformRole::Admin)
        } else if platform_member(&platform_groups.operators) {
            Some(PlatformRole::Operator)
        } else {
            None
        };
        let agencies = agencies
            .iter()
            .filter_map(|agency| {
                let g = &agency.groups;
                let roles: BTreeSet<_> = [
                    (&g.admins, AgencyRole::AgencyAdmin),
                    (&g.requesters, AgencyRole::Requester),
                    (&g.approvers, AgencyRole::Approver),
                    (&g.security_officers, AgencyRole::SecurityOfficer),
                    (&g.viewers, AgencyRole::Viewer),
                ]
                .into_iter()
                .filter(|(group, _)| held.has(group, dns.dn(&agency.organizational_unit, group)))
                .map(|(_, role)| role)
                .collect();
                (!roles.is_empty()).then(|| (agency.code.clone(), roles))
            })
            .collect();
        Self { platform, agencies, platform_security: platform_member(&platform_groups.security) }
    }

    /// Whether the user administers `agency` (its admins, and platform administrators):
    /// lists and revokes the agency's API tokens.
    pub fn may_administer(&self, agency: &str) -> bool {
        self.is_platform_admin() || self.has(agency, &[AgencyRole::AgencyAdmin])
    }

    /// Whether the user administers any agency (or all of them, as a platform
    /// administrator): the navigation then offers the people pages.
    pub fn administers_any_agency(&self) -> bool {
        self.is_platform_admin() || self.agencies.values().any(|roles| roles.contains(&AgencyRole::AgencyAdmin))
    }

    fn has(&self, agency: &str, roles: &[AgencyRole]) -> bool {
        self.agencies.get(agency).is_some_and(|held| roles.iter().any(|role| held.contains(role)))
    }

    /// Whether the user works for the central provider.
    pub fn is_platform(&self) -> bool {
        self.platform.is_some()
    }

    /// Whether the user is a platform administrator.
    pub fn is_platform_admin(&self) -> bool {
        self.platform == Some(PlatformRole::Admin)
    }

    /// Whether the user may see `agency`'s requests and services.
    pub fn sees(&self, agency: &str) -> bool {
        self.is_platform() || self.agencies.contains_key(agency)
    }

    /// Whether the user may order, resize and retire `agency`'s services.
    pub fn may_order(&self, agency: &str) -> bool {
        self.has(agency, &[AgencyRole::AgencyAdmin, AgencyRole::Requester])
    }

    /// Whether the user may give `agency`'s own approval.
    pub fn may_approve_for(&self, agency: &str) -> bool {
        self.has(agency, &[AgencyRole::AgencyAdmin, AgencyRole::Approver])
    }

    /// Whether the user may give the platform's approval.
    pub fn may_approve_for_platform(&self) -> bool {
        self.is_platform()
    }

    /// Whether the user may read `agency`'s audit trail.
    pub fn may_read_audit(&self, agency: &str) -> bool {
        self.is_platform_admin() || self.has(agency, &[AgencyRole::AgencyAdmin, AgencyRole::SecurityOfficer])
    }

    /// Whether the user may read the audit trail of some agency (or of all).
    pub fn reads_any_audit(&self) -> bool {
        self.is_platform_admin() || self.agencies.keys().any(|agency| self.may_read_audit(agency))
    }

    /// Whether the user may search `agency`'s security logs: its admins and security
    /// officers, and the platform's security officers.
    pub fn may_read_security_logs(&self, agency: &str) -> bool {
        self.platform_security || self.has(agency, &[AgencyRole::AgencyAdmin, AgencyRole::SecurityOfficer])
    }

    /// Whose security logs the user may search: `None` for every event (the platform's
    /// security officers), else the agencies (possibly none).
    pub fn security_log_scope(&self) -> Option<Vec<String>> {
        (!self.platform_security)
            .then(|| self.agencies.keys().filter(|agency| self.may_read_security_logs(agency)).cloned().collect())
    }

    /// Whose security incidents the user may see: `None` for every one (the platform's
    /// security officers), else the agencies where they are the security officer.
    /// Security incidents are for security roles only, not for an agency's admins.
    pub fn security_incident_scope(&self) -> Option<Vec<String>> {
        (!self.platform_security).then(|| {
            self.agencies.keys().filter(|agency| self.has(agency, &[AgencyRole::SecurityOfficer])).cloned().collect()
        })
    }

    /// Whether the user may see any security incidents at all.
    pub fn sees_security_incidents(&self) -> bool {
        self.security_incident_scope().is_none_or(|agencies| !agencies.is_empty())
    }

    /// Whether the user may search any security logs at all.
    pub fn reads_security_logs(&self) -> bool {
        self.security_log_scope().is_none_or(|agencies| !agencies.is_empty())
    }

    /// Whether the user approves anything at all (shows the approvals inbox).
    pub fn approves_anything(&self) -> bool {
        self.is_platform() || self.agencies.keys().any(|agency| self.may_approve_for(agency))
    }

    /// The agencies the user may order for, in code order.
    pub fn ordering_agencies(&self) -> Vec<String> {
        self.agencies.keys().filter(|agency| self.may_order(agency)).cloned().collect()
    }

    /// Of `all` agency codes, those whose data the user may see.
    pub fn visible<'a>(&self, all: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        all.into_iter().filter(|agency| self.sees(agency)).map(str::to_string).collect()
    }
}

/// The groups an identity holds, in the form its roles are matched in.
enum Held {
    /// A directory user's groups: normalised DNs.
    Dns(HashSet<String>),
    /// A local account's group names, in lower case.
    Names(HashSet<String>),
}

impl Held {
    fn of(identity: &Identity) -> Self {
        match identity.source {
            IdentitySource::Directory => Self::Dns(identity.groups.iter().filter_map(|dn| normalize_dn(dn)).collect()),
            IdentitySource::Local => {
                Self::Names(identity.groups.iter().map(|name| name.trim().to_lowercase()).collect())
            }
        }
    }

    /// Whether the group called `name`, resolved to `dn`, is held: by DN for a directory
    /// user (never by name), by name for a local account.
    fn has(&self, name: &str, dn: Option<&str>) -> bool {
        match self {
            Self::Dns(held) => dn.is_some_and(|dn| held.contains(dn)),
            Self::Names(held) => held.contains(&name.trim().to_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::role_groups::{GroupKey, Resolution};

    fn groups(prefix: &str) -> RoleGroups {
        RoleGroups {
            admins: format!("{prefix}-Admins"),
            requesters: format!("{prefix}-Requesters"),
            approvers: format!("{prefix}-Approvers"),
            security_officers: format!("{prefix}-Security"),
            viewers: format!("{prefix}-Viewers"),
        }
    }

    const VDI_OU: &str = "OU=VDI,OU=Iestades,DC=lm,DC=test";

    fn identity(source: IdentitySource, member_of: &[&str]) -> Identity {
        Identity {
            username: "u".into(),
            display_name: "U".into(),
            email: None,
            groups: member_of.iter().map(|g| g.to_string()).collect(),
            source,
        }
    }

    fn agencies() -> [AgencyGroups; 2] {
        [
            AgencyGroups { code: "vdi".into(), organizational_unit: VDI_OU.into(), groups: groups("VDI") },
            AgencyGroups {
                code: "lm".into(),
                organizational_unit: "OU=LM,OU=Iestades,DC=lm,DC=test".into(),
                groups: groups("LM"),
            },
        ]
    }

    fn platform() -> PlatformGroups {
        PlatformGroups {
            admins: "CN=Platform-Admins,OU=Makonis,DC=lm,DC=test".into(),
            operators: "Platform-Operators".into(),
            security: "Platform-Security".into(),
        }
    }

    fn access(member_of: &[&str]) -> Access {
        Access::of(&identity(IdentitySource::Local, member_of), &agencies(), &platform(), &RoleGroupDns::default())
    }

    /// The resolutions a directory would give: VDI's admins and approvers in a sub-OU of
    /// VDI's, the platform operators under the group base.
    fn resolved() -> RoleGroupDns {
        let mut dns = RoleGroupDns::new(Some("DC=lm,DC=test"));
        for (base, name, dn) in [
            (VDI_OU, "VDI-Admins", "CN=VDI-Admins,OU=Groups,OU=VDI,OU=Iestades,DC=lm,DC=test"),
            (VDI_OU, "VDI-Approvers", "CN=VDI-Approvers,OU=Groups,OU=VDI,OU=Iestades,DC=lm,DC=test"),
            ("DC=lm,DC=test", "Platform-Operators", "CN=Platform-Operators,OU=Makonis,DC=lm,DC=test"),
        ] {
            let key = GroupKey::new(base, name).unwrap();
            dns.resolved.insert(key, Resolution::Unique(normalize_dn(dn).unwrap()));
        }
        dns.resolved.insert(GroupKey::new(VDI_OU, "VDI-Viewers").unwrap(), Resolution::Ambiguous(vec![]));
        dns
    }

    fn directory_access(member_of: &[&str]) -> Access {
        Access::of(&identity(IdentitySource::Directory, member_of), &agencies(), &platform(), &resolved())
    }

    #[test]
    fn directory_users_hold_roles_only_through_the_resolved_dns() {
        let a = directory_access(&["cn=vdi-admins,ou=groups,ou=vdi,ou=iestades,dc=lm,dc=test"]);
        assert!(a.may_administer("vdi") && a.may_approve_for("vdi") && !a.is_platform());
        let operator = directory_access(&["CN=Platform-Operators,OU=Makonis,DC=lm,DC=test"]);
        assert_eq!(operator.platform, Some(PlatformRole::Operator));
        let admin = directory_access(&["CN=Platform-Admins,OU=Makonis,DC=lm,DC=test"]);
        assert_eq!(admin.platform, Some(PlatformRole::Admin), "a platform group configured as a DN");
    }

    #[test]
    fn a_group_of_the_same_name_elsewhere_gives_nothing() {
        let rogue = directory_access(&[
            "CN=VDI-Admins,OU=Rogue,DC=lm,DC=test",
            "CN=Platform-Admins,OU=Rogue,DC=lm,DC=test",
            "CN=Platform-Operators,OU=Rogue,DC=lm,DC=test",
            "VDI-Admins",
            "Platform-Admins",
            "CN=VDI-Viewers,OU=VDI,OU=Iestades,DC=lm,DC=test",
            "CN=VDI-Requesters,OU=VDI,OU=Iestades,DC=lm,DC=test",
        ]);
        assert_eq!(rogue, Access::default(), "names, other OUs, ambiguous and unresolved groups hold no role");
    }

    #[test]
    fn local_accounts_name_their_groups_even_for_a_platform_group_given_as_a_dn() {
        let a = access(&["platform-admins"]);
        assert_eq!(a.platform, Some(PlatformRole::Admin));
        let dn = access(&["CN=Platform-Admins,OU=Makonis,DC=lm,DC=test"]);
        assert_eq!(dn, Access::default(), "a local account lists names");
    }

    #[test]
    fn a_requester_orders_only_for_their_own_agency() {
        let a = access(&["vdi-requesters"]);
        assert!(a.may_order("vdi") && a.sees("vdi"));
        assert!(!a.may_order("lm") && !a.sees("lm"));
        assert!(!a.may_approve_for("vdi") && !a.may_read_audit("vdi") && !a.approves_anything());
    }

    #[test]
    fn an_agency_admin_holds_every_agency_power_but_only_there() {
        let a = access(&["LM-Admins"]);
        assert!(a.may_order("lm") && a.may_approve_for("lm") && a.may_read_audit("lm"));
        assert!(!a.sees("vdi") && !a.may_approve_for_platform() && !a.is_platform());
    }

    #[test]
    fn viewers_and_security_officers_do_not_order() {
        let a = access(&["VDI-Viewers", "LM-Security"]);
        assert!(a.sees("vdi") && a.sees("lm"));
        assert!(!a.may_order("vdi") && !a.may_order("lm"));
        assert!(a.may_read_audit("lm") && !a.may_read_audit("vdi"));
        assert_eq!(a.ordering_agencies(), Vec::<String>::new());
    }

    #[test]
    fn platform_roles_see_everything_but_only_admins_read_every_audit_trail() {
        let operator = access(&["Platform-Operators"]);
        assert!(operator.sees("vdi") && operator.may_approve_for_platform());
        assert!(!operator.may_read_audit("vdi") && !operator.may_order("vdi") && !operator.may_approve_for("vdi"));
        let admin = access(&["Platform-Admins", "Platform-Operators"]);
        assert_eq!(admin.platform, Some(PlatformRole::Admin));
        assert!(admin.may_read_audit("vdi") && admin.reads_any_audit());
    }

    #[test]
    fn security_logs_are_read_by_agency_officers_and_the_platforms_security_group_only() {
        let officer = access(&["LM-Security", "VDI-Viewers"]);
        assert_eq!(officer.security_log_scope(), Some(vec!["lm".to_string()]));
        assert!(officer.may_read_security_logs("lm") && !officer.may_read_security_logs("vdi"));
        let agency_admin = access(&["VDI-Admins"]);
        assert_eq!(agency_admin.security_log_scope(), Some(vec!["vdi".to_string()]));
        let platform_admin = access(&["Platform-Admins"]);
        assert_eq!(platform_admin.security_log_scope(), Some(vec![]), "administering is not reading security logs");
        assert!(!platform_admin.reads_security_logs());
        let platform_security = access(&["Platform-Security"]);
        assert!(platform_security.platform_security && platform_security.platform.is_none());
        assert_eq!(platform_security.security_log_scope(), None, "every agency's and the platform's");
        assert!(platform_security.reads_security_logs() && platform_security.may_read_security_logs("vdi"));
    }

    #[test]
    fn no_groups_no_access() {
        let a = access(&[]);
        assert_eq!(a, Access::default());
        assert_eq!(a.visible(["vdi", "lm"]), Vec::<String>::new());
    }
}
