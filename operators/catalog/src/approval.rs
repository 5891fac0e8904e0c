//! Whether an approval chain binds an admission request (pure).
//!
//! An item whose approval policy asks for approval may be ordered, resized or
//! re-parameterised only by the portal — which applies an order after its chain is
//! complete, and records every step in its audit trail — or by a platform administrator.
//! Anyone else would skip the chain with kubectl, since RBAC lets requesters create
//! instances (for the items that need no approval), so the webhook refuses them and
//! points to the portal.

use makonis_api::catalog::{Approval, ServiceInstanceSpec};

/// Who may order items that need approval without going through the portal's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalGate {
    /// The portal's Kubernetes user, e.g. `system:serviceaccount:makonis-system:makonis-portal`.
    pub portal_user: String,
    /// Groups whose members are platform administrators (e.g. `system:masters`).
    pub platform_admin_groups: Vec<String>,
}

/// The caller of an admission request.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The authenticated user name.
    pub username: &'a str,
    /// The user's groups.
    pub groups: &'a [String],
}

impl ApprovalGate {
    /// `Ok` when `caller` may make the spec `new` (from `old`, `None` for a new instance)
    /// of an item with `approval`; otherwise the message to refuse with. Requests that
    /// leave the spec as it is (labels, finalizers, deletion) are never held.
    pub fn check(
        &self,
        item: &str,
        approval: Approval,
        old: Option<&ServiceInstanceSpec>,
        new: &ServiceInstanceSpec,
        caller: Caller<'_>,
    ) -> Result<(), String> {
        if approval == Approval::None || old == Some(new) {
            return Ok(());
        }
        if caller.username == self.portal_user || caller.groups.iter().any(|g| self.platform_admin_groups.contains(g)) {
            return Ok(());
        }
        let chain = match approval {
            Approval::AgencyApprover => "the agency's approvers",
            _ => "the agency's approvers and then the platform's operators",
        };
        let what = if old.is_some() { "changed (plan or parameters)" } else { "ordered" };
        Err(format!(
            "catalog item `{item}` is {what} only after {chain} approve: order or change it in the self-service \
             portal, where the approvals are given and recorded ({} may not do it directly)",
            caller.username
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn gate() -> ApprovalGate {
        ApprovalGate {
            portal_user: "system:serviceaccount:makonis-system:makonis-portal".into(),
            platform_admin_groups: vec!["system:masters".into(), "Makonis-Platform-Admins".into()],
        }
    }

    fn spec(plan: &str) -> ServiceInstanceSpec {
        ServiceInstanceSpec { catalog_item: "dms".into(), plan: plan.into(), parameters: json!({}) }
    }

    fn caller<'a>(username: &'a str, groups: &'a [String]) -> Caller<'a> {
        Caller { username, groups }
    }

    #[test]
    fn only_the_portal_and_platform_admins_order_items_that_need_approval() {
        let none: Vec<String> = Vec::new();
        let requesters = vec!["VDI-Requesters".to_string(), "VDI-Admins".to_string()];
        let admins = vec!["Makonis-Platform-Admins".to_string()];
        let gate = gate();
        let refused =
            gate.check("dms", Approval::AgencyApprover, None, &spec("small"), caller("anna", &requesters)).unwrap_err();
        assert!(refused.contains("self-service portal") && refused.contains("anna"), "{refused}");
        assert!(
            gate.check("dms", Approval::AgencyApprover, None, &spec("small"), caller(&gate.portal_user, &none)).is_ok()
        );
        assert!(
            gate.check("dms", Approval::AgencyApproverThenPlatform, None, &spec("small"), caller("root", &admins))
                .is_ok()
        );
        assert!(gate.check("dms", Approval::None, None, &spec("small"), caller("anna", &requesters)).is_ok());
    }

    #[test]
    fn a_change_of_plan_or_parameters_needs_the_chain_too_but_nothing_else_does() {
        let groups = vec!["VDI-Admins".to_string()];
        let gate = gate();
        let old = spec("small");
        let refused = gate
            .check("dms", Approval::AgencyApprover, Some(&old), &spec("large"), caller("ilze", &groups))
            .unwrap_err();
        assert!(refused.contains("changed"), "{refused}");
        let mut reparameterised = spec("small");
        reparameterised.parameters = json!({"hostname": "x.vdi.apps.makonis.lv"});
        assert!(
            gate.check("dms", Approval::AgencyApprover, Some(&old), &reparameterised, caller("ilze", &groups)).is_err()
        );
        assert!(gate.check("dms", Approval::AgencyApprover, Some(&old), &old.clone(), caller("ilze", &groups)).is_ok());
    }

    #[test]
    fn a_look_alike_of_the_portal_is_not_the_portal() {
        let groups = vec!["system:serviceaccounts:makonis-system".to_string()];
        let gate = gate();
        for username in [
            "system:serviceaccount:makonis-system:makonis-portal-x",
            "system:serviceaccount:agency-vdi:makonis-portal",
            "makonis-portal",
        ] {
            assert!(
                gate.check("dms", Approval::AgencyApprover, None, &spec("small"), caller(username, &groups)).is_err(),
                "{username}"
            );
        }
    }
}
