//! What users do, shared by the pages and the JSON API: each action checks access,
//! validates with the catalog core, and writes SQL in one transaction with its audit
//! record, so that an action that cannot be recorded does not happen. Handlers only
//! translate between HTTP and these functions.

pub mod decide;
pub mod error;
pub mod order;
pub mod password;
pub mod people;
pub mod retire;
pub mod sign_in;
pub mod tokens;

pub use error::ActionError;

use crate::{
    context::Context,
    identity::{Identity, access::Access},
    store::{audit::AuditEvent, now_ms},
};

/// Who acts, with what access, from where, with which credential.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The signed-in identity.
    pub identity: Identity,
    /// What it may do.
    pub access: Access,
    /// The client's address (behind trusted proxies, the one they report).
    pub source_ip: String,
    /// The client's `User-Agent`, shortened and without control characters.
    pub user_agent: String,
    /// The public id of the browser session acting (never its cookie), if a session.
    pub session_id: Option<String>,
    /// The id of the API token acting (the part before the dot), if a token.
    pub token_id: Option<String>,
}

impl Actor {
    /// The actor for `identity` from `source_ip` with `user_agent`, with access from the
    /// cluster view's agencies and the role groups' DNs now; no credential named yet.
    pub fn new(context: &Context, identity: Identity, source_ip: String, user_agent: String) -> Self {
        let access = {
            let dns = context.role_groups.read().unwrap_or_else(|p| p.into_inner());
            Access::of(&identity, &context.view.agency_groups(), &context.config.platform_groups, &dns)
        };
        Self { identity, access, source_ip, user_agent, session_id: None, token_id: None }
    }

    /// The session (`s-<id>`) or API token (`t-<id>`) the actor came through, as the
    /// audit trail names it; empty when neither (a sign-in that failed).
    pub fn credential(&self) -> String {
        match (&self.session_id, &self.token_id) {
            (Some(session), _) => format!("s-{session}"),
            (None, Some(token)) => format!("t-{token}"),
            (None, None) => String::new(),
        }
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
            session_id: self.credential(),
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

    /// Records a successful reading of `what` (`audit`, `security logs`) in `scope` (the
    /// agencies read; `None`: all): under the one agency read, so that its own readers
    /// see who read it, else under none, naming the agencies read or `all`.
    pub async fn audit_reading(
        &self,
        context: &Context,
        what: &str,
        scope: Option<&[String]>,
        action: &str,
        detail: &str,
    ) -> Result<(), ActionError> {
        let (agency, object) = match scope {
            Some([one]) => (Some(one.as_str()), format!("{what} {one}")),
            Some(several) => (None, format!("{what} {}", several.join(","))),
            None => (None, format!("{what} all")),
        };
        self.audit(context, agency, action, &object, "success", detail).await
    }
}

/// Whether `actor` administers `agency` (its administrators and platform administrators),
/// for managing its `what`; [`ActionError::NotFound`] when they cannot even see it.
pub(crate) fn administers(actor: &Actor, agency: &str, what: &str) -> Result<(), ActionError> {
    if actor.access.may_administer(agency) {
        Ok(())
    } else if actor.access.sees(agency) {
        Err(ActionError::Forbidden(format!("only the agency's administrators manage its {what}")))
    } else {
        Err(ActionError::NotFound)
    }
}
