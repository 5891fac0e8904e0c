//! API tokens: each user creates tokens that act for them, sees the secret once, sees when
//! each was last used and revokes them; an agency's administrators list and revoke the
//! tokens of everyone holding a role in the agency.

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use tera::Context as TeraContext;

use super::{local_path, see_other};
use crate::{
    actions::tokens::{agency_tokens, revoke_agency_token},
    store::now_ms,
    web::{AppState, error::WebError, viewer::Viewer},
};

/// The longest a token may live.
pub const MAX_DAYS: i64 = 365;

async fn page(
    state: &AppState,
    viewer: &Viewer,
    status: StatusCode,
    secret: Option<String>,
    problem: Option<&str>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let tokens = state.context.store.tokens_of(&actor.identity.username).await?;
    let administered = super::administered(state, actor);
    let mut context = TeraContext::new();
    context.insert("tokens", &tokens);
    context.insert("secret", &secret);
    context.insert("problem", &problem);
    context.insert("administered", &administered);
    context.insert("now", &now_ms());
    Ok(state.templates.page(viewer, status, "tokens.html", context))
}

/// `GET /tokens`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> Result<Response, WebError> {
    page(&state, &viewer, StatusCode::OK, None, None).await
}

/// The new-token form.
#[derive(Debug, Deserialize)]
pub struct NewToken {
    #[serde(default)]
    name: String,
    #[serde(default)]
    days: String,
}

/// `POST /tokens`: creates a token and shows its secret once.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<NewToken>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    if actor.token_id.is_some() {
        return Err(WebError::Forbidden("a token cannot create tokens".into()));
    }
    let name = form.name.trim();
    let days = form.days.trim().parse::<i64>().ok().filter(|d| (1..=MAX_DAYS).contains(d));
    let (Some(days), false) = (days, name.is_empty() || name.chars().count() > 100) else {
        return page(&state, &viewer, StatusCode::UNPROCESSABLE_ENTITY, None, Some("invalid")).await;
    };
    let now = now_ms();
    let agencies: Vec<String> = actor.access.agencies.keys().cloned().collect();
    let mut tx = state.context.store.begin().await?;
    let (info, secret) = tx.create_token(&actor.identity, &agencies, name, now, now + days * 86_400_000).await?;
    tx.commit(&actor.event(None, "create_token", &format!("token {}", info.id), "success", name)).await?;
    page(&state, &viewer, StatusCode::OK, Some(secret), None).await
}

/// `POST /tokens/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let object = format!("token {id}");
    let mut tx = state.context.store.begin().await?;
    if !tx.revoke_token(&actor.identity.username, &id, now_ms()).await? {
        tx.rollback().await?;
        actor.audit(&state.context, None, "revoke_token", &object, "denied", "no such live token of the user").await?;
        return Err(WebError::NotFound);
    }
    tx.commit(&actor.event(None, "revoke_token", &object, "success", "")).await?;
    Ok(see_other("/tokens"))
}

/// `GET /agencies/{agency}/tokens`: the agency's tokens, for its administrators.
pub async fn agency_list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let tokens = agency_tokens(&state.context, actor, &agency).await?;
    let mut context = TeraContext::new();
    context.insert("agency", &agency);
    context.insert("tokens", &tokens);
    context.insert("now", &now_ms());
    Ok(state.templates.page(&viewer, StatusCode::OK, "agency_tokens.html", context))
}

/// `POST /agencies/{agency}/tokens/{id}/revoke`.
pub async fn agency_revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, id)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    revoke_agency_token(&state.context, actor, &agency, &id).await?;
    Ok(see_other(&local_path(Some(&format!("/agencies/{agency}/tokens")))))
}
