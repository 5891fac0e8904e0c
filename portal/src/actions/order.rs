//! Ordering a new instance, or resizing one: the same checks the catalog controller
//! makes (the catalog core's), plus the quota held by pending requests.

use std::sync::Arc;

use makonis_api::catalog::{Approval, CatalogItem, Plan};
use makonis_catalog::{FieldError, compiled::Compiled, quota::Units};
use serde_json::Value;

use super::{ActionError, Actor, error::field};
use crate::{
    context::Context,
    store::{
        now_ms,
        requests::{NewRequest, PendingReservation, Request},
    },
    workflow::{
        ImpactLine, QuotaRefusal, RequestKind, RequestState, Reservation, Usage, check_reservation, first_state, impact,
    },
};

/// The longest instance name: children's names are built from it.
pub const MAX_INSTANCE_NAME: usize = 40;

/// What an order or a resize asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderInput {
    /// The agency's code.
    pub agency: String,
    /// The catalog item (for a resize: ignored, the instance's own item is used).
    pub catalog_item: String,
    /// The plan.
    pub plan: String,
    /// The instance's name (new for an order, existing for a resize).
    pub instance: String,
    /// The parameters, before defaults.
    pub parameters: Value,
}

/// An order checked and priced, before it is submitted.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The item.
    pub item: Arc<CatalogItem>,
    /// The chosen plan.
    pub plan: Plan,
    /// The parameters with defaults applied.
    pub parameters: Value,
    /// What the agency's quota looks like before and after.
    pub impact: Vec<ImpactLine>,
    /// Why it would not fit, if it would not.
    pub refusal: Option<String>,
    /// The approvals it will need.
    pub approval: Approval,
    /// Order or resize.
    pub kind: RequestKind,
    /// What it reserves while pending.
    pub reservation: Reservation,
}

/// What an instance name must be (the API's words; pages show the `order.error.*`
/// message of the user's language instead).
pub const INSTANCE_NAME_RULE: &str =
    "must be 1–40 lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen";

/// Why an instance name cannot be used: the agency already has (or has ordered) one.
pub const INSTANCE_NAME_TAKEN: &str = "the agency already has or has ordered a service with this name";

/// Whether `name` is a usable instance name (a DNS label of at most 40 characters).
pub fn check_instance_name(name: &str) -> Result<(), ActionError> {
    let valid = !name.is_empty()
        && name.len() <= MAX_INSTANCE_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid { Ok(()) } else { Err(field("instance", INSTANCE_NAME_RULE)) }
}

/// Moves the catalog core's ServiceInstance paths to the order's: `/spec/plan` → `plan`,
/// `/spec/parameters/x` → `/x`.
fn order_paths(errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            e.path = match e.path.strip_prefix("/spec/parameters") {
                Some(rest) => rest.to_string(),
                None if e.path == "/spec/plan" => "plan".into(),
                None => e.path,
            };
            e
        })
        .collect()
}

fn usable(compiled: Option<Compiled>) -> Result<Arc<makonis_catalog::CompiledItem>, ActionError> {
    match compiled {
        None => Err(ActionError::NotFound),
        Some(Err(problems)) => Err(ActionError::Conflict(format!(
            "this catalog item cannot be ordered until its owners fix it: {}",
            makonis_catalog::error::join(&problems)
        ))),
        Some(Ok(item)) => Ok(item),
    }
}

/// Checks `input` as `kind` and works out its price and quota impact, with the pending
/// requests `pending` of the agency.
fn check(
    context: &Context,
    actor: &Actor,
    input: &OrderInput,
    kind: RequestKind,
    pending: &[PendingReservation],
) -> Result<Preview, ActionError> {
    if !actor.access.sees(&input.agency) {
        return Err(ActionError::NotFound);
    }
    if !actor.access.may_order(&input.agency) {
        return Err(ActionError::Forbidden(format!("you may not order for agency {}", input.agency)));
    }
    let agency = context.view.agency(&input.agency).ok_or(ActionError::NotFound)?;
    let (item_name, current) = match kind {
        RequestKind::Order => {
            check_instance_name(&input.instance)?;
            let taken = context.view.instance(&input.agency, &input.instance).is_some()
                || pending.iter().any(|p| p.kind == RequestKind::Order && p.instance == input.instance);
            if taken {
                return Err(field("instance", INSTANCE_NAME_TAKEN));
            }
            (input.catalog_item.clone(), None)
        }
        RequestKind::Resize | RequestKind::Retire => {
            let instance = context.view.instance(&input.agency, &input.instance).ok_or(ActionError::NotFound)?;
            let held = instance.status.as_ref().and_then(|s| s.admitted.as_ref()).map(|a| a.resources.clone());
            (instance.spec.catalog_item.clone(), held)
        }
    };
    let compiled = usable(context.view.compiled(&item_name))?;
    let host_domains = agency.hostname_domains(&context.config.apps_domain);
    let order = compiled
        .check_order(&input.plan, &input.parameters, &host_domains)
        .map_err(|e| ActionError::Invalid(order_paths(e)))?;
    let item = context.view.item(&item_name).ok_or(ActionError::NotFound)?;
    let need = Units::of_plan(&order.plan.resources).map_err(ActionError::Conflict)?;
    let held = current.and_then(|r| Units::of_plan(&r).ok()).unwrap_or_default();
    let reservation = match kind {
        RequestKind::Order => Reservation::of(need),
        _ => Reservation::growth(held, need),
    };
    let limit = Units::of_quota(&agency.spec.quota).map_err(ActionError::Conflict)?;
    let usage: Usage = context.view.usage(&input.agency, pending);
    let max_instances = u32::try_from(agency.spec.quota.service_instances).unwrap_or(0);
    let refusal = check_reservation(limit, max_instances, &usage, reservation.units(), kind == RequestKind::Order)
        .err()
        .map(|refusal: QuotaRefusal| {
            format!("plan {} does not fit in agency {}'s quota: {refusal}", order.plan.name, input.agency)
        });
    Ok(Preview {
        impact: impact(limit, &usage, reservation.units()),
        refusal,
        approval: item.spec.approval,
        plan: order.plan,
        parameters: order.parameters,
        item,
        kind,
        reservation,
    })
}

/// Checks an order or resize and shows what it would cost, without submitting it.
pub async fn preview(
    context: &Context,
    actor: &Actor,
    input: &OrderInput,
    kind: RequestKind,
) -> Result<Preview, ActionError> {
    if !actor.access.sees(&input.agency) {
        return Err(ActionError::NotFound);
    }
    let pending = context.store.reservations(Some(std::slice::from_ref(&input.agency))).await?;
    check(context, actor, input, kind, &pending)
}

/// The request a checked order makes, or the quota refusal.
fn request_of(actor: &Actor, input: &OrderInput, preview: Preview) -> Result<NewRequest, ActionError> {
    if let Some(refusal) = preview.refusal {
        return Err(ActionError::Quota(refusal));
    }
    Ok(NewRequest {
        kind: preview.kind,
        catalog_item: preview.item.metadata.name.clone().unwrap_or_default(),
        plan: preview.plan.name,
        parameters: preview.parameters,
        instance: input.instance.clone(),
        requester: actor.identity.username.clone(),
        requester_name: actor.identity.display_name.clone(),
        approval: preview.approval,
        state: first_state(preview.approval),
        reservation: preview.reservation,
        monthly_price: preview.plan.monthly_price_eur,
    })
}

/// Submits an order or resize as a request. The whole check runs while the agency's
/// requests are held, so concurrent submissions cannot overbook; the request and its
/// audit record are committed together.
pub async fn submit(
    context: &Context,
    actor: &Actor,
    input: &OrderInput,
    kind: RequestKind,
) -> Result<Request, ActionError> {
    let object = format!("instance {}", input.instance);
    let refusal = if actor.access.sees(&input.agency) {
        let mut tx = context.store.begin().await?;
        let created = tx
            .create_request(&input.agency, now_ms(), |pending| {
                check(context, actor, input, kind, pending).and_then(|preview| request_of(actor, input, preview))
            })
            .await?;
        match created {
            Ok(request) => {
                let target = format!("request {}", request.id);
                tx.commit(&actor.event(Some(&input.agency), kind.as_str(), &target, "success", &object)).await?;
                if request.state == RequestState::Approved {
                    context.granted.notify_one();
                }
                return Ok(request);
            }
            Err(refusal) => {
                tx.rollback().await?;
                refusal
            }
        }
    } else {
        ActionError::NotFound
    };
    actor.audit(context, Some(&input.agency), kind.as_str(), &object, "denied", &refusal.to_string()).await?;
    Err(refusal)
}
