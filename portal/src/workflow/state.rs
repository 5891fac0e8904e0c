//! What a request is and where it stands.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A new instance of a catalog item.
    Order,
    /// Another plan (or other parameters) for an existing instance.
    Resize,
    /// The end of an instance; its retained data stays.
    Retire,
}

/// Where a request stands. Stored as its snake-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Waiting for one of the agency's approvers.
    AwaitingAgency,
    /// Approved by the agency, waiting for the platform's operators.
    AwaitingPlatform,
    /// Approved; the portal is about to apply it to the cluster.
    Approved,
    /// Refused by an approver (final).
    Rejected,
    /// Withdrawn by the requester before a decision (final).
    Cancelled,
    /// Applied; the instance is being provisioned or changed.
    Provisioning,
    /// The instance is ready (final for orders and resizes).
    Ready,
    /// Applying failed or the instance failed; the message says why.
    Failed,
    /// The instance is being retired.
    Retiring,
    /// The instance is gone; retained data stays (final).
    Retired,
}

impl RequestState {
    /// Every state, in the order of a request's life.
    pub const ALL: [RequestState; 10] = [
        Self::AwaitingAgency,
        Self::AwaitingPlatform,
        Self::Approved,
        Self::Rejected,
        Self::Cancelled,
        Self::Provisioning,
        Self::Ready,
        Self::Failed,
        Self::Retiring,
        Self::Retired,
    ];

    /// The stored name, e.g. `awaiting_agency`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingAgency => "awaiting_agency",
            Self::AwaitingPlatform => "awaiting_platform",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
            Self::Provisioning => "provisioning",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Retiring => "retiring",
            Self::Retired => "retired",
        }
    }

    /// The states that wait for a decision.
    pub const WAITING: [RequestState; 2] = [Self::AwaitingAgency, Self::AwaitingPlatform];

    /// The states whose quota the request itself holds (it waits, or was granted but not
    /// applied yet, so no instance counts it).
    pub const RESERVING: [RequestState; 3] = [Self::AwaitingAgency, Self::AwaitingPlatform, Self::Approved];

    /// Whether the request still waits for a decision.
    pub fn is_pending(self) -> bool {
        Self::WAITING.contains(&self)
    }
}

impl fmt::Display for RequestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("unknown request state `{s}`"))
    }
}

impl RequestKind {
    /// The stored name, e.g. `order`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Order => "order",
            Self::Resize => "resize",
            Self::Retire => "retire",
        }
    }
}

impl FromStr for RequestKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Order, Self::Resize, Self::Retire]
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown request kind `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for state in RequestState::ALL {
            assert_eq!(state.as_str().parse::<RequestState>(), Ok(state));
        }
        assert!("done".parse::<RequestState>().is_err());
    }

    #[test]
    fn every_waiting_request_holds_quota_and_no_applied_or_ended_one_does() {
        assert!(RequestState::WAITING.iter().all(|s| RequestState::RESERVING.contains(s)));
        for ended in [
            RequestState::Rejected,
            RequestState::Cancelled,
            RequestState::Provisioning,
            RequestState::Ready,
            RequestState::Failed,
            RequestState::Retiring,
            RequestState::Retired,
        ] {
            assert!(!RequestState::RESERVING.contains(&ended) && !ended.is_pending(), "{ended}");
        }
    }
}
