//! Retiring an instance: a request that needs no approval, confirmed by typing the
//! instance's name; the worker deletes the instance and the item's retained data stays.

use makonis_api::catalog::ServiceInstance;

use super::{ActionError, Actor, error::field};
use crate::{
    context::Context,
    store::{
        now_ms,
        requests::{NewRequest, Request},
    },
    workflow::{RequestKind, RequestState, Reservation},
};

/// The templates of the instance's item whose data outlives it (from `retainOnRetire`).
pub fn retained_templates(context: &Context, instance: &ServiceInstance) -> Vec<String> {
    context.view.item(&instance.spec.catalog_item).map(|item| item.spec.retain_on_retire.clone()).unwrap_or_default()
}

/// Asks for agency `agency`'s instance `name` to be retired; `confirmation` must repeat
/// the name.
pub async fn retire(
    context: &Context,
    actor: &Actor,
    agency: &str,
    name: &str,
    confirmation: &str,
) -> Result<Request, ActionError> {
    if !actor.access.sees(agency) {
        return Err(ActionError::NotFound);
    }
    let instance = context.view.instance(agency, name).ok_or(ActionError::NotFound)?;
    let object = format!("instance {name}");
    if !actor.access.may_order(agency) {
        actor.audit(context, Some(agency), "retire", &object, "denied", "not a requester").await?;
        return Err(ActionError::Forbidden(format!("you may not retire agency {agency}'s services")));
    }
    if confirmation.trim() != name {
        return Err(field("confirmation", format!("type the service's name, {name}, to confirm")));
    }
    let new = NewRequest {
        kind: RequestKind::Retire,
        catalog_item: instance.spec.catalog_item.clone(),
        plan: instance.spec.plan.clone(),
        parameters: instance.spec.parameters.clone(),
        instance: name.to_string(),
        requester: actor.identity.username.clone(),
        requester_name: actor.identity.display_name.clone(),
        approval: makonis_api::catalog::Approval::None,
        state: RequestState::Approved,
        reservation: Reservation::default(),
        monthly_price: "0".into(),
    };
    let mut tx = context.store.begin().await?;
    let created = tx
        .create_request(agency, now_ms(), |pending| {
            if pending.iter().any(|p| p.kind == RequestKind::Retire && p.instance == name) {
                Err(ActionError::Conflict(format!("{name} is already being retired")))
            } else {
                Ok(new)
            }
        })
        .await?;
    let request = match created {
        Ok(request) => request,
        Err(refusal) => {
            tx.rollback().await?;
            actor.audit(context, Some(agency), "retire", &object, "denied", &refusal.to_string()).await?;
            return Err(refusal);
        }
    };
    tx.commit(&actor.event(Some(agency), "retire", &format!("request {}", request.id), "success", &object)).await?;
    context.granted.notify_one();
    Ok(request)
}
