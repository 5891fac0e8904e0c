//! What users do, shared by the pages and the JSON API: each action checks access,
//! validates with the catalog core, and writes SQL in one transaction with its audit
//! record, so that an action that cannot be recorded does not happen. Handlers only
//! translate between HTTP and these functions.

pub mod connection;
pub mod decide;
pub mod error;
pub mod order;
pub mod retire;
pub mod sign_in;

pub use error::ActionError;

use crate::{
    context::Context,
    identity::{Identity, access::Access},
    store::{audit::AuditEvent, now_ms},
};

/// Who acts, with what access, from where.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The signed-in identity.
    pub identity: Identity,
    /// What it may do.
    pub access: Access,
    /// The client's address.
    pub source_ip: String,
    /// The session (`s-…`) or API token (`t-…`) the actor came through
    /// ([`connection::session_id`], [`connection::token_id`]).
    pub session_id: String,
    /// The client's user agent ([`connection::user_agent`]).
    pub user_agent: String,
}

impl Actor {
    /// The actor for `identity`, with access from the cluster view's agencies now; its
    /// session and user agent are empty until [`Actor::through`] names them.
    pub fn new(context: &Context, identity: Identity, source_ip: String) -> Self {
        let access = Access::of(&identity, &context.view.agency_groups(), &context.config.platform_groups);
        Self { identity, access, source_ip, session_id: String::new(), user_agent: String::new() }
    }

    /// The same actor, acting through session or token `session_id` with `user_agent`.
    pub fn through(self, session_id: String, user_agent: String) -> Self {
        Self { session_id, user_agent, ..self }
    }

    /// The record of what this actor did to `object` in `agency`, and how it ended
    /// (`success`, `denied`, `failure`).
    pub fn event(&self, agency: Option<&str>, action: &str, object: &str, outcome: &str, detail: &str) -> AuditEvent {
        AuditEvent {
            at: now_ms(),
            actor: self.identity.username.clone(),
            agency: agency.map(str::to_string),
            action: action.to_string(),
            object: object.to_string(),
            outcome: outcome.to_string(),
            source_ip: self.source_ip.clone(),
            session_id: self.session_id.clone(),
            user_agent: self.user_agent.clone(),
            detail: detail.to_string(),
        }
    }

    /// Records, on its own, what this actor did or tried (a refusal, a read, an
    /// export); [`ActionError::AuditUnavailable`] when it cannot be recorded, and the
    /// caller must then not go on.
    pub async fn audit(
        &self,
        context: &Context,
        agency: Option<&str>,
        action: &str,
        object: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<(), ActionError> {
        Ok(context.store.audit(&self.event(agency, action, object, outcome, detail)).await?)
    }
}
