//! API tokens: each user creates tokens that act for them, sees the secret once, and
//! revokes them.

use axum::{
    Form,
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;
use tera::Context as TeraContext;

use super::see_other;
use crate::{
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
    let mut context = TeraContext::new();
    context.insert("tokens", &tokens);
    context.insert("secret", &secret);
    context.insert("problem", &problem);
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
    if actor.identity.source == crate::identity::IdentitySource::Token {
        return Err(WebError::Forbidden("a token cannot create tokens".into()));
    }
    let name = form.name.trim();
    let days = form.days.trim().parse::<i64>().ok().filter(|d| (1..=MAX_DAYS).contains(d));
    let (Some(days), false) = (days, name.is_empty() || name.chars().count() > 100) else {
        return page(&state, &viewer, StatusCode::UNPROCESSABLE_ENTITY, None, Some("invalid")).await;
    };
    let now = now_ms();
    let mut tx = state.context.store.begin().await?;
    let (info, secret) = tx.create_token(&actor.identity, name, now, now + days * 86_400_000).await?;
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
