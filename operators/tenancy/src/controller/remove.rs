//! Removing a deleted agency, but only once its namespace holds nothing.

use k8s_openapi::api::core::v1::Namespace;
use kube::{Api, Resource, api::DeleteParams, runtime::controller::Action};
use makonis_api::tenancy::Agency;
use makonis_operator_kit::{
    apply::{ApiCallError, Outcome},
    finalizers::{has_finalizer, remove_finalizer},
};

use super::{Context, FINALIZER, REMOVAL_RECHECK, write_status};
use crate::{
    build::{CONTROLLER, QuotaMode, build},
    error::Error,
    observe::observe_namespace,
    removal::{NamespaceState, RemovalStep, plan_removal},
    status::Outcome as StatusOutcome,
};

/// Removes an agency that is being deleted, but only once its namespace is empty.
pub(super) async fn remove_agency(agency: &Agency, ctx: &Context) -> Result<Action, Error> {
    let api = &Api::<Agency>::all(ctx.client.clone());
    if !has_finalizer(agency, FINALIZER) {
        return Ok(Action::await_change());
    }
    let namespace = agency.namespace_name();
    let mut state = observe_namespace(&ctx.client, &namespace).await?;
    if matches!(state, NamespaceState::Active(_)) {
        // Freeze first, then look again: nothing can be created between the check and
        // the deletion of the namespace.
        let frozen = build(agency, &ctx.config, QuotaMode::Frozen).quota;
        if ctx.applier.ensure(&frozen).await?.outcome == Outcome::Applied {
            state = observe_namespace(&ctx.client, &namespace).await?;
        }
    }
    match plan_removal(&namespace, &state) {
        RemovalStep::Blocked(message) => {
            if write_status(agency, api, ctx, &StatusOutcome::RemovalBlocked(message.clone())).await? {
                ctx.events.warning(&agency.object_ref(&()), "DeletionBlocked", "Delete", message).await;
            }
            Ok(Action::requeue(REMOVAL_RECHECK))
        }
        RemovalStep::DeleteNamespace => {
            let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
            namespaces.delete(&namespace, &DeleteParams::default()).await.map_err(|error| ApiCallError {
                action: "deleting",
                kind: "Namespace".into(),
                name: namespace.clone(),
                error,
            })?;
            ctx.metrics.record_write(CONTROLLER, "Namespace");
            let message = format!("Namespace {namespace} is empty and is being deleted.");
            write_status(agency, api, ctx, &StatusOutcome::Removing(message.clone())).await?;
            ctx.events.normal(&agency.object_ref(&()), "Deleting", "Delete", message).await;
            Ok(Action::requeue(REMOVAL_RECHECK))
        }
        RemovalStep::WaitForNamespace => {
            let message = format!("Waiting for namespace {namespace} to be removed.");
            write_status(agency, api, ctx, &StatusOutcome::Removing(message)).await?;
            Ok(Action::requeue(REMOVAL_RECHECK))
        }
        RemovalStep::ReleaseAgency => {
            remove_finalizer(api, agency, FINALIZER, CONTROLLER, &ctx.metrics).await?;
            tracing::info!(namespace, "agency removed");
            Ok(Action::await_change())
        }
    }
}
