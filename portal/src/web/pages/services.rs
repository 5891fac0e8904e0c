//! My services: the agency's instances with status and outputs, and the day-2 actions
//! resize (a new request through the same approvals) and retire.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use std::{collections::HashMap, sync::Arc};

use kube::ResourceExt;
use makonis_api::catalog::{CatalogItem, LocalizedTitle, ServiceInstance};
use serde::{Deserialize, Serialize};
use tera::Context as TeraContext;

use super::{refusal, requests::visible_agencies, see_other};
use crate::{
    actions::{
        ActionError, Actor,
        order::{OrderInput, preview, submit},
        retire::{retained_templates, retire as retire_instance},
    },
    cluster::InstanceSummary,
    store::requests::RequestFilter,
    web::{AppState, error::WebError, viewer::Viewer},
    workflow::RequestKind,
};

/// A row of the services list, borrowed from the cached instance and item.
#[derive(Debug, Serialize)]
pub struct ServiceRow<'a> {
    /// The agency's code.
    pub agency: &'a str,
    /// The instance's name.
    pub name: &'a str,
    /// The catalog item.
    pub item: &'a str,
    /// The item's title, per language.
    pub title: Option<&'a LocalizedTitle>,
    /// The plan.
    pub plan: &'a str,
    /// Status.
    pub status: InstanceSummary<'a>,
}

/// The row of `instance` of agency `agency`, whose item (if published) is `item`.
pub fn row<'a>(agency: &'a str, instance: &'a ServiceInstance, item: Option<&'a CatalogItem>) -> ServiceRow<'a> {
    ServiceRow {
        agency,
        name: instance.metadata.name.as_deref().unwrap_or_default(),
        item: &instance.spec.catalog_item,
        title: item.map(|i| &i.spec.title),
        plan: &instance.spec.plan,
        status: InstanceSummary::of(instance),
    }
}

/// The list's filter.
#[derive(Debug, Default, Deserialize)]
pub struct AgencyFilter {
    agency: Option<String>,
}

/// The services an actor may see, with the catalog items they name, read from the caches
/// once; [`Services::rows`] borrows from it.
pub struct Services {
    instances: Vec<(String, Arc<ServiceInstance>)>,
    items: HashMap<String, Arc<CatalogItem>>,
}

impl Services {
    /// The services `actor` may see, optionally of one agency only.
    pub fn visible(state: &AppState, actor: &Actor, agency: Option<&str>) -> Self {
        let view = &state.context.view;
        let instances =
            view.instances_where(|code| actor.access.sees(code) && agency.is_none_or(|wanted| wanted == code));
        let items = view.items().into_iter().map(|item| (item.name_any(), item)).collect();
        Self { instances, items }
    }

    /// The rows, by agency and name.
    pub fn rows(&self) -> Vec<ServiceRow<'_>> {
        self.instances
            .iter()
            .map(|(code, instance)| row(code, instance, self.items.get(&instance.spec.catalog_item).map(Arc::as_ref)))
            .collect()
    }
}

/// `GET /services`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<AgencyFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let agency = filter.agency.filter(|a| !a.is_empty());
    let services = Services::visible(&state, actor, agency.as_deref());
    let visible: Vec<_> = state
        .context
        .view
        .agencies()
        .iter()
        .filter(|a| actor.access.sees(&a.spec.code))
        .map(|a| serde_json::json!({"code": a.spec.code, "lv": a.spec.display_name.lv, "en": a.spec.display_name.en}))
        .collect();
    // Agency staff see their quota here; platform staff have the agencies page.
    let quota = match visible_agencies(actor) {
        Some(own) => super::admin::agency_rows(&state, Some(own)).await?,
        None => Vec::new(),
    };
    let mut context = TeraContext::new();
    context.insert("services", &services.rows());
    context.insert("quota", &quota);
    context.insert("agencies", &visible);
    context.insert("agency", &agency);
    Ok(state.templates.page(&viewer, StatusCode::OK, "services.html", context))
}

async fn service_page(
    state: &AppState,
    viewer: &Viewer,
    agency: &str,
    name: &str,
    status: StatusCode,
    problem: Option<String>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    if !actor.access.sees(agency) {
        return Err(WebError::NotFound);
    }
    let instance = state.context.view.instance(agency, name).ok_or(WebError::NotFound)?;
    let item = state.context.view.item(&instance.spec.catalog_item);
    let history = state
        .context
        .store
        .requests(&RequestFilter {
            agencies: Some(vec![agency.to_string()]),
            instance: Some(name.to_string()),
            limit: 50,
            ..Default::default()
        })
        .await?;
    let mut context = TeraContext::new();
    context.insert("service", &row(agency, &instance, item.as_deref()));
    context.insert("children", &instance.status.as_ref().map(|s| s.children.clone()).unwrap_or_default());
    context.insert("plans", &item.as_ref().map(|i| i.spec.plans.clone()).unwrap_or_default());
    context.insert("retained", &retained_templates(&state.context, &instance));
    context.insert("history", &history);
    context.insert("may_change", &actor.access.may_order(agency));
    context.insert("problem", &problem);
    Ok(state.templates.page(viewer, status, "service.html", context))
}

/// `GET /services/{agency}/{name}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
) -> Result<Response, WebError> {
    service_page(&state, &viewer, &agency, &name, StatusCode::OK, None).await
}

/// The resize form's fields.
#[derive(Debug, Deserialize)]
pub struct ResizeForm {
    plan: String,
    #[serde(default)]
    action: String,
}

/// `POST /services/{agency}/{name}/resize`: `action=submit` submits a resize request;
/// anything else shows whether it fits.
pub async fn resize(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
    Form(form): Form<ResizeForm>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let instance = match state.context.view.instance(&agency, &name) {
        Some(instance) if actor.access.sees(&agency) => instance,
        _ => return Err(WebError::NotFound),
    };
    let input = OrderInput {
        agency: agency.clone(),
        catalog_item: instance.spec.catalog_item.clone(),
        plan: form.plan.clone(),
        instance: name.clone(),
        parameters: instance.spec.parameters.clone(),
    };
    let outcome = if form.action == "submit" {
        submit(&state.context, actor, &input, RequestKind::Resize).await.map(|r| Some(r.id))
    } else {
        preview(&state.context, actor, &input, RequestKind::Resize).await.and_then(|p| match p.refusal {
            Some(refusal) => Err(ActionError::Quota(refusal)),
            None => Ok(None),
        })
    };
    match outcome {
        Ok(Some(id)) => Ok(see_other(&format!("/requests/{id}"))),
        Ok(None) => service_page(&state, &viewer, &agency, &name, StatusCode::OK, None).await,
        Err(error) => {
            let (status, words) = refusal(error)?;
            service_page(&state, &viewer, &agency, &name, status, Some(words)).await
        }
    }
}

/// The retire form's fields.
#[derive(Debug, Deserialize)]
pub struct RetireForm {
    #[serde(default)]
    confirmation: String,
}

/// `POST /services/{agency}/{name}/retire`.
pub async fn retire(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
    Form(form): Form<RetireForm>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    match retire_instance(&state.context, actor, &agency, &name, &form.confirmation).await {
        Ok(request) => Ok(see_other(&format!("/requests/{}", request.id))),
        Err(error) => {
            let (status, words) = refusal(error)?;
            service_page(&state, &viewer, &agency, &name, status, Some(words)).await
        }
    }
}
