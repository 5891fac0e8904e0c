//! The tenancy controller: the IO around the pure steps.
//!
//! `observe → validate → build → apply → status`: each reconcile reads the Agency (from
//! the watch cache) and its children, writes only what differs, and patches the status
//! only when it changed.

mod apply;
mod remove;

use std::{future::Future, sync::Arc, time::Duration};

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
    apply::Applier,
    error::{ErrorCategory, error_chain},
    events::EventPublisher,
    metrics::ReconcileMetrics,
    status::apply_status_if_changed,
};
use tracing::{Instrument, info_span};

use crate::{
    build::CONTROLLER,
    config::TenancyConfig,
    error::Error,
    status::{Outcome as StatusOutcome, desired_status},
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
            Ok(agency) if agency.metadata.deletion_timestamp.is_some() => remove::remove_agency(agency, &ctx).await,
            Ok(agency) => apply::reconcile_agency(agency, &ctx).await,
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
