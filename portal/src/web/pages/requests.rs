//! Requests: the list, one request's timeline, the approvals inbox, and the decisions.

use axum::{
    Form,
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use serde::{Deserialize, Serialize};
use tera::Context as TeraContext;

use super::{refusal, see_other};
use crate::{
    actions::{
        ActionError, Actor,
        decide::{Verdict, cancel as cancel_request, decide, earlier_approvers, visible_request},
    },
    store::requests::{Request, RequestEvent, RequestFilter},
    web::{AppState, error::WebError, viewer::Viewer},
    workflow::{RequestState, approval_stage},
};

/// The list's filters.
#[derive(Debug, Default, Deserialize)]
pub struct ListFilter {
    /// `mine` (default for requesters) or `all` (everything the user may see).
    scope: Option<String>,
    /// Only one state.
    state: Option<String>,
}

/// The agencies whose requests `actor` may list (`None`: all, for platform staff).
pub fn visible_agencies(actor: &Actor) -> Option<Vec<String>> {
    if actor.access.is_platform() { None } else { Some(actor.access.agencies.keys().cloned().collect()) }
}

/// `GET /requests`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<ListFilter>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let mine = filter.scope.as_deref() == Some("mine");
    let only_state = filter.state.as_deref().and_then(|s| s.parse::<RequestState>().ok());
    let requests = state
        .context
        .store
        .requests(&RequestFilter {
            agencies: visible_agencies(actor),
            requester: mine.then(|| actor.identity.username.clone()),
            states: only_state.map(|s| vec![s]),
            limit: 500,
            ..Default::default()
        })
        .await?;
    let mut context = TeraContext::new();
    context.insert("requests", &requests);
    context.insert("scope", if mine { "mine" } else { "all" });
    context.insert("state", &only_state.map(|s| s.as_str()));
    context.insert("states", &RequestState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>());
    Ok(state.templates.page(&viewer, StatusCode::OK, "requests.html", context))
}

/// What the viewer may do with a request.
#[derive(Debug, Serialize)]
struct Powers {
    decide: bool,
    stage: Option<&'static str>,
    own: bool,
    cancel: bool,
}

fn powers(actor: &Actor, request: &Request, events: &[RequestEvent]) -> Powers {
    let stage = approval_stage(
        &actor.access,
        &actor.identity.username,
        &request.agency,
        &request.requester,
        &earlier_approvers(events),
        request.state,
    );
    let own = request.requester.eq_ignore_ascii_case(&actor.identity.username);
    Powers {
        decide: stage.is_ok(),
        stage: stage.ok().map(|s| s.as_str()),
        own,
        cancel: own && request.state.is_pending(),
    }
}

async fn request_page(
    state: &AppState,
    viewer: &Viewer,
    actor: &Actor,
    id: &str,
    status: StatusCode,
    problem: Option<String>,
) -> Result<Response, WebError> {
    let request = visible_request(&state.context, actor, id).await?;
    let events = state.context.store.request_events(id).await?;
    let instance = state.context.view.instance(&request.agency, &request.instance);
    let mut context = TeraContext::new();
    context.insert("request", &request);
    context.insert("events", &events);
    context.insert("powers", &powers(actor, &request, &events));
    context.insert("instance", &instance.as_deref().map(crate::cluster::InstanceSummary::of));
    context.insert("item", &state.context.view.item(&request.catalog_item).map(|i| i.spec.title.clone()));
    context.insert("agency", &state.context.view.agency(&request.agency).map(|a| a.spec.display_name.clone()));
    context.insert("problem", &problem);
    context.insert(
        "live",
        &matches!(request.state, RequestState::Provisioning | RequestState::Retiring | RequestState::Approved),
    );
    Ok(state.templates.page(viewer, status, "request.html", context))
}

/// `GET /requests/{id}`.
pub async fn show(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    request_page(&state, &viewer, actor, &id, StatusCode::OK, None).await
}

/// The decision form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    comment: String,
}

async fn decided(
    state: &AppState,
    viewer: &Viewer,
    id: &str,
    outcome: Result<Request, ActionError>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    match outcome {
        Ok(_) => Ok(see_other(&format!("/requests/{id}"))),
        Err(error) => {
            let (status, words) = refusal(error)?;
            request_page(state, viewer, actor, id, status, Some(words)).await
        }
    }
}

/// `POST /requests/{id}/approve`.
pub async fn approve(
    state: State<AppState>,
    viewer: Viewer,
    id: Path<String>,
    form: Form<DecisionForm>,
) -> Result<Response, WebError> {
    judge(state, viewer, id, form, Verdict::Approve).await
}

/// `POST /requests/{id}/reject`.
pub async fn reject(
    state: State<AppState>,
    viewer: Viewer,
    id: Path<String>,
    form: Form<DecisionForm>,
) -> Result<Response, WebError> {
    judge(state, viewer, id, form, Verdict::Reject).await
}

async fn judge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
    verdict: Verdict,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let outcome = decide(&state.context, actor, &id, verdict, &form.comment).await;
    decided(&state, &viewer, &id, outcome).await
}

/// `POST /requests/{id}/cancel`.
pub async fn cancel(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let outcome = cancel_request(&state.context, actor, &id).await;
    decided(&state, &viewer, &id, outcome).await
}

/// The requests `actor` may decide about now, oldest first.
pub async fn inbox(state: &AppState, actor: &Actor) -> Result<Vec<Request>, WebError> {
    let waiting = state
        .context
        .store
        .requests(&RequestFilter {
            agencies: visible_agencies(actor),
            states: Some(vec![RequestState::AwaitingAgency, RequestState::AwaitingPlatform]),
            limit: 1000,
            ..Default::default()
        })
        .await?;
    let mut decidable = Vec::with_capacity(waiting.len());
    for request in waiting {
        // Only someone who could also approve the agency's stage may have given it.
        let events = if request.state == RequestState::AwaitingPlatform && actor.access.may_approve_for(&request.agency)
        {
            state.context.store.request_events(&request.id).await?
        } else {
            Vec::new()
        };
        let stage = approval_stage(
            &actor.access,
            &actor.identity.username,
            &request.agency,
            &request.requester,
            &earlier_approvers(&events),
            request.state,
        );
        if stage.is_ok() {
            decidable.push(request);
        }
    }
    let mut waiting = decidable;
    waiting.reverse();
    Ok(waiting)
}

/// `GET /approvals`.
pub async fn approvals(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    if !actor.access.approves_anything() {
        return Err(WebError::Forbidden("you do not approve requests".into()));
    }
    let waiting = inbox(&state, actor).await?;
    let mut context = TeraContext::new();
    context.insert("requests", &waiting);
    Ok(state.templates.page(&viewer, StatusCode::OK, "approvals.html", context))
}
