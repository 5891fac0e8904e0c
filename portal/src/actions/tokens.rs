//! API tokens seen from an agency: its administrators (and platform administrators) list
//! the tokens of the people who hold a role in it, with their last use, and revoke them.

use super::{ActionError, Actor, administers};
use crate::{
    context::Context,
    store::{now_ms, tokens::TokenInfo},
};

/// The tokens listed under `agency`, newest first.
pub async fn agency_tokens(context: &Context, actor: &Actor, agency: &str) -> Result<Vec<TokenInfo>, ActionError> {
    administers(actor, agency, "API tokens")?;
    Ok(context.store.agency_tokens(agency).await?)
}

/// Revokes token `id` listed under `agency`, in one transaction with its audit record.
pub async fn revoke_agency_token(context: &Context, actor: &Actor, agency: &str, id: &str) -> Result<(), ActionError> {
    let object = format!("token {id}");
    if let Err(error) = administers(actor, agency, "API tokens") {
        actor.audit(context, Some(agency), "revoke_token", &object, "denied", error.code()).await?;
        return Err(error);
    }
    let mut tx = context.store.begin().await?;
    if !tx.revoke_agency_token(agency, id, &actor.identity.username, now_ms()).await? {
        tx.rollback().await?;
        actor
            .audit(context, Some(agency), "revoke_token", &object, "denied", "no such live token of the agency")
            .await?;
        return Err(ActionError::NotFound);
    }
    tx.commit(&actor.event(Some(agency), "revoke_token", &object, "success", "by an administrator")).await?;
    Ok(())
}
