//! Ordering: the form generated from the item's parameter schema, the review with price
//! and quota impact, and the submission as a request.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use makonis_catalog::{CompiledItem, FieldError};
use serde::Deserialize;
use serde_json::{Value, json};
use tera::Context as TeraContext;

use super::{catalog::ItemSummary, see_other};
use crate::{
    actions::{
        ActionError, Actor,
        order::{INSTANCE_NAME_RULE, INSTANCE_NAME_TAKEN, MAX_INSTANCE_NAME, OrderInput, Preview, preview, submit},
    },
    form,
    i18n::{Lang, Messages},
    web::{AppState, error::WebError, viewer::Viewer},
    workflow::RequestKind,
};

/// `?plan=&agency=` of the order form.
#[derive(Debug, Default, Deserialize)]
pub struct Choice {
    plan: Option<String>,
    agency: Option<String>,
}

fn compiled(state: &AppState, name: &str) -> Result<std::sync::Arc<CompiledItem>, WebError> {
    match state.context.view.compiled(name) {
        None => Err(WebError::NotFound),
        Some(Err(_)) => Err(WebError::Conflict("this catalog item cannot be ordered until its owners fix it".into())),
        Some(Ok(item)) => Ok(item),
    }
}

/// A free instance name for `item` in `agency`: `item`, then `item-2`, `item-3`…
fn free_name(state: &AppState, agency: &str, item: &str) -> String {
    let base: String = item.chars().take(MAX_INSTANCE_NAME - 4).collect();
    std::iter::once(base.clone())
        .chain((2..).map(|n| format!("{base}-{n}")))
        .find(|name| state.context.view.instance(agency, name).is_none())
        .unwrap_or(base)
}

/// What the order form shows, besides the parameters.
struct OrderForm<'a> {
    agency: &'a str,
    plan: &'a str,
    instance: &'a str,
    parameters: &'a Value,
    errors: &'a [FieldError],
    message: Option<String>,
}

fn form_page(
    state: &AppState,
    viewer: &Viewer,
    actor: &Actor,
    item: &CompiledItem,
    status: StatusCode,
    order: &OrderForm<'_>,
) -> Response {
    let (top, parameter_errors): (Vec<_>, Vec<_>) =
        order.errors.iter().cloned().partition(|e| !e.path.starts_with('/'));
    let messages = state.templates.messages();
    let top: std::collections::BTreeMap<_, _> =
        top.into_iter().map(|e| (e.path.clone(), localize_order_error(&e, viewer.lang, messages))).collect();
    let fields = form::build(item.schema(), order.parameters, &parameter_errors, viewer.lang);
    let mut context = TeraContext::new();
    let spec_item = state.context.view.item(item.name());
    context.insert("item", &spec_item.as_deref().map(ItemSummary::of));
    context.insert("plans", &item.spec().plans);
    context.insert("agencies", &agency_choices(state, actor));
    context.insert("agency", order.agency);
    context.insert("plan", order.plan);
    context.insert("instance", order.instance);
    context.insert("params", &fields);
    context.insert("top_errors", &top);
    context.insert("message", &order.message);
    state.templates.page(viewer, status, "order.html", context)
}

/// An order's own problem in the user's language: the instance-name rules have messages
/// of their own; the catalog core's (schema, plan) go through the form's translations.
fn localize_order_error(error: &FieldError, lang: Lang, messages: &Messages) -> String {
    match error.message.as_str() {
        INSTANCE_NAME_RULE => messages.get(lang, "order.error.instance_name").to_string(),
        INSTANCE_NAME_TAKEN => messages.get(lang, "order.error.instance_taken").to_string(),
        _ => form::localize(error, lang),
    }
}

/// The agencies the actor may order for, with their names.
fn agency_choices(state: &AppState, actor: &Actor) -> Vec<Value> {
    actor
        .access
        .ordering_agencies()
        .iter()
        .filter_map(|code| state.context.view.agency(code))
        .map(|a| json!({"code": a.spec.code, "lv": a.spec.display_name.lv, "en": a.spec.display_name.en}))
        .collect()
}

/// `GET /catalog/{item}/order`.
pub async fn form(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(choice): Query<Choice>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let agencies = actor.access.ordering_agencies();
    if agencies.is_empty() {
        return Err(WebError::Forbidden("you may not order for any agency".into()));
    }
    let item = compiled(&state, &name)?;
    let agency = choice.agency.filter(|a| agencies.contains(a)).unwrap_or_else(|| agencies[0].clone());
    let plan = choice
        .plan
        .filter(|p| item.plan(p).is_some())
        .or_else(|| item.spec().plans.first().map(|p| p.name.clone()))
        .unwrap_or_default();
    let instance = free_name(&state, &agency, &name);
    let order = OrderForm {
        agency: &agency,
        plan: &plan,
        instance: &instance,
        parameters: &json!({}),
        errors: &[],
        message: None,
    };
    Ok(form_page(&state, &viewer, actor, &item, StatusCode::OK, &order))
}

fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn review_page(
    state: &AppState,
    viewer: &Viewer,
    item: &CompiledItem,
    input: &OrderInput,
    pairs: &[(String, String)],
    preview: &Preview,
) -> Response {
    let fields = form::build(item.schema(), &preview.parameters, &[], viewer.lang);
    let hidden: Vec<_> = pairs.iter().filter(|(k, _)| k != "action" && k != crate::web::viewer::CSRF_FIELD).collect();
    let mut context = TeraContext::new();
    context.insert("item", &state.context.view.item(item.name()).as_deref().map(ItemSummary::of));
    context.insert("plan", &preview.plan);
    context.insert("agency", &state.context.view.agency(&input.agency).map(|a| a.spec.display_name.clone()));
    context.insert("agency_code", &input.agency);
    context.insert("instance", &input.instance);
    context.insert("params", &fields);
    context.insert("impact", &preview.impact);
    context.insert("refusal", &preview.refusal);
    context.insert("approval", &preview.approval);
    context.insert("hidden", &hidden);
    context.insert("kind", preview.kind.as_str());
    state.templates.page(viewer, StatusCode::OK, "review.html", context)
}

/// `POST /catalog/{item}/order`: `action=review` checks and shows the summary,
/// `action=submit` submits, `action=edit` goes back to the form with the values.
pub async fn post(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let item = compiled(&state, &name)?;
    let (parameters, conversion) = form::parse(item.schema(), &pairs);
    let input = OrderInput {
        agency: value_of(&pairs, "agency").to_string(),
        catalog_item: name.clone(),
        plan: value_of(&pairs, "plan").to_string(),
        instance: value_of(&pairs, "instance").trim().to_string(),
        parameters: parameters.clone(),
    };
    let again = |errors: &[FieldError], message: Option<String>, status| {
        let order = OrderForm {
            agency: &input.agency,
            plan: &input.plan,
            instance: &input.instance,
            parameters: &parameters,
            errors,
            message,
        };
        form_page(&state, &viewer, actor, &item, status, &order)
    };
    if !conversion.is_empty() {
        return Ok(again(&conversion, None, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let action = value_of(&pairs, "action");
    if action == "edit" {
        return Ok(again(&[], None, StatusCode::OK));
    }
    let outcome = if action == "submit" {
        submit(&state.context, actor, &input, RequestKind::Order)
            .await
            .map(|request| see_other(&format!("/requests/{}", request.id)))
    } else {
        preview(&state.context, actor, &input, RequestKind::Order)
            .await
            .map(|preview| review_page(&state, &viewer, &item, &input, &pairs, &preview))
    };
    match outcome {
        Ok(response) => Ok(response),
        Err(ActionError::Invalid(errors)) => Ok(again(&errors, None, StatusCode::UNPROCESSABLE_ENTITY)),
        Err(ActionError::Quota(message)) | Err(ActionError::Conflict(message)) => {
            Ok(again(&[], Some(message), StatusCode::CONFLICT))
        }
        Err(other) => Err(other.into()),
    }
}
