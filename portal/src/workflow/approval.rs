//! The approval chain: which approvals an item's policy asks for, in which order, and who
//! may give the next one. No one approves their own request, and no one gives two stages
//! of one chain (separation of duties): a person who holds both the agency's approver role
//! and a platform role decides only one of the two stages of a request.

use makonis_api::catalog::Approval;

use super::RequestState;
use crate::identity::access::Access;

/// Whose approval a waiting request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalStage {
    /// One of the agency's approvers (or admins).
    Agency,
    /// One of the platform's operators.
    Platform,
}

impl ApprovalStage {
    /// The stage's name in the timeline, e.g. `agency`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agency => "agency",
            Self::Platform => "platform",
        }
    }
}

/// Why a user may not decide about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The request waits for no decision (already decided, or never needed one).
    NotWaiting,
    /// The user requested it themselves.
    OwnRequest,
    /// The user does not hold the role the stage needs.
    NotAnApprover,
    /// The user already gave an earlier stage of this request's chain.
    EarlierStage,
}

impl Denied {
    /// A stable code for the API and the audit trail.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotWaiting => "not_waiting",
            Self::OwnRequest => "own_request",
            Self::NotAnApprover => "not_an_approver",
            Self::EarlierStage => "earlier_stage",
        }
    }
}

/// The state a new request starts in under `policy`.
pub fn first_state(policy: Approval) -> RequestState {
    match policy {
        Approval::None => RequestState::Approved,
        Approval::AgencyApprover | Approval::AgencyApproverThenPlatform => RequestState::AwaitingAgency,
    }
}

/// The state after the approval of the stage `current` waits for.
pub fn state_after_approval(policy: Approval, current: RequestState) -> RequestState {
    match (policy, current) {
        (Approval::AgencyApproverThenPlatform, RequestState::AwaitingAgency) => RequestState::AwaitingPlatform,
        _ => RequestState::Approved,
    }
}

/// The stage a user would decide for on a request of `agency` by `requester` in `state`,
/// whose earlier stages were approved by `approved_by` (usernames), or why they may not.
pub fn approval_stage(
    access: &Access,
    username: &str,
    agency: &str,
    requester: &str,
    approved_by: &[&str],
    state: RequestState,
) -> Result<ApprovalStage, Denied> {
    let stage = match state {
        RequestState::AwaitingAgency => ApprovalStage::Agency,
        RequestState::AwaitingPlatform => ApprovalStage::Platform,
        _ => return Err(Denied::NotWaiting),
    };
    let allowed = match stage {
        ApprovalStage::Agency => access.may_approve_for(agency),
        ApprovalStage::Platform => access.may_approve_for_platform(),
    };
    if !allowed {
        return Err(Denied::NotAnApprover);
    }
    if username.eq_ignore_ascii_case(requester) {
        return Err(Denied::OwnRequest);
    }
    if approved_by.iter().any(|earlier| username.eq_ignore_ascii_case(earlier)) {
        return Err(Denied::EarlierStage);
    }
    Ok(stage)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::identity::access::{AgencyRole, PlatformRole};

    fn approver_of(agency: &str) -> Access {
        Access {
            platform: None,
            agencies: BTreeMap::from([(agency.to_string(), BTreeSet::from([AgencyRole::Approver]))]),
            ..Access::default()
        }
    }

    #[test]
    fn the_chain_follows_the_items_policy() {
        assert_eq!(first_state(Approval::None), RequestState::Approved);
        assert_eq!(first_state(Approval::AgencyApprover), RequestState::AwaitingAgency);
        assert_eq!(
            state_after_approval(Approval::AgencyApprover, RequestState::AwaitingAgency),
            RequestState::Approved
        );
        let chain = Approval::AgencyApproverThenPlatform;
        assert_eq!(first_state(chain), RequestState::AwaitingAgency);
        assert_eq!(state_after_approval(chain, RequestState::AwaitingAgency), RequestState::AwaitingPlatform);
        assert_eq!(state_after_approval(chain, RequestState::AwaitingPlatform), RequestState::Approved);
    }

    #[test]
    fn an_agency_approver_decides_the_agency_stage_of_their_agency_only() {
        let a = approver_of("vdi");
        assert_eq!(
            approval_stage(&a, "janis", "vdi", "anna", &[], RequestState::AwaitingAgency),
            Ok(ApprovalStage::Agency)
        );
        assert_eq!(
            approval_stage(&a, "janis", "lm", "anna", &[], RequestState::AwaitingAgency),
            Err(Denied::NotAnApprover)
        );
        assert_eq!(
            approval_stage(&a, "janis", "vdi", "anna", &[], RequestState::AwaitingPlatform),
            Err(Denied::NotAnApprover)
        );
    }

    #[test]
    fn no_one_approves_their_own_request() {
        let a = approver_of("vdi");
        assert_eq!(
            approval_stage(&a, "Anna", "vdi", "anna", &[], RequestState::AwaitingAgency),
            Err(Denied::OwnRequest)
        );
        let platform = Access { platform: Some(PlatformRole::Operator), ..Access::default() };
        assert_eq!(
            approval_stage(&platform, "op", "vdi", "op", &[], RequestState::AwaitingPlatform),
            Err(Denied::OwnRequest)
        );
        assert_eq!(
            approval_stage(&platform, "op", "vdi", "anna", &[], RequestState::AwaitingPlatform),
            Ok(ApprovalStage::Platform)
        );
    }

    #[test]
    fn one_person_gives_at_most_one_stage_of_a_chain() {
        let both = Access {
            platform: Some(PlatformRole::Operator),
            agencies: BTreeMap::from([("vdi".to_string(), BTreeSet::from([AgencyRole::Approver]))]),
            ..Access::default()
        };
        assert_eq!(
            approval_stage(&both, "Janis", "vdi", "anna", &["janis"], RequestState::AwaitingPlatform),
            Err(Denied::EarlierStage)
        );
        assert_eq!(
            approval_stage(&both, "janis", "vdi", "anna", &["ilze"], RequestState::AwaitingPlatform),
            Ok(ApprovalStage::Platform)
        );
    }

    #[test]
    fn decided_requests_wait_for_nobody() {
        let a = approver_of("vdi");
        for state in [RequestState::Approved, RequestState::Rejected, RequestState::Ready, RequestState::Cancelled] {
            assert_eq!(approval_stage(&a, "janis", "vdi", "anna", &[], state), Err(Denied::NotWaiting));
        }
    }
}
