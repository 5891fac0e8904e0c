//! Deciding about a request: approve or reject (approvers), cancel (its requester).

use super::{ActionError, Actor, error::field};
use crate::{
    context::Context,
    store::{
        now_ms,
        requests::{NewEvent, Request, RequestEvent},
    },
    workflow::{Denied, RequestState, approval_stage, state_after_approval},
};

/// The longest comment kept with a decision.
pub const MAX_COMMENT: usize = 2000;

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let the request go on.
    Approve,
    /// Stop it; the comment says why.
    Reject,
}

/// The request `id`, if the actor may see it (else `NotFound`, whether or not it exists).
pub async fn visible_request(context: &Context, actor: &Actor, id: &str) -> Result<Request, ActionError> {
    match context.store.request(id).await? {
        Some(request) if actor.access.sees(&request.agency) => Ok(request),
        _ => Err(ActionError::NotFound),
    }
}

/// Who approved stages of a request so far, from its timeline `events`: none of them may
/// give another stage.
pub fn earlier_approvers(events: &[RequestEvent]) -> Vec<&str> {
    events.iter().filter(|e| e.event.starts_with("approved_")).map(|e| e.actor.as_str()).collect()
}

/// Approves or rejects request `id` at the stage it waits in.
pub async fn decide(
    context: &Context,
    actor: &Actor,
    id: &str,
    verdict: Verdict,
    comment: &str,
) -> Result<Request, ActionError> {
    let request = visible_request(context, actor, id).await?;
    let comment = comment.trim();
    if comment.chars().count() > MAX_COMMENT {
        return Err(field("comment", format!("must be at most {MAX_COMMENT} characters")));
    }
    if verdict == Verdict::Reject && comment.is_empty() {
        return Err(field("comment", "say why the request is rejected: the requester reads it"));
    }
    let action = match verdict {
        Verdict::Approve => "approve",
        Verdict::Reject => "reject",
    };
    let object = format!("request {id}");
    let events = context.store.request_events(id).await?;
    let approved_by = earlier_approvers(&events);
    let stage = match approval_stage(
        &actor.access,
        &actor.identity.username,
        &request.agency,
        &request.requester,
        &approved_by,
        request.state,
    ) {
        Ok(stage) => stage,
        Err(denied) => {
            actor.audit(context, Some(&request.agency), action, &object, "denied", denied.code()).await?;
            return Err(match denied {
                Denied::NotWaiting => ActionError::Conflict("this request is not waiting for a decision".into()),
                Denied::OwnRequest => ActionError::Forbidden("no one approves their own request".into()),
                Denied::NotAnApprover => ActionError::Forbidden("you do not approve this stage of the request".into()),
                Denied::EarlierStage => ActionError::Forbidden(
                    "you gave an earlier approval of this request; each stage of the chain needs another person".into(),
                ),
            });
        }
    };
    let to = match verdict {
        Verdict::Approve => state_after_approval(request.approval, request.state),
        Verdict::Reject => RequestState::Rejected,
    };
    let event_name = match verdict {
        Verdict::Approve => format!("approved_{}", stage.as_str()),
        Verdict::Reject => format!("rejected_{}", stage.as_str()),
    };
    let event = NewEvent {
        actor: &actor.identity.username,
        actor_name: &actor.identity.display_name,
        event: &event_name,
        comment,
    };
    let mut tx = context.store.begin().await?;
    let Some(moved) = tx.transition(id, &[request.state], to, &event, "", now_ms()).await? else {
        tx.rollback().await?;
        actor.audit(context, Some(&request.agency), action, &object, "denied", "decided meanwhile").await?;
        return Err(ActionError::Conflict("someone else decided about this request meanwhile".into()));
    };
    tx.commit(&actor.event(Some(&request.agency), action, &object, "success", comment)).await?;
    if moved.state == RequestState::Approved {
        context.granted.notify_one();
    }
    Ok(moved)
}

/// Withdraws the actor's own request while it waits for a decision.
pub async fn cancel(context: &Context, actor: &Actor, id: &str) -> Result<Request, ActionError> {
    let request = visible_request(context, actor, id).await?;
    let object = format!("request {id}");
    if !request.requester.eq_ignore_ascii_case(&actor.identity.username) {
        actor.audit(context, Some(&request.agency), "cancel", &object, "denied", "not the requester").await?;
        return Err(ActionError::Forbidden("only the requester withdraws a request".into()));
    }
    let event = NewEvent {
        actor: &actor.identity.username,
        actor_name: &actor.identity.display_name,
        event: "cancelled",
        comment: "",
    };
    let waiting = [RequestState::AwaitingAgency, RequestState::AwaitingPlatform];
    let mut tx = context.store.begin().await?;
    match tx.transition(id, &waiting, RequestState::Cancelled, &event, "", now_ms()).await? {
        Some(moved) => {
            tx.commit(&actor.event(Some(&request.agency), "cancel", &object, "success", "")).await?;
            Ok(moved)
        }
        None => {
            tx.rollback().await?;
            actor.audit(context, Some(&request.agency), "cancel", &object, "denied", "no longer waiting").await?;
            Err(ActionError::Conflict("this request is no longer waiting and cannot be withdrawn".into()))
        }
    }
}
