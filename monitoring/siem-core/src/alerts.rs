//! Alerts as people work them (triage), and the questions the portal asks the SIEM about
//! them: one definition for both sides, free of the store's IO.
//!
//! An alert is open until someone acknowledges it, and stays open or acknowledged until
//! someone closes it with a verdict; a closed alert may be reopened. It may be assigned
//! and commented on at any time before it is closed (comments after too). Which actions a
//! state allows is [`Triage::apply`], a pure function the store runs inside the
//! transaction that records the action, so two people acting at once cannot both close
//! an alert.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::search::Hit;

/// The most alerts one list answers.
pub const MAX_ALERTS: usize = 500;

/// The longest comment, in characters.
pub const MAX_COMMENT: usize = 4_000;

/// The longest assignee (a directory user name), in characters.
pub const MAX_ASSIGNEE: usize = 256;

/// The most matched events an alert's page shows from the store.
pub const MAX_SHOWN_EVENTS: usize = 50;

/// Sigma's levels, lowest first.
pub const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// The levels that open a security incident.
pub const INCIDENT_LEVELS: [&str; 2] = ["high", "critical"];

/// Where an alert is in its handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Nobody has looked at it yet.
    #[default]
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Decided, with a verdict.
    Closed,
}

impl AlertState {
    /// Its name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Closed => "closed",
        }
    }

    /// The state stored as `text`; `None` for a name no version wrote.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Open, Self::Acknowledged, Self::Closed].into_iter().find(|s| s.as_str() == text)
    }
}

/// What closing an alert decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// An attack or a breach of policy.
    TruePositive,
    /// The rule matched what it should not have.
    FalsePositive,
    /// The rule was right, but the activity was legitimate.
    Benign,
}

impl Verdict {
    /// Its name in the store and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TruePositive => "true_positive",
            Self::FalsePositive => "false_positive",
            Self::Benign => "benign",
        }
    }

    /// The verdict stored as `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::TruePositive, Self::FalsePositive, Self::Benign].into_iter().find(|v| v.as_str() == text)
    }
}

/// One thing a person does to an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TriageAction {
    /// "I am on it."
    Acknowledge,
    /// Hands it to a person (a directory user name).
    Assign {
        /// Who.
        assignee: String,
    },
    /// Decides it.
    Close {
        /// The decision.
        verdict: Verdict,
        /// Why, if said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// Takes a closed alert up again.
    Reopen,
    /// Adds a note.
    Comment {
        /// The note.
        text: String,
    },
}

impl TriageAction {
    /// Its name, for the audit trail and the metrics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Assign { .. } => "assign",
            Self::Close { .. } => "close",
            Self::Reopen => "reopen",
            Self::Comment { .. } => "comment",
        }
    }

    /// Whether its words are acceptable: the field and why not.
    pub fn check(&self) -> Result<(), TriageError> {
        match self {
            Self::Assign { assignee } => {
                let name = assignee.trim();
                if name.is_empty() {
                    return Err(TriageError::Field { field: "assignee", why: "is empty".into() });
                }
                text_field("assignee", name, MAX_ASSIGNEE, false)
            }
            Self::Close { comment: Some(comment), .. } => text_field("comment", comment, MAX_COMMENT, true),
            Self::Comment { text } => {
                if text.trim().is_empty() {
                    return Err(TriageError::Field { field: "comment", why: "is empty".into() });
                }
                text_field("comment", text, MAX_COMMENT, true)
            }
            Self::Acknowledge | Self::Reopen | Self::Close { comment: None, .. } => Ok(()),
        }
    }
}

fn text_field(field: &'static str, text: &str, max: usize, lines: bool) -> Result<(), TriageError> {
    let length = text.chars().count();
    if length > max {
        return Err(TriageError::Field { field, why: format!("has {length} characters; at most {max} are kept") });
    }
    let allowed = |c: char| lines && matches!(c, '\n' | '\r' | '\t');
    if let Some(c) = text.chars().find(|c| c.is_control() && !allowed(*c)) {
        return Err(TriageError::Field { field, why: format!("holds the control character U+{:04X}", c as u32) });
    }
    Ok(())
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriageError {
    /// A field's words cannot be taken.
    #[error("{field}: {why}")]
    Field {
        /// The field.
        field: &'static str,
        /// Why not.
        why: String,
    },
    /// The alert's state does not allow the action.
    #[error("the alert is {state}: it cannot be {wanted}", state = state.as_str())]
    State {
        /// Its state now.
        state: AlertState,
        /// What was tried, as a past participle (`acknowledged`).
        wanted: &'static str,
    },
}

/// An alert's handling now: the fold of its actions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Triage {
    /// Where it is.
    pub state: AlertState,
    /// Who has it, if anyone.
    pub assignee: Option<String>,
    /// The verdict, once closed.
    pub verdict: Option<Verdict>,
    /// When it last changed (RFC 3339, UTC); none while untouched.
    pub updated_at: Option<String>,
}

impl Triage {
    /// The handling after `action` at `at`, or why the action is refused.
    pub fn apply(&self, action: &TriageAction, at: &str) -> Result<Self, TriageError> {
        action.check()?;
        let refused = |wanted| Err(TriageError::State { state: self.state, wanted });
        let mut next = self.clone();
        match (action, self.state) {
            (TriageAction::Acknowledge, AlertState::Open) => next.state = AlertState::Acknowledged,
            (TriageAction::Acknowledge, _) => return refused("acknowledged"),
            (TriageAction::Assign { .. }, AlertState::Closed) => return refused("assigned"),
            (TriageAction::Assign { assignee }, _) => next.assignee = Some(assignee.trim().to_owned()),
            (TriageAction::Close { .. }, AlertState::Closed) => return refused("closed"),
            (TriageAction::Close { verdict, .. }, _) => {
                next.state = AlertState::Closed;
                next.verdict = Some(*verdict);
            }
            (TriageAction::Reopen, AlertState::Closed) => {
                next.state = AlertState::Open;
                next.verdict = None;
            }
            (TriageAction::Reopen, _) => return refused("reopened"),
            (TriageAction::Comment { .. }, _) => {}
        }
        next.updated_at = Some(at.to_owned());
        Ok(next)
    }
}

/// One action as recorded, with who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageRecord {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who: the portal user's name.
    pub actor: String,
    /// From where: the client's address as the portal saw it.
    pub address: String,
    /// What.
    pub action: TriageAction,
}

/// An alert's event in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventPlace {
    /// The partition.
    pub partition: String,
    /// Its place in the partition's chain.
    pub seq: u64,
    /// Its event time (RFC 3339).
    pub time: String,
}

/// An alert as the portal shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    /// Its order in the store: later alerts have larger numbers.
    pub row: i64,
    /// Its identity.
    pub id: String,
    /// When it was raised (RFC 3339).
    pub raised_at: String,
    /// The rule object (`DetectionRule namespace/name` or `ClusterDetectionRule name`).
    pub object: String,
    /// The Sigma rule's id, if it has one.
    pub rule_id: Option<String>,
    /// The rule's title.
    pub title: String,
    /// Its level.
    pub level: String,
    /// `detection` or `correlation`.
    pub kind: String,
    /// The agency of its events; none for the platform's.
    pub agency: Option<String>,
    /// The group-by fields and their values.
    pub group: BTreeMap<String, serde_json::Value>,
    /// The first event's time.
    pub first: String,
    /// The last event's time.
    pub last: String,
    /// Its events in the store.
    pub events: Vec<EventPlace>,
    /// Seconds from receiving its newest event to raising it.
    pub delay_seconds: f64,
    /// Raised while catching up.
    pub late: bool,
    /// Firings of its rule and group folded into it.
    pub firings: i64,
    /// Its handling.
    pub triage: Triage,
}

/// Which alerts to list, as the portal asks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertListRequest {
    /// The agencies whose alerts may be listed; `None` is every alert, the platform's too.
    pub agencies: Option<Vec<String>>,
    /// Only alerts in this state.
    #[serde(default)]
    pub state: Option<AlertState>,
    /// Only alerts of these levels.
    #[serde(default)]
    pub levels: Option<Vec<String>>,
    /// Oldest first, from after this row (a feed); otherwise newest first.
    #[serde(default)]
    pub after: Option<i64>,
    /// Newest first, from before this row (the next page).
    #[serde(default)]
    pub before: Option<i64>,
    /// At most this many.
    pub limit: usize,
}

impl AlertListRequest {
    /// Whether the question can be answered: the field and why not.
    pub fn check(&self) -> Result<(), TriageError> {
        if self.limit == 0 || self.limit > MAX_ALERTS {
            return Err(TriageError::Field { field: "limit", why: format!("must be 1 to {MAX_ALERTS}") });
        }
        if self.after.is_some() && self.before.is_some() {
            return Err(TriageError::Field { field: "after", why: "cannot be given with before".into() });
        }
        if let Some(level) = self.levels.iter().flatten().find(|l| !LEVELS.contains(&l.as_str())) {
            return Err(TriageError::Field {
                field: "levels",
                why: format!("{level:?} is not a Sigma level ({})", LEVELS.join(", ")),
            });
        }
        Ok(())
    }
}

/// A page of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertList {
    /// In the order asked for.
    pub alerts: Vec<AlertView>,
    /// `before` of the next page (newest first), when there may be more.
    pub next: Option<i64>,
}

/// One alert, asked for by the portal for a user who may see `agencies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRequest {
    /// Its id.
    pub id: String,
    /// As in [`AlertListRequest::agencies`].
    pub agencies: Option<Vec<String>>,
}

/// An action on one alert, by a portal user who may see `agencies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageRequest {
    /// Its id.
    pub id: String,
    /// As in [`AlertListRequest::agencies`].
    pub agencies: Option<Vec<String>>,
    /// Who acts.
    pub actor: String,
    /// From where.
    pub address: String,
    /// What.
    pub action: TriageAction,
}

/// An alert with its history and its events as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertDetail {
    /// The alert.
    pub alert: AlertView,
    /// What people did to it, oldest first.
    pub history: Vec<TriageRecord>,
    /// Its first [`MAX_SHOWN_EVENTS`] events from the store, in the alert's order; an
    /// event removed by retention is missing.
    pub events: Vec<Hit>,
}

/// Whether a user who may see `agencies` (`None`: all) may see an alert of `agency`
/// (`None`: the platform's own).
pub fn visible(agencies: Option<&[String]>, agency: Option<&str>) -> bool {
    match (agencies, agency) {
        (None, _) => true,
        (Some(agencies), Some(agency)) => agencies.iter().any(|a| a == agency),
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: &str = "2026-12-07T10:00:00Z";

    fn close(verdict: Verdict) -> TriageAction {
        TriageAction::Close { verdict, comment: None }
    }

    #[test]
    fn an_alert_is_acknowledged_assigned_closed_and_reopened() {
        let open = Triage::default();
        let acknowledged = open.apply(&TriageAction::Acknowledge, AT).unwrap();
        assert_eq!(acknowledged.state, AlertState::Acknowledged);
        assert_eq!(acknowledged.updated_at.as_deref(), Some(AT));
        let assigned = acknowledged.apply(&TriageAction::Assign { assignee: " anna.berzina ".into() }, AT).unwrap();
        assert_eq!(assigned.assignee.as_deref(), Some("anna.berzina"));
        let closed = assigned.apply(&close(Verdict::Benign), AT).unwrap();
        assert_eq!((closed.state, closed.verdict), (AlertState::Closed, Some(Verdict::Benign)));
        let reopened = closed.apply(&TriageAction::Reopen, AT).unwrap();
        assert_eq!((reopened.state, reopened.verdict), (AlertState::Open, None));
        assert_eq!(reopened.assignee.as_deref(), Some("anna.berzina"), "reopening keeps who has it");
    }

    #[test]
    fn a_state_refuses_what_does_not_follow_from_it() {
        let closed = Triage::default().apply(&close(Verdict::TruePositive), AT).unwrap();
        let refused = |triage: &Triage, action| triage.apply(&action, AT).unwrap_err().to_string();
        assert_eq!(refused(&closed, close(Verdict::Benign)), "the alert is closed: it cannot be closed");
        assert_eq!(refused(&closed, TriageAction::Acknowledge), "the alert is closed: it cannot be acknowledged");
        assert_eq!(
            refused(&closed, TriageAction::Assign { assignee: "x".into() }),
            "the alert is closed: it cannot be assigned"
        );
        assert_eq!(refused(&Triage::default(), TriageAction::Reopen), "the alert is open: it cannot be reopened");
        let acknowledged = Triage::default().apply(&TriageAction::Acknowledge, AT).unwrap();
        assert_eq!(
            refused(&acknowledged, TriageAction::Acknowledge),
            "the alert is acknowledged: it cannot be acknowledged"
        );
        let commented = closed.apply(&TriageAction::Comment { text: "checked with the agency".into() }, AT).unwrap();
        assert_eq!(commented.state, AlertState::Closed, "a closed alert may still be commented on");
    }

    #[test]
    fn words_are_checked_before_the_state() {
        let refused = |action: TriageAction| Triage::default().apply(&action, AT).unwrap_err().to_string();
        assert_eq!(refused(TriageAction::Comment { text: " \n ".into() }), "comment: is empty");
        assert_eq!(refused(TriageAction::Assign { assignee: "".into() }), "assignee: is empty");
        assert_eq!(
            refused(TriageAction::Assign { assignee: "anna\nadmin".into() }),
            "assignee: holds the control character U+000A"
        );
        assert_eq!(
            refused(TriageAction::Comment { text: "a\u{1b}[31m".into() }),
            "comment: holds the control character U+001B"
        );
        let long = "ā".repeat(MAX_COMMENT + 1);
        assert_eq!(
            refused(TriageAction::Close { verdict: Verdict::Benign, comment: Some(long) }),
            format!("comment: has {} characters; at most {MAX_COMMENT} are kept", MAX_COMMENT + 1)
        );
        let lines = TriageAction::Comment { text: "pirmā rinda\r\n\totrā".into() };
        assert!(Triage::default().apply(&lines, AT).is_ok(), "line breaks and tabs are words too");
    }

    #[test]
    fn actions_travel_as_tagged_json() {
        let action = TriageAction::Close { verdict: Verdict::FalsePositive, comment: Some("test".into()) };
        let json = serde_json::to_string(&action).unwrap();
        assert_eq!(json, r#"{"action":"close","verdict":"false_positive","comment":"test"}"#);
        assert_eq!(serde_json::from_str::<TriageAction>(&json).unwrap(), action);
        assert!(serde_json::from_str::<TriageAction>(r#"{"action":"close"}"#).is_err(), "closing needs a verdict");
        assert!(serde_json::from_str::<TriageAction>(r#"{"action":"delete"}"#).is_err());
        for state in [AlertState::Open, AlertState::Acknowledged, AlertState::Closed] {
            assert_eq!(AlertState::parse(state.as_str()), Some(state));
        }
        for verdict in [Verdict::TruePositive, Verdict::FalsePositive, Verdict::Benign] {
            assert_eq!(Verdict::parse(verdict.as_str()), Some(verdict));
        }
    }

    #[test]
    fn an_agencys_user_sees_only_its_alerts_and_never_the_platforms() {
        let lm = vec!["lm".to_owned()];
        assert!(visible(Some(&lm), Some("lm")));
        assert!(!visible(Some(&lm), Some("vdi")));
        assert!(!visible(Some(&lm), None), "the platform's own alerts are for platform security");
        assert!(!visible(Some(&[]), Some("lm")));
        assert!(visible(None, None) && visible(None, Some("vdi")));
    }

    #[test]
    fn a_list_question_is_bounded() {
        let ok = AlertListRequest { limit: 100, ..Default::default() };
        assert!(ok.check().is_ok());
        let field = |request: AlertListRequest| request.check().unwrap_err().to_string();
        assert_eq!(field(AlertListRequest { limit: 0, ..ok.clone() }), "limit: must be 1 to 500");
        assert_eq!(field(AlertListRequest { limit: 501, ..ok.clone() }), "limit: must be 1 to 500");
        assert_eq!(
            field(AlertListRequest { after: Some(1), before: Some(9), ..ok.clone() }),
            "after: cannot be given with before"
        );
        assert!(
            field(AlertListRequest { levels: Some(vec!["severe".into()]), ..ok })
                .starts_with("levels: \"severe\" is not a Sigma level")
        );
    }
}
