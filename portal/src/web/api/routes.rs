//! The API's handlers: thin translations between JSON and the actions.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use makonis_catalog::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::body::ApiJson;
use crate::{
    actions::{
        ActionError, Actor,
        decide::{Verdict, cancel as cancel_request, decide, visible_request},
        order::{OrderInput, submit},
        retire::retire as retire_instance,
        tokens::{agency_tokens as list_agency_tokens, revoke_agency_token as revoke_token},
    },
    store::requests::RequestFilter,
    web::{
        AppState,
        error::WebError,
        pages::{
            admin::agency_rows,
            audit::{AuditFilter, Reading, entries},
            catalog::{ItemSummary, summaries},
            requests::visible_agencies,
            services::{ServiceRow, Services, row},
        },
        viewer::Viewer,
    },
    workflow::{RequestKind, RequestState},
};

type ApiResult = Result<Response, WebError>;

/// Moves order paths into the API body's: `plan` → `/plan`, `/x` → `/parameters/x`.
fn api_paths(error: ActionError) -> WebError {
    match error {
        ActionError::Invalid(errors) => WebError::Invalid(
            errors
                .into_iter()
                .map(|e| {
                    let path =
                        if e.path.starts_with('/') { format!("/parameters{}", e.path) } else { format!("/{}", e.path) };
                    FieldError::new(path, e.message)
                })
                .collect(),
        ),
        other => other.into(),
    }
}

fn signed_in(viewer: &Viewer) -> Result<&Actor, WebError> {
    viewer.signed_in()
}

/// `GET /api/v1/catalog?q=&category=`.
pub async fn catalog(State(state): State<AppState>, viewer: Viewer, Query(filter): Query<CatalogFilter>) -> ApiResult {
    signed_in(&viewer)?;
    let items = summaries(
        &state.context.view.items(),
        filter.q.as_deref().unwrap_or(""),
        filter.category.as_deref().unwrap_or(""),
    );
    Ok(Json(json!({ "items": items })).into_response())
}

/// Filters of the catalog list.
#[derive(Debug, Deserialize)]
pub struct CatalogFilter {
    q: Option<String>,
    category: Option<String>,
}

/// `GET /api/v1/catalog/{item}`.
pub async fn item(State(state): State<AppState>, viewer: Viewer, Path(name): Path<String>) -> ApiResult {
    signed_in(&viewer)?;
    let item = state.context.view.item(&name).ok_or(WebError::NotFound)?;
    Ok(Json(json!({
        "item": ItemSummary::of(&item),
        "plans": item.spec.plans,
        "approval": item.spec.approval,
        "parameters": item.spec.parameters,
        "retainOnRetire": item.spec.retain_on_retire,
    }))
    .into_response())
}

/// `GET /api/v1/agencies`: the agencies the caller sees, with their use of the quota.
pub async fn agencies(State(state): State<AppState>, viewer: Viewer) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let rows = agency_rows(&state, visible_agencies(actor)).await?;
    Ok(Json(json!({ "agencies": rows })).into_response())
}

/// `GET /api/v1/agencies/{agency}/tokens`: the agency's API tokens, for its administrators.
pub async fn agency_tokens(State(state): State<AppState>, viewer: Viewer, Path(agency): Path<String>) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let tokens = list_agency_tokens(&state.context, actor, &agency).await?;
    Ok(Json(json!({ "tokens": tokens })).into_response())
}

/// `POST /api/v1/agencies/{agency}/tokens/{id}/revoke`.
pub async fn revoke_agency_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, id)): Path<(String, String)>,
) -> ApiResult {
    let actor = signed_in(&viewer)?;
    revoke_token(&state.context, actor, &agency, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Filters of the request list.
#[derive(Debug, Deserialize)]
pub struct RequestsFilter {
    state: Option<String>,
    mine: Option<bool>,
    limit: Option<i64>,
}

/// `GET /api/v1/requests`.
pub async fn requests(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<RequestsFilter>,
) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let states = match filter.state.as_deref() {
        None | Some("") => None,
        Some(name) => {
            Some(vec![name.parse::<RequestState>().map_err(|e| WebError::Invalid(vec![FieldError::new("state", e)]))?])
        }
    };
    let list = state
        .context
        .store
        .requests(&RequestFilter {
            agencies: visible_agencies(actor),
            states,
            requester: filter.mine.unwrap_or(false).then(|| actor.identity.username.clone()),
            limit: filter.limit.unwrap_or(500).clamp(1, 10_000),
            ..Default::default()
        })
        .await?;
    Ok(Json(json!({ "requests": list })).into_response())
}

/// The body of `POST /api/v1/requests`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRequest {
    agency: String,
    catalog_item: String,
    plan: String,
    instance: String,
    #[serde(default)]
    parameters: Option<Value>,
    #[serde(default)]
    kind: Option<String>,
}

/// `POST /api/v1/requests`: orders (or, with `"kind": "resize"`, resizes) an instance.
pub async fn create_request(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<CreateRequest>,
) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let kind = match body.kind.as_deref() {
        None | Some("order") => RequestKind::Order,
        Some("resize") => RequestKind::Resize,
        Some(other) => {
            return Err(WebError::Invalid(vec![FieldError::new(
                "/kind",
                format!("must be order or resize, not {other}"),
            )]));
        }
    };
    let input = OrderInput {
        agency: body.agency,
        catalog_item: body.catalog_item,
        plan: body.plan,
        instance: body.instance,
        parameters: body.parameters.unwrap_or_else(|| json!({})),
    };
    let request = submit(&state.context, actor, &input, kind).await.map_err(api_paths)?;
    Ok((StatusCode::CREATED, Json(json!({ "request": request }))).into_response())
}

/// `GET /api/v1/requests/{id}`.
pub async fn request(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let request = visible_request(&state.context, actor, &id).await?;
    let events = state.context.store.request_events(&id).await?;
    Ok(Json(json!({ "request": request, "events": events })).into_response())
}

/// The body of a decision.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    #[serde(default)]
    comment: String,
}

async fn decided(state: &AppState, viewer: &Viewer, id: &str, verdict: Verdict, body: Decision) -> ApiResult {
    let actor = signed_in(viewer)?;
    let request = decide(&state.context, actor, id, verdict, &body.comment).await.map_err(api_paths)?;
    Ok(Json(json!({ "request": request })).into_response())
}

/// `POST /api/v1/requests/{id}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult {
    decided(&state, &viewer, &id, Verdict::Approve, body).await
}

/// `POST /api/v1/requests/{id}/reject`.
pub async fn reject(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult {
    decided(&state, &viewer, &id, Verdict::Reject, body).await
}

/// `POST /api/v1/requests/{id}/cancel`.
pub async fn cancel(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let request = cancel_request(&state.context, actor, &id).await.map_err(api_paths)?;
    Ok(Json(json!({ "request": request })).into_response())
}

/// The body of the services list, serialised straight from the rows.
#[derive(Serialize)]
struct ServiceList<'a> {
    services: Vec<ServiceRow<'a>>,
}

/// Filter of the services list.
#[derive(Debug, Deserialize)]
pub struct ServicesFilter {
    agency: Option<String>,
}

/// `GET /api/v1/services`.
pub async fn services(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<ServicesFilter>,
) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let services = Services::visible(&state, actor, filter.agency.as_deref().filter(|a| !a.is_empty()));
    Ok(Json(ServiceList { services: services.rows() }).into_response())
}

/// `GET /api/v1/services/{agency}/{name}`.
pub async fn service(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
) -> ApiResult {
    let actor = signed_in(&viewer)?;
    if !actor.access.sees(&agency) {
        return Err(WebError::NotFound);
    }
    let instance = state.context.view.instance(&agency, &name).ok_or(WebError::NotFound)?;
    let item = state.context.view.item(&instance.spec.catalog_item);
    let children = instance.status.as_ref().map(|s| s.children.as_slice()).unwrap_or_default();
    let service = row(&agency, &instance, item.as_deref());
    Ok(Json(json!({ "service": service, "parameters": instance.spec.parameters, "children": children }))
        .into_response())
}

/// The body of a retirement.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retirement {
    confirmation: String,
}

/// `POST /api/v1/services/{agency}/{name}/retire`.
pub async fn retire(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<Retirement>,
) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let request =
        retire_instance(&state.context, actor, &agency, &name, &body.confirmation).await.map_err(api_paths)?;
    Ok((StatusCode::CREATED, Json(json!({ "request": request }))).into_response())
}

/// `GET /api/v1/audit`.
pub async fn audit(State(state): State<AppState>, viewer: Viewer, Query(filter): Query<AuditFilter>) -> ApiResult {
    let actor = signed_in(&viewer)?;
    let events = entries(&state, actor, &filter, Reading::Api).await?;
    Ok(Json(json!({ "events": events })).into_response())
}
