//! The portal's background work: apply granted requests to the cluster, and move
//! applied requests on as their instances become ready, fail or disappear. Several
//! replicas may run it at once: applying is idempotent (server-side apply) and every
//! state change is conditional on the state it starts from.
//!
//! What the worker does is audited as the platform (`makonis`). A change of the cluster
//! is outside the database, so it cannot share a transaction with its record; instead
//! the intent is recorded first (outcome `started`) and nothing is applied unless that
//! record is written; the outcome is recorded after, in one transaction with the
//! request's move. When the outcome cannot be recorded, the request stays where it was
//! and the next sweep applies again (idempotently), recording a new intent: the trail
//! may hold an intent twice, but never a change without one.

use std::{sync::Arc, time::Duration};

use tokio::sync::broadcast::error::RecvError;

use crate::{
    cluster::{
        apply::{api_message, apply_instance, retire_instance},
        follow::{Step, live_instance, next_state, next_step},
    },
    context::Context,
    store::{
        StoreError,
        audit::AuditEvent,
        now_ms,
        requests::{NewEvent, Request, RequestFilter},
    },
    workflow::{RequestKind, RequestState},
};

/// The platform's name in timelines and in the audit trail.
const PLATFORM: &str = "makonis";

/// How often everything in flight is looked at even without a change.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

async fn in_flight(context: &Context) -> Result<Vec<Request>, StoreError> {
    context
        .store
        .requests(&RequestFilter {
            states: Some(vec![RequestState::Approved, RequestState::Provisioning, RequestState::Retiring]),
            limit: 10_000,
            ..Default::default()
        })
        .await
}

/// The platform's audit record of `action` on `request`'s instance.
fn platform_event(request: &Request, action: &str, outcome: &str, message: &str) -> AuditEvent {
    let detail = if message.is_empty() {
        format!("request {}", request.id)
    } else {
        format!("request {}: {message}", request.id)
    };
    AuditEvent {
        at: now_ms(),
        actor: PLATFORM.into(),
        agency: Some(request.agency.clone()),
        action: action.into(),
        object: format!("instance {}", request.instance),
        outcome: outcome.into(),
        source_ip: "-".into(),
        session_id: "worker".into(),
        user_agent: concat!("makonis-portal/", env!("CARGO_PKG_VERSION")).into(),
        detail,
    }
}

/// Moves `request` to `to` with its timeline entry and `audit`, in one transaction;
/// nothing when another replica moved it first.
async fn record(
    context: &Context,
    request: &Request,
    to: RequestState,
    message: &str,
    audit: &AuditEvent,
) -> Result<(), StoreError> {
    let entry = NewEvent { actor: PLATFORM, actor_name: "Mākonis", event: to.as_str(), comment: message };
    let mut tx = context.store.begin().await?;
    match tx.transition(&request.id, &[request.state], to, &entry, message, now_ms()).await? {
        Some(_) => tx.commit(audit).await,
        None => tx.rollback().await,
    }
}

/// Applies one granted request and records the outcome; a transient failure is left
/// for the next sweep. Nothing is applied unless the intent is recorded first.
async fn apply(context: &Context, client: &kube::Client, request: &Request) -> Result<(), StoreError> {
    let action = if request.kind == RequestKind::Retire { "delete_instance" } else { "apply_instance" };
    context.store.audit(&platform_event(request, action, "started", "")).await?;
    let result = match request.kind {
        RequestKind::Order | RequestKind::Resize => {
            apply_instance(client, request, &context.config.instance_labels).await
        }
        RequestKind::Retire => retire_instance(client, request).await,
    };
    match result {
        Ok(()) => {
            let to =
                if request.kind == RequestKind::Retire { RequestState::Retiring } else { RequestState::Provisioning };
            record(context, request, to, "", &platform_event(request, action, "success", "")).await
        }
        Err(kube::Error::Api(status)) if status.code < 500 && !transient(&status) => {
            let message = api_message(&kube::Error::Api(status));
            tracing::warn!(request = request.id, message, "the cluster refused a granted request");
            let audit = platform_event(request, action, "failure", &message);
            record(context, request, RequestState::Failed, &message, &audit).await
        }
        Err(error) => {
            tracing::warn!(request = request.id, %error, "applying a granted request failed; retrying");
            let message = format!("retrying: {}", api_message(&error));
            context.store.audit(&platform_event(request, action, "failure", &message)).await
        }
    }
}

/// Whether the API server's refusal will pass by itself: the quota controller has not
/// counted the agency's instances yet (right after an agency or the CRD appears), the
/// object is being changed concurrently, or the server asks to slow down.
fn transient(status: &kube::core::Status) -> bool {
    status.code == 409 || status.code == 429 || status.message.contains("status unknown for quota")
}

/// Moves an applied request on if its instance says so; when this replica's cache
/// cannot tell, the API server decides (and without one, the request waits).
async fn follow(context: &Context, request: &Request) -> Result<(), StoreError> {
    let cached = context.view.instance(&request.agency, &request.instance);
    let next = match next_step(request.kind, request.state, &request.id, cached.as_deref()) {
        Step::Move(to, message) => Some((to, message)),
        Step::Wait => None,
        Step::Confirm => match &context.client {
            Some(client) => match live_instance(client, request).await {
                Ok(live) => next_state(request.kind, request.state, live.as_ref()),
                Err(error) => {
                    tracing::warn!(request = request.id, %error, "the instance could not be read; the request waits");
                    None
                }
            },
            None => None,
        },
    };
    if let Some((to, message)) = next {
        let outcome = if to == RequestState::Failed { "failure" } else { "success" };
        let said = if message.is_empty() { to.as_str().to_string() } else { format!("{}: {message}", to.as_str()) };
        let audit = platform_event(request, "follow_instance", outcome, &said);
        record(context, request, to, &message, &audit).await?;
    }
    Ok(())
}

/// One pass over everything in flight.
pub async fn sweep(context: &Context) -> Result<(), StoreError> {
    for request in in_flight(context).await? {
        match (request.state, &context.client) {
            (RequestState::Approved, Some(client)) => apply(context, client, &request).await?,
            (RequestState::Approved, None) => {}
            _ => follow(context, &request).await?,
        }
    }
    Ok(())
}

/// Runs until the process ends: a sweep on every grant, every instance change and every
/// [`SWEEP_INTERVAL`].
pub async fn run(context: Arc<Context>) {
    if !context.view.wait_until_ready().await {
        tracing::error!("the cluster caches never filled; the worker stops");
        return;
    }
    let mut changes = context.view.subscribe();
    loop {
        if let Err(error) = sweep(&context).await {
            tracing::error!(%error, "the request worker could not read or write the database; retrying");
        }
        tokio::select! {
            () = context.granted.notified() => {}
            change = changes.recv() => {
                if matches!(change, Err(RecvError::Closed)) {
                    return;
                }
                // A rollout changes many instances at once: one sweep covers them all.
                while changes.try_recv().is_ok() {}
            }
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
        }
    }
}
