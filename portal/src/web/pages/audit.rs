//! The audit trail: platform admins see every entry, an agency's admins and security
//! officers their agency's.

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use tera::Context as TeraContext;

use crate::{
    actions::Actor,
    store::audit::{AuditEvent, AuditQuery},
    web::{AppState, error::WebError, viewer::Viewer},
};

/// The audit page's filters.
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    /// One agency.
    pub agency: Option<String>,
    /// One actor.
    pub actor: Option<String>,
    /// Entries before this time (Unix ms), for the next page.
    pub before: Option<i64>,
}

/// The page size.
pub const PAGE: i64 = 100;

/// The entries `actor` may read that match `filter`.
pub async fn entries(state: &AppState, actor: &Actor, filter: &AuditFilter) -> Result<Vec<AuditEvent>, WebError> {
    if !actor.access.reads_any_audit() {
        return Err(WebError::Forbidden("you may not read the audit trail".into()));
    }
    let wanted = filter.agency.as_deref().filter(|a| !a.is_empty());
    let agencies = match wanted {
        Some(agency) if actor.access.may_read_audit(agency) => Some(vec![agency.to_string()]),
        Some(_) => return Err(WebError::NotFound),
        None if actor.access.is_platform_admin() => None,
        None => Some(actor.access.agencies.keys().filter(|a| actor.access.may_read_audit(a)).cloned().collect()),
    };
    let query = AuditQuery {
        agencies,
        actor: filter.actor.clone().filter(|a| !a.is_empty()),
        before: filter.before,
        limit: PAGE,
    };
    Ok(state.context.store.audit_events(&query).await?)
}

/// `GET /audit`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<AuditFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let events = entries(&state, actor, &filter).await?;
    let mut context = TeraContext::new();
    context.insert("next_before", &(events.len() as i64 == PAGE).then(|| events.last().map(|e| e.at)).flatten());
    context.insert("events", &events);
    context.insert("agency", &filter.agency.unwrap_or_default());
    context.insert("actor", &filter.actor.unwrap_or_default());
    let readable: Vec<_> = state
        .context
        .view
        .agencies()
        .iter()
        .filter(|a| actor.access.may_read_audit(&a.spec.code))
        .map(|a| a.spec.code.clone())
        .collect();
    context.insert("agencies", &readable);
    Ok(state.templates.page(&viewer, StatusCode::OK, "audit.html", context))
}
