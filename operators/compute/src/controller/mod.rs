//! The compute controllers: the IO around the pure steps.
//!
//! One controller per kind, all sharing one [`Context`]: the open hypervisor
//! connections, watch caches of every compute kind (what is placed where, which volume
//! is used by which machine) and the placement claims not yet visible in those caches.

mod backup;
mod backup_data;
mod backup_policy;
mod host_pool;
mod locate;
mod machine;
mod machine_facts;
mod machine_placement;
mod mismatch;
mod restore;
mod status;
mod views;
mod volume;

pub use views::Views;

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{FutureExt, StreamExt, future::BoxFuture};
use kube::{
    Api, Client, Resource, ResourceExt,
    core::DeserializeGuard,
    runtime::{Controller, controller::Action, reflector::ObjectRef, watcher},
};
use makonis_api::compute::{Backup, BackupPolicy, HostPool, Restore, VirtualMachine, Volume};
use makonis_operator_kit::{
    error::{ErrorCategory, error_chain},
    events::EventPublisher,
    metrics::ReconcileMetrics,
};

use crate::{MANAGER, config::ComputeConfig, error::Error, hosts::Hosts, metrics::ComputeMetrics};

/// How often hosts are checked (and machines on an unreachable host looked at again).
const PROBE_INTERVAL: Duration = Duration::from_secs(30);
/// How long to wait before retrying a failed reconcile.
const RETRY_AFTER: Duration = Duration::from_secs(15);
/// How soon a reconcile that lost a race with a newer version runs again.
const CONFLICT_RETRY: Duration = Duration::from_secs(1);

/// What a machine holds on its host, claimed at placement before the watch cache shows
/// the machine's status: two machines placed at once never both take the last room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The HostPool.
    pub pool: String,
    /// The host.
    pub host: String,
    /// The machine's namespace (for the agency's quota).
    pub namespace: String,
    /// vCPUs held.
    pub vcpus: i64,
    /// Memory held, in bytes.
    pub memory_bytes: i64,
    /// The machine's anti-affinity group.
    pub group: Option<String>,
    /// Why the host was chosen.
    pub reason: String,
}

/// Why something cannot go on yet, or at all: a condition reason and a message.
pub type Refusal = (&'static str, String);

/// Each host of a pool as the machines' controller last saw it: name, reachable, in
/// maintenance.
type HostStates = Vec<(String, bool, bool)>;

/// Everything a reconcile needs, passed explicitly.
pub struct Context {
    client: Client,
    config: ComputeConfig,
    hosts: Hosts,
    views: Views,
    events: EventPublisher,
    metrics: ReconcileMetrics,
    compute_metrics: ComputeMetrics,
    resync: Duration,
    /// Placement claims by machine UID, until the machine's status shows them.
    claims: Mutex<HashMap<String, Claim>>,
    /// Storage claimed by volumes being created, by volume UID: `(namespace, bytes)`,
    /// until the volume's status shows it was created.
    storage_claims: Mutex<HashMap<String, (String, i64)>>,
    /// Held while a machine is placed or a volume's storage is claimed.
    placing: tokio::sync::Mutex<()>,
    /// UIDs of backups and restores that run in this process now.
    jobs: Mutex<HashSet<String>>,
}

/// The controllers, set up and ready to run.
pub struct ComputeController {
    future: BoxFuture<'static, ()>,
}

impl ComputeController {
    /// Sets up the watches and the six controllers. `resync` is how often a healthy
    /// object is checked for drift when nothing announced a change.
    pub fn new(
        client: Client,
        config: ComputeConfig,
        metrics: ReconcileMetrics,
        compute_metrics: ComputeMetrics,
        resync: Duration,
        instance: Option<String>,
        shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    ) -> Self {
        let (views, drive_views) = Views::watch(&client);
        let ctx = Arc::new(Context {
            hosts: Hosts::new(client.clone(), &config),
            events: EventPublisher::new(client.clone(), MANAGER, instance),
            client: client.clone(),
            config,
            views,
            metrics,
            compute_metrics,
            resync,
            claims: Mutex::default(),
            storage_claims: Mutex::default(),
            placing: tokio::sync::Mutex::new(()),
            jobs: Mutex::default(),
        });
        let shutdown = shutdown.shared();
        let all = watcher::Config::default;
        let selector = ctx.config.selector.clone();
        let selected = || match &selector {
            Some(selector) => watcher::Config::default().labels(selector),
            None => watcher::Config::default(),
        };
        let pools = Controller::new(Api::<DeserializeGuard<HostPool>>::all(client.clone()), selected())
            .watches(Api::<DeserializeGuard<VirtualMachine>>::all(client.clone()), all(), |m| {
                Some(ObjectRef::new(&m.0.ok()?.spec.host_pool))
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "hostpool", host_pool::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let machines_ctx = ctx.clone();
        let pool_machines = ctx.clone();
        let seen_hosts: Mutex<HashMap<String, HostStates>> = Mutex::default();
        let machines = Controller::new(Api::<DeserializeGuard<VirtualMachine>>::all(client.clone()), selected())
            .watches(Api::<DeserializeGuard<HostPool>>::all(client.clone()), all(), move |pool| {
                // A host that stops (or starts again) answering, or goes into maintenance,
                // changes its machines' phase; other pool changes (room left) do not.
                let Ok(pool) = pool.0 else { return Vec::new() };
                let name = pool.name_any();
                let hosts: HostStates = pool
                    .status
                    .iter()
                    .flat_map(|s| &s.hosts)
                    .map(|h| (h.name.clone(), h.reachable, h.maintenance))
                    .collect();
                if seen_hosts.lock().expect("seen hosts lock").insert(name.clone(), hosts.clone()) == Some(hosts) {
                    return Vec::new();
                }
                pool_machines
                    .views
                    .machines()
                    .into_iter()
                    .filter(|m| m.spec.host_pool == name)
                    .map(|m| reference(&*m))
                    .collect::<Vec<_>>()
            })
            .watches(Api::<DeserializeGuard<Volume>>::all(client.clone()), all(), move |v| {
                let namespace = v.namespace().unwrap_or_default();
                machines_ctx.views.user_of(&namespace, &v.name_any()).map(|m| reference(&*m))
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "virtualmachine", machine::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let volumes = Controller::new(Api::<DeserializeGuard<Volume>>::all(client.clone()), selected())
            .watches(Api::<DeserializeGuard<VirtualMachine>>::all(client.clone()), all(), |m| {
                let namespace = m.namespace().unwrap_or_default();
                m.0.iter()
                    .flat_map(machine_facts::volume_names)
                    .map(|v| ObjectRef::new(&v).within(&namespace))
                    .collect::<Vec<_>>()
            })
            .watches(Api::<DeserializeGuard<Backup>>::all(client.clone()), all(), |b| {
                // A volume restored from a backup waits for the backup to complete.
                let namespace = b.namespace().unwrap_or_default();
                let backup = b.0.ok()?;
                backup.status.is_some().then(|| ObjectRef::new(&backup.spec.volume).within(&namespace))
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "volume", volume::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let backups = Controller::new(Api::<DeserializeGuard<Backup>>::all(client.clone()), selected())
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "backup", backup::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let policies = Controller::new(Api::<DeserializeGuard<BackupPolicy>>::all(client.clone()), selected())
            .watches(Api::<DeserializeGuard<Backup>>::all(client.clone()), all(), |b| {
                let namespace = b.namespace().unwrap_or_default();
                b.0.ok()?.spec.policy.map(|p| ObjectRef::new(&p).within(&namespace))
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "backuppolicy", backup_policy::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let restores = Controller::new(Api::<DeserializeGuard<Restore>>::all(client.clone()), selected())
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "restore", restore::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let ready = ctx.clone();
        let future = async move {
            let views = tokio::spawn(drive_views);
            ready.views.ready().await;
            tokio::join!(pools, machines, volumes, backups, policies, restores);
            views.abort();
        }
        .boxed();
        Self { future }
    }

    /// Runs the controllers until their shutdown signal resolves.
    pub async fn run(self) {
        self.future.await;
    }
}

async fn log_result<T, E: std::error::Error + 'static>(result: Result<T, E>) {
    if let Err(error) = result {
        tracing::debug!(error = %error_chain(&error), "reconcile ended with an error");
    }
}

/// The reference a controller of `K` uses for `object` (its objects are guarded).
fn reference<K: Resource<DynamicType = ()>>(object: &K) -> ObjectRef<DeserializeGuard<K>> {
    let name = object.meta().name.clone().unwrap_or_default();
    match &object.meta().namespace {
        Some(namespace) => ObjectRef::new(&name).within(namespace),
        None => ObjectRef::new(&name),
    }
}

/// One reconcile, in a span, timed and counted. An object that does not decode is
/// reported (a Warning Event `InvalidObject`) and left until it changes.
async fn run_reconcile<K, F, Fut>(
    guarded: Arc<DeserializeGuard<K>>,
    ctx: Arc<Context>,
    kind: &'static str,
    step: F,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()> + Clone,
    F: FnOnce(Arc<K>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action, Error>>,
{
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let span = tracing::info_span!(
        "reconcile",
        controller = MANAGER,
        kind,
        namespace = %guarded.meta().namespace.clone().unwrap_or_default(),
        name = %guarded.meta().name.clone().unwrap_or_default()
    );
    let reference = guarded.object_ref(&());
    let result = match &guarded.0 {
        Ok(object) => step(Arc::new(object.clone()), ctx.clone()).instrument(span).await,
        Err(invalid) => Err(Error::InvalidObject(invalid.error.clone())),
    };
    // Counted before the Event: whoever sees the Event sees the failure counted.
    ctx.metrics.record_reconcile(MANAGER, started.elapsed(), result.as_ref().err().map(ErrorCategory::category));
    if let Err(error) = &result
        && !matches!(error.category(), "Conflict" | "NotFound")
    {
        let action = if matches!(error, Error::InvalidObject(_)) { "Decode" } else { "Reconcile" };
        ctx.events.warn(&reference, action, error).await;
    }
    result
}

fn error_policy<K>(_object: Arc<K>, error: &Error, _ctx: Arc<Context>) -> Action {
    match error.category() {
        "Conflict" => {
            tracing::debug!(error = %error_chain(error), "reconcile raced a newer version; retrying");
            return Action::requeue(CONFLICT_RETRY);
        }
        "NotFound" => {
            tracing::debug!(error = %error_chain(error), "the object went away during the reconcile");
            return Action::await_change();
        }
        "InvalidObject" => {
            tracing::warn!(error = %error_chain(error), "the object does not decode; waiting for it to change");
            return Action::await_change();
        }
        _ => {}
    }
    tracing::warn!(category = error.category(), error = %error_chain(error), "reconcile failed; retrying");
    Action::requeue(RETRY_AFTER)
}
