//! The tenancy controller: the IO around the pure steps.
//!
//! `observe → validate → build → apply → status`: each reconcile reads the Agency (from
//! the watch cache) and its children, writes only what differs, and patches the status
//! only when it changed.

use std::{collections::BTreeSet, future::Future, sync::Arc, time::Duration};

use futures::StreamExt;
use k8s_openapi::{
    api::{
        core::v1::{LimitRange, Namespace, ResourceQuota},
        networking::v1::NetworkPolicy,
        rbac::v1::RoleBinding,
    },
    jiff::Timestamp,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::DeleteParams,
    core::DeserializeGuard,
    runtime::{
        Controller,
        controller::Action,
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use makonis_api::{labels, tenancy::Agency};
use makonis_operator_kit::{
    apply::{ApiCallError, Applier, Outcome},
    error::{ErrorCategory, error_chain},
    events::EventPublisher,
    finalizers::{add_finalizer, has_finalizer, remove_finalizer},
    metrics::ReconcileMetrics,
    status::apply_status_if_changed,
};
use tracing::{Instrument, info_span};

use crate::{
    build::{CONTROLLER, Children, QuotaMode, build, child_selector, quota_status},
    config::TenancyConfig,
    error::Error,
    observe::observe_namespace,
    removal::{NamespaceState, RemovalStep, plan_removal},
    status::{Outcome as StatusOutcome, desired_status},
    validate::validate,
};

/// The finalizer that keeps an Agency until its namespace is safely gone.
pub const FINALIZER: &str = "tenancy.makonis.lv/namespace-protection";

/// How often a blocked or ongoing removal is checked again.
const REMOVAL_RECHECK: Duration = Duration::from_secs(10);
/// How long to wait before retrying a failed reconcile.
const RETRY_AFTER: Duration = Duration::from_secs(15);

/// Everything a reconcile needs, passed explicitly.
pub struct Context {
    client: Client,
    config: TenancyConfig,
    applier: Applier,
    events: EventPublisher,
    metrics: ReconcileMetrics,
    resync: Duration,
}

impl Context {
    /// A context for the controller. `resync` is how often a healthy agency is checked
    /// for drift even when nothing announced a change.
    pub fn new(
        client: Client,
        config: TenancyConfig,
        metrics: ReconcileMetrics,
        resync: Duration,
        instance: Option<String>,
    ) -> Self {
        Self {
            applier: Applier::new(client.clone(), CONTROLLER, metrics.clone()),
            events: EventPublisher::new(client.clone(), CONTROLLER, instance),
            client,
            config,
            metrics,
            resync,
        }
    }
}

/// Runs the controller until `shutdown` resolves. `selector` restricts it to the
/// Agencies whose labels match (to shard the work between instances).
pub async fn run(
    ctx: Arc<Context>,
    selector: Option<String>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let agencies: Api<DeserializeGuard<Agency>> = Api::all(client.clone());
    let mut agency_watch = watcher::Config::default();
    if let Some(selector) = &selector {
        agency_watch = agency_watch.labels(selector);
    }
    let managed = watcher::Config::default().labels(&format!("{}={CONTROLLER}", labels::MANAGED_BY));
    let agency_namespaces =
        watcher::Config::default().labels(&format!("{}={}", labels::TENANCY, labels::TENANCY_AGENCY));
    // Children are mapped to their agency by label, not by owner reference: the owner
    // is cluster-scoped, the children namespaced, and an owner-reference mapping would
    // look the agency up in the child's namespace. Children of agencies this instance
    // does not reconcile (see `selector`) are ignored.
    let controller = Controller::new(agencies, agency_watch);
    let store = controller.store();
    controller
        .watches(Api::<ResourceQuota>::all(client.clone()), managed.clone(), by_agency_label(store.clone()))
        .watches(Api::<LimitRange>::all(client.clone()), managed.clone(), by_agency_label(store.clone()))
        .watches(Api::<NetworkPolicy>::all(client.clone()), managed.clone(), by_agency_label(store.clone()))
        .watches(Api::<RoleBinding>::all(client.clone()), managed, by_agency_label(store.clone()))
        .watches(Api::<Namespace>::all(client), agency_namespaces, by_agency_label(store))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(error = %error_chain(&error), "reconcile ended with an error");
            }
        })
        .await;
}

/// Maps a child to the Agency named by its `makonis.lv/agency` label, if this instance
/// reconciles that Agency.
fn by_agency_label<K: Resource>(
    store: Store<DeserializeGuard<Agency>>,
) -> impl Fn(K) -> Option<ObjectRef<DeserializeGuard<Agency>>> {
    move |child| {
        let agency = ObjectRef::new(child.labels().get(labels::AGENCY)?);
        store.get(&agency).is_some().then_some(agency)
    }
}

/// One reconcile of one Agency, timed and counted.
async fn reconcile(guarded: Arc<DeserializeGuard<Agency>>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let name = guarded.name_any();
    let result = async {
        match &guarded.0 {
            Ok(agency) => reconcile_agency(agency, &ctx).await,
            Err(invalid) => {
                let error = Error::InvalidObject(invalid.error.clone());
                ctx.events.warn(&guarded.object_ref(&()), "Decode", &error).await;
                Err(error)
            }
        }
    }
    .instrument(info_span!("reconcile", controller = CONTROLLER, agency = %name))
    .await;
    ctx.metrics.record_reconcile(CONTROLLER, started.elapsed(), result.as_ref().err().map(ErrorCategory::category));
    result
}

fn error_policy(_guarded: Arc<DeserializeGuard<Agency>>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(category = error.category(), error = %error_chain(error), "reconcile failed; retrying");
    match error {
        Error::InvalidObject(_) => Action::await_change(),
        _ => Action::requeue(RETRY_AFTER),
    }
}

async fn reconcile_agency(agency: &Agency, ctx: &Context) -> Result<Action, Error> {
    let api: Api<Agency> = Api::all(ctx.client.clone());
    if agency.metadata.deletion_timestamp.is_some() {
        return remove_agency(agency, &api, ctx).await;
    }
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
) -> Result<(Vec<String>, Option<makonis_api::tenancy::QuotaStatus>), Error> {
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

/// Removes an agency that is being deleted, but only once its namespace is empty.
async fn remove_agency(agency: &Agency, api: &Api<Agency>, ctx: &Context) -> Result<Action, Error> {
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
                ctx.events.normal(&agency.object_ref(&()), "DeletionBlocked", "Delete", message).await;
            }
            Ok(Action::requeue(REMOVAL_RECHECK))
        }
        RemovalStep::DeleteNamespace => {
            let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
            namespaces.delete(&namespace, &DeleteParams::default()).await.map_err(|source| ApiCallError {
                action: "deleting",
                kind: "Namespace".into(),
                name: namespace.clone(),
                source,
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

/// Patches the status for `outcome` if it differs; returns whether it did.
async fn write_status(
    agency: &Agency,
    api: &Api<Agency>,
    ctx: &Context,
    outcome: &StatusOutcome,
) -> Result<bool, Error> {
    let desired = desired_status(agency, outcome, Timestamp::now());
    Ok(apply_status_if_changed(api, agency, agency.status.as_ref(), &desired, CONTROLLER, &ctx.metrics).await?)
}
