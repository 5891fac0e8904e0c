//! Reconciling an agency in use: validate, build, apply what differs, report.

use std::collections::BTreeSet;

use k8s_openapi::api::{networking::v1::NetworkPolicy, rbac::v1::RoleBinding};
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::tenancy::{Agency, QuotaStatus};
use makonis_operator_kit::{
    apply::Outcome,
    error::{ErrorCategory, error_chain},
    finalizers::add_finalizer,
};

use super::{Context, FINALIZER, write_status};
use crate::{
    build::{CONTROLLER, Children, QuotaMode, build, child_selector, quota_status},
    error::Error,
    status::Outcome as StatusOutcome,
    validate::validate,
};

/// Makes the agency's children match its spec and reports the outcome in its status.
pub(super) async fn reconcile_agency(agency: &Agency, ctx: &Context) -> Result<Action, Error> {
    let api: Api<Agency> = Api::all(ctx.client.clone());
    let problems = validate(&agency.name_any(), &agency.spec);
    if !problems.is_empty() {
        let error = Error::InvalidSpec(problems.join("; "));
        if write_status(agency, &api, ctx, &StatusOutcome::Invalid(problems)).await? {
            ctx.events.warn(&agency.object_ref(&()), "Validate", &error).await;
        }
        return Ok(Action::await_change());
    }
    add_finalizer(&api, agency, FINALIZER, CONTROLLER, &ctx.metrics).await?;
    let children = build(agency, &ctx.config, QuotaMode::Active);
    match apply_children(&children, agency, ctx).await {
        Ok((changed, quota)) => {
            let outcome = StatusOutcome::Reconciled {
                quota,
                network_policies: children.network_policies.len(),
                role_bindings: children.role_bindings.len(),
            };
            write_status(agency, &api, ctx, &outcome).await?;
            if !changed.is_empty() {
                let note = format!("Applied {}.", changed.join(", "));
                ctx.events.normal(&agency.object_ref(&()), "Reconciled", "Apply", note).await;
            }
            Ok(Action::requeue(ctx.resync))
        }
        Err(error) => {
            let outcome = StatusOutcome::Failed { category: error.category(), message: error_chain(&error) };
            if let Err(status_error) = write_status(agency, &api, ctx, &outcome).await {
                tracing::warn!(error = %error_chain(&status_error), "cannot record the failure in the status");
            }
            ctx.events.warn(&agency.object_ref(&()), "Apply", &error).await;
            Err(error)
        }
    }
}

/// Applies every child that differs from its desired state and prunes the ones no
/// longer wanted. Returns what was written and the quota usage read back.
async fn apply_children(
    children: &Children,
    agency: &Agency,
    ctx: &Context,
) -> Result<(Vec<String>, Option<QuotaStatus>), Error> {
    let applier = &ctx.applier;
    let namespace = agency.namespace_name();
    let selector = child_selector(&agency.spec.code);
    let mut changed = Vec::new();
    let ns = applier.ensure(&children.namespace).await?;
    note_applied(&mut changed, ns.outcome, &children.namespace);
    let quota = applier.ensure(&children.quota).await?;
    note_applied(&mut changed, quota.outcome, &children.quota);
    let limits = applier.ensure(&children.limits).await?;
    note_applied(&mut changed, limits.outcome, &children.limits);
    for policy in &children.network_policies {
        note_applied(&mut changed, applier.ensure(policy).await?.outcome, policy);
    }
    let keep: BTreeSet<String> = children.network_policies.iter().filter_map(|p| p.metadata.name.clone()).collect();
    for pruned in applier.prune::<NetworkPolicy>(Some(&namespace), &selector, &keep).await? {
        changed.push(format!("deleted NetworkPolicy {pruned}"));
    }
    for binding in &children.role_bindings {
        note_applied(&mut changed, applier.ensure(binding).await?.outcome, binding);
    }
    let keep: BTreeSet<String> = children.role_bindings.iter().filter_map(|b| b.metadata.name.clone()).collect();
    for pruned in applier.prune::<RoleBinding>(Some(&namespace), &selector, &keep).await? {
        changed.push(format!("deleted RoleBinding {pruned}"));
    }
    Ok((changed, quota_status(&quota.object)))
}

/// Adds "Kind name" to `changed` when the child was written.
fn note_applied<K: Resource<DynamicType = ()>>(changed: &mut Vec<String>, outcome: Outcome, child: &K) {
    if outcome == Outcome::Applied {
        changed.push(format!("{} {}", K::kind(&()), child.meta().name.as_deref().unwrap_or_default()));
    }
}
