//! What a user may do: roles per agency from the agencies' directory groups, and the
//! platform roles of the central provider. Pure; every page and API call asks here.

use std::collections::{BTreeMap, BTreeSet};

use makonis_api::tenancy::RoleGroups;
use serde::Serialize;

use super::Identity;

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

/// The directory groups that hold the platform roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformGroups {
    /// Members are platform administrators.
    pub admins: String,
    /// Members are platform operators.
    pub operators: String,
}

/// One agency as access control sees it: its code and its role groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyGroups {
    /// The agency's code, e.g. `vdi`.
    pub code: String,
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
}

impl Access {
    /// The access `identity`'s groups give, among `agencies`. Group names compare
    /// case-insensitively, as Active Directory does.
    pub fn of(identity: &Identity, agencies: &[AgencyGroups], platform: &PlatformGroups) -> Self {
        let member = |group: &str| identity.groups.iter().any(|g| g.eq_ignore_ascii_case(group));
        let platform = if member(&platform.admins) {
            Some(PlatformRole::Admin)
        } else if member(&platform.operators) {
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
                .filter(|(group, _)| member(group))
                .map(|(_, role)| role)
                .collect();
                (!roles.is_empty()).then(|| (agency.code.clone(), roles))
            })
            .collect();
        Self { platform, agencies }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentitySource;

    fn groups(prefix: &str) -> RoleGroups {
        RoleGroups {
            admins: format!("{prefix}-Admins"),
            requesters: format!("{prefix}-Requesters"),
            approvers: format!("{prefix}-Approvers"),
            security_officers: format!("{prefix}-Security"),
            viewers: format!("{prefix}-Viewers"),
        }
    }

    fn access(member_of: &[&str]) -> Access {
        let identity = Identity {
            username: "u".into(),
            display_name: "U".into(),
            email: None,
            groups: member_of.iter().map(|g| g.to_string()).collect(),
            source: IdentitySource::Local,
        };
        let agencies = [
            AgencyGroups { code: "vdi".into(), groups: groups("VDI") },
            AgencyGroups { code: "lm".into(), groups: groups("LM") },
        ];
        let platform = PlatformGroups { admins: "Platform-Admins".into(), operators: "Platform-Operators".into() };
        Access::of(&identity, &agencies, &platform)
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
    fn no_groups_no_access() {
        let a = access(&[]);
        assert_eq!(a, Access::default());
        assert_eq!(a.visible(["vdi", "lm"]), Vec::<String>::new());
    }
}
