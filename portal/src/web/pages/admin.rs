//! Platform views: agencies with their quota and use, and the published catalog.

use axum::{extract::State, http::StatusCode, response::Response};
use kube::ResourceExt;
use makonis_catalog::quota::Units;
use serde::Serialize;
use serde_json::json;
use tera::Context as TeraContext;

use crate::{
    actions::Actor,
    web::{AppState, error::WebError, viewer::Viewer},
    workflow::{UsageLine, usage_lines},
};

fn platform(viewer: &Viewer) -> Result<&Actor, WebError> {
    let actor = viewer.signed_in()?;
    if actor.access.is_platform() {
        Ok(actor)
    } else {
        Err(WebError::Forbidden("this page is for the platform's staff".into()))
    }
}

/// One agency's line on the admin page.
#[derive(Debug, Serialize)]
pub struct AgencyRow {
    /// Code.
    pub code: String,
    /// Names.
    pub name: makonis_api::tenancy::DisplayName,
    /// CPU, memory and storage: used or reserved, and the limit.
    pub quota: Vec<UsageLine>,
    /// Instances (and pending orders) against the limit.
    pub instances: [u32; 2],
    /// Pending requests.
    pub pending: usize,
}

/// The agencies `only` names (every agency when `None`) with their use: what their
/// instances hold and their pending requests reserve.
pub async fn agency_rows(state: &AppState, only: Option<Vec<String>>) -> Result<Vec<AgencyRow>, WebError> {
    let pending = state.context.store.reservations(only.as_deref()).await?;
    Ok(state
        .context
        .view
        .agencies()
        .iter()
        .filter(|agency| only.as_ref().is_none_or(|codes| codes.contains(&agency.spec.code)))
        .map(|agency| {
            let code = &agency.spec.code;
            let mine: Vec<_> = pending.iter().filter(|r| &r.agency == code).cloned().collect();
            let usage = state.context.view.usage(code, &mine);
            let limit = Units::of_quota(&agency.spec.quota).unwrap_or_default();
            let quota = usage_lines(limit, &usage);
            AgencyRow {
                code: code.clone(),
                name: agency.spec.display_name.clone(),
                quota,
                instances: [usage.instances, u32::try_from(agency.spec.quota.service_instances).unwrap_or(0)],
                pending: mine.len(),
            }
        })
        .collect())
}

/// `GET /admin/agencies`.
pub async fn agencies(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    platform(&viewer)?;
    let mut context = TeraContext::new();
    context.insert("agencies", &agency_rows(&state, None).await?);
    Ok(state.templates.page(&viewer, StatusCode::OK, "admin_agencies.html", context))
}

/// `GET /admin/items`: what is published, and whether each item can be ordered.
pub async fn items(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    platform(&viewer)?;
    let rows: Vec<_> = state
        .context
        .view
        .items()
        .iter()
        .map(|item| {
            let problems = match state.context.view.compiled(&item.name_any()) {
                Some(Err(problems)) => problems.iter().map(ToString::to_string).collect(),
                _ => Vec::new(),
            };
            json!({
                "name": item.name_any(),
                "title": item.spec.title,
                "category": super::catalog::category_name(item.spec.category),
                "version": item.spec.version,
                "plans": item.spec.plans.iter().map(|p| &p.name).collect::<Vec<_>>(),
                "approval": item.spec.approval,
                "owner": item.spec.owner,
                "generation": item.metadata.generation,
                "problems": problems,
            })
        })
        .collect();
    let mut context = TeraContext::new();
    context.insert("items", &rows);
    Ok(state.templates.page(&viewer, StatusCode::OK, "admin_items.html", context))
}
