//! The catalog controller: the IO around the pure steps.
//!
//! `observe (watch caches) → decide (pure) → apply (only what differs) → status (pure,
//! then one patch when it changed)`. Every child is read from a watch cache, and the
//! credentials Secret (which the operator may not watch) is read by name at most once per
//! resync, so a reconcile that finds nothing to do sends no request at all.

mod credentials;
mod items;
mod provision;
mod retire;

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use futures::{FutureExt, Stream, StreamExt, future::BoxFuture};
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller,
        controller::{self, Action},
        reflector::{ObjectRef, Store, store::Writer},
        watcher,
    },
};
use makonis_api::{
    catalog::{CatalogItem, ServiceInstance},
    labels,
    tenancy::Agency,
};
use makonis_catalog::{MANAGER, compiled::CompiledItems, render::ALLOWED_KINDS};
use makonis_operator_kit::{
    apply::Applier,
    error::{ErrorCategory, error_chain},
    events::EventPublisher,
    metrics::ReconcileMetrics,
    watch::{cached_guarded, cached_with_own_fields, report_undecodable},
};
use tokio::sync::mpsc;
use tracing::{Instrument, info_span};

use crate::{
    config::CatalogConfig,
    error::Error,
    stores::{CatalogView, Stores, api_resource, child_api},
};

/// The finalizer that lets an instance release its retained resources before it goes.
pub const FINALIZER: &str = "catalog.makonis.lv/retire";

/// How long to wait before retrying a failed reconcile.
const RETRY_AFTER: Duration = Duration::from_secs(15);
/// How long events about one instance are gathered before it is reconciled: a new
/// instance's children report progress in bursts (created, scheduled, available, bound),
/// and one reconcile per burst does the work of several.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// How soon a reconcile that lost a race with a newer version runs again.
const CONFLICT_RETRY: Duration = Duration::from_secs(1);
/// How often an instance refused for quota is checked again (a freed quota also
/// triggers it at once).
const QUOTA_RECHECK: Duration = Duration::from_secs(60);

/// Everything a reconcile needs, passed explicitly.
pub struct Context {
    client: Client,
    config: CatalogConfig,
    stores: Stores,
    compiled: CompiledItems,
    applier: Applier,
    events: EventPublisher,
    metrics: ReconcileMetrics,
    resync: Duration,
    nudge: mpsc::UnboundedSender<ObjectRef<ServiceInstance>>,
    credentials: credentials::ConfirmedCredentials,
}

impl Context {
    /// Asks for the instances of `namespace` that were refused for quota to be checked
    /// again, because quota was freed.
    fn recheck_quota_refusals(&self, namespace: &str) {
        for other in self.stores.view.instances_in(namespace, "") {
            let refused = other
                .status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                .is_some_and(|c| c.reason == "QuotaExceeded");
            if refused {
                let _ = self.nudge.send(ObjectRef::from_obj(&*other));
            }
        }
    }
}

/// The controller, set up and ready to run.
pub struct CatalogController {
    future: BoxFuture<'static, ()>,
}

impl CatalogController {
    /// Sets up the watches. `resync` is how often a healthy instance is checked for
    /// drift even when nothing announced a change; `selector` restricts the controller to
    /// the instances whose labels match.
    pub fn new(
        client: Client,
        config: CatalogConfig,
        metrics: ReconcileMetrics,
        resync: Duration,
        instance: Option<String>,
        selector: Option<&str>,
        shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ) -> Self {
        let managed = watcher::Config::default().labels(&format!("{}={MANAGER}", labels::MANAGED_BY));
        let events = EventPublisher::new(client.clone(), MANAGER, instance);
        let report =
            |kind, api_version| report_undecodable(MANAGER, kind, api_version, events.clone(), metrics.clone());
        let all = watcher::Config::default;
        let (items, items_stream) = cached_guarded(
            Api::all(client.clone()),
            all(),
            Writer::default(),
            report("CatalogItem", "catalog.makonis.lv/v1alpha1"),
        );
        let (agencies, agencies_stream) = cached_guarded(
            Api::all(client.clone()),
            all(),
            Writer::default(),
            report("Agency", "tenancy.makonis.lv/v1alpha1"),
        );
        let mut children = HashMap::new();
        let mut child_streams = Vec::new();
        for kind in ALLOWED_KINDS {
            let resource = api_resource(kind);
            let (store, stream) = cached_with_own_fields(
                child_api(&client, kind),
                managed.clone(),
                Writer::new(resource.clone()),
                MANAGER,
            );
            children.insert(kind.kind, store);
            child_streams.push((stream, resource));
        }
        let mut instance_watch = watcher::Config::default();
        if let Some(selector) = selector {
            instance_watch = instance_watch.labels(selector);
        }
        let (instances, instances_stream) = cached_guarded(
            Api::all(client.clone()),
            instance_watch,
            Writer::default(),
            report("ServiceInstance", "catalog.makonis.lv/v1alpha1"),
        );
        let controller = Controller::for_stream(instances_stream, instances.clone())
            .with_config(controller::Config::default().debounce(DEBOUNCE));
        let (nudge, nudged) = mpsc::unbounded_channel();
        let view = CatalogView { items, agencies, instances: instances.clone() };
        let stores = Stores { view, children: Arc::new(children) };
        let context = Arc::new(Context {
            applier: Applier::new(client.clone(), MANAGER, metrics.clone()),
            events,
            client,
            config,
            stores,
            compiled: CompiledItems::default(),
            metrics,
            resync,
            nudge,
            credentials: Default::default(),
        });
        let mut controller = controller
            .watches_stream(items_stream, by_item(instances.clone()))
            .watches_stream(agencies_stream, by_agency(instances))
            .reconcile_on(receiver_stream(nudged));
        for (stream, resource) in child_streams {
            controller = controller.owns_stream_with(stream, resource);
        }
        let shutdown = shutdown.shared();
        let item_statuses = items::run(context.clone(), selector, shutdown.clone());
        let instances = controller
            .graceful_shutdown_on(shutdown)
            .run(reconcile, error_policy, context.clone())
            .for_each(|result| async move {
                if let Err(error) = result {
                    tracing::debug!(error = %error_chain(&error), "reconcile ended with an error");
                }
            });
        let future = futures::future::join(instances, item_statuses).map(|_| ()).boxed();
        Self { future }
    }

    /// Runs the controller until its shutdown signal resolves.
    pub async fn run(self) {
        self.future.await;
    }
}

fn receiver_stream<T: Send + 'static>(mut receiver: mpsc::UnboundedReceiver<T>) -> impl Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// Maps a catalog item to the instances that order it.
fn by_item(instances: Store<ServiceInstance>) -> impl Fn(CatalogItem) -> Vec<ObjectRef<ServiceInstance>> {
    move |item| {
        let name = item.name_any();
        instances.state().iter().filter(|i| i.spec.catalog_item == name).map(|i| ObjectRef::from_obj(&**i)).collect()
    }
}

/// Maps an agency to the instances in its namespace.
fn by_agency(instances: Store<ServiceInstance>) -> impl Fn(Agency) -> Vec<ObjectRef<ServiceInstance>> {
    move |agency| {
        let namespace = agency.namespace_name();
        instances
            .state()
            .iter()
            .filter(|i| i.namespace().as_deref() == Some(namespace.as_str()))
            .map(|i| ObjectRef::from_obj(&**i))
            .collect()
    }
}

/// One reconcile of one instance, timed and counted.
async fn reconcile(instance: Arc<ServiceInstance>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = std::time::Instant::now();
    let result = async {
        if instance.metadata.deletion_timestamp.is_some() {
            retire::retire(&instance, &ctx).await
        } else {
            provision::provision(&instance, &ctx).await
        }
    }
    .instrument(info_span!(
        "reconcile",
        controller = MANAGER,
        namespace = %instance.namespace().unwrap_or_default(),
        instance = %instance.name_any()
    ))
    .await;
    ctx.metrics.record_reconcile(MANAGER, started.elapsed(), result.as_ref().err().map(ErrorCategory::category));
    result
}

fn error_policy(_instance: Arc<ServiceInstance>, error: &Error, _ctx: Arc<Context>) -> Action {
    if error.category() == "Conflict" {
        // The cache was behind the API server (usually our own status write); the next
        // event brings the fresh object.
        tracing::debug!(error = %error_chain(error), "reconcile raced a newer version; retrying");
        return Action::requeue(CONFLICT_RETRY);
    }
    tracing::warn!(category = error.category(), error = %error_chain(error), "reconcile failed; retrying");
    Action::requeue(RETRY_AFTER)
}

/// The API for instances in the instance's namespace.
fn instance_api(ctx: &Context, instance: &ServiceInstance) -> Api<ServiceInstance> {
    Api::namespaced(ctx.client.clone(), &instance.namespace().unwrap_or_default())
}
