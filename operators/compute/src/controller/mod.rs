//! The compute controllers: the IO around the pure steps.
//!
//! One controller per kind, all sharing one [`Context`]: the open hypervisor
//! connections, watch caches of every compute kind (what is placed where, which volume
//! is used by which machine) and the placement claims not yet visible in those caches.

mod backup;
mod backup_policy;
mod host_pool;
mod machine;
mod machine_facts;
mod restore;
mod status;
mod volume;

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{FutureExt, StreamExt, future::BoxFuture};
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{
        Controller,
        controller::Action,
        reflector::{ObjectRef, Store, store::Writer},
        watcher,
    },
};
use makonis_api::{
    compute::{Backup, BackupPolicy, HostPool, Restore, VirtualMachine, Volume},
    tenancy::Agency,
};
use makonis_operator_kit::{
    error::{ErrorCategory, error_chain},
    events::EventPublisher,
    metrics::ReconcileMetrics,
    watch::{cached, drain},
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

/// Watch caches of every kind the controllers read.
#[derive(Clone)]
pub struct Views {
    /// Host pools.
    pub pools: Store<HostPool>,
    /// Virtual machines.
    pub machines: Store<VirtualMachine>,
    /// Volumes.
    pub volumes: Store<Volume>,
    /// Backups.
    pub backups: Store<Backup>,
    /// Agencies (for their quotas).
    pub agencies: Store<Agency>,
}

impl Views {
    /// Starts the watches; the future drives them and must be polled.
    pub fn watch(client: &Client) -> (Self, BoxFuture<'static, ()>) {
        let all = watcher::Config::default;
        let (pools, pools_stream) = cached(Api::<HostPool>::all(client.clone()), all(), Writer::default());
        let (machines, machines_stream) = cached(Api::<VirtualMachine>::all(client.clone()), all(), Writer::default());
        let (volumes, volumes_stream) = cached(Api::<Volume>::all(client.clone()), all(), Writer::default());
        let (backups, backups_stream) = cached(Api::<Backup>::all(client.clone()), all(), Writer::default());
        let (agencies, agencies_stream) = cached(Api::<Agency>::all(client.clone()), all(), Writer::default());
        let drive = async move {
            tokio::join!(
                drain(pools_stream),
                drain(machines_stream),
                drain(volumes_stream),
                drain(backups_stream),
                drain(agencies_stream)
            );
        }
        .boxed();
        (Self { pools, machines, volumes, backups, agencies }, drive)
    }

    /// Waits until every cache holds its first full list.
    pub async fn ready(&self) {
        let _ = tokio::join!(
            self.pools.wait_until_ready(),
            self.machines.wait_until_ready(),
            self.volumes.wait_until_ready(),
            self.backups.wait_until_ready(),
            self.agencies.wait_until_ready()
        );
    }

    /// The host pool named `name`.
    pub fn pool(&self, name: &str) -> Option<Arc<HostPool>> {
        self.pools.get(&ObjectRef::new(name))
    }

    /// The agency whose namespace is `namespace`.
    pub fn agency_of(&self, namespace: &str) -> Option<Arc<Agency>> {
        self.agencies.state().into_iter().find(|a| a.namespace_name() == namespace)
    }

    /// The machines of `namespace`.
    pub fn machines_in(&self, namespace: &str) -> Vec<Arc<VirtualMachine>> {
        self.machines.state().into_iter().filter(|m| m.namespace().as_deref() == Some(namespace)).collect()
    }

    /// The volumes of `namespace`.
    pub fn volumes_in(&self, namespace: &str) -> Vec<Arc<Volume>> {
        self.volumes.state().into_iter().filter(|v| v.namespace().as_deref() == Some(namespace)).collect()
    }

    /// The volume `name` of `namespace`.
    pub fn volume(&self, namespace: &str, name: &str) -> Option<Arc<Volume>> {
        self.volumes.get(&ObjectRef::new(name).within(namespace))
    }

    /// The machine of `namespace` whose disks use the volume `volume`, if any.
    pub fn user_of(&self, namespace: &str, volume: &str) -> Option<Arc<VirtualMachine>> {
        self.machines_in(namespace).into_iter().find(|m| machine_facts::volume_names(m).iter().any(|v| v == volume))
    }
}

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
        let pools = Controller::new(Api::<HostPool>::all(client.clone()), selected())
            .watches(Api::<VirtualMachine>::all(client.clone()), all(), |m| Some(ObjectRef::new(&m.spec.host_pool)))
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "hostpool", host_pool::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let machines_ctx = ctx.clone();
        let pool_machines = ctx.clone();
        let seen_hosts: Mutex<HashMap<String, HostStates>> = Mutex::default();
        let machines = Controller::new(Api::<VirtualMachine>::all(client.clone()), selected())
            .watches(Api::<HostPool>::all(client.clone()), all(), move |pool| {
                // A host that stops (or starts again) answering, or goes into maintenance,
                // changes its machines' phase; other pool changes (room left) do not.
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
                    .machines
                    .state()
                    .into_iter()
                    .filter(|m| m.spec.host_pool == name)
                    .map(|m| ObjectRef::from_obj(&*m))
                    .collect::<Vec<_>>()
            })
            .watches(Api::<Volume>::all(client.clone()), all(), move |v| {
                let namespace = v.namespace().unwrap_or_default();
                machines_ctx.views.user_of(&namespace, &v.name_any()).map(|m| ObjectRef::from_obj(&*m))
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "virtualmachine", machine::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let volumes = Controller::new(Api::<Volume>::all(client.clone()), selected())
            .watches(Api::<VirtualMachine>::all(client.clone()), all(), |m| {
                let namespace = m.namespace().unwrap_or_default();
                machine_facts::volume_names(&m)
                    .into_iter()
                    .map(|v| ObjectRef::new(&v).within(&namespace))
                    .collect::<Vec<_>>()
            })
            .watches(Api::<Backup>::all(client.clone()), all(), |b| {
                // A volume restored from a backup waits for the backup to complete.
                let namespace = b.namespace().unwrap_or_default();
                b.status.is_some().then(|| ObjectRef::new(&b.spec.volume).within(&namespace))
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "volume", volume::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let backups = Controller::new(Api::<Backup>::all(client.clone()), selected())
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "backup", backup::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let policies = Controller::new(Api::<BackupPolicy>::all(client.clone()), selected())
            .watches(Api::<Backup>::all(client.clone()), all(), |b| {
                let namespace = b.namespace().unwrap_or_default();
                b.spec.policy.as_ref().map(|p| ObjectRef::new(p).within(&namespace))
            })
            .graceful_shutdown_on(shutdown.clone())
            .run(|o, c| run_reconcile(o, c, "backuppolicy", backup_policy::reconcile), error_policy, ctx.clone())
            .for_each(log_result);
        let restores = Controller::new(Api::<Restore>::all(client.clone()), selected())
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

/// One reconcile, in a span, timed and counted.
async fn run_reconcile<K, F, Fut>(
    object: Arc<K>,
    ctx: Arc<Context>,
    kind: &'static str,
    step: F,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()>,
    F: FnOnce(Arc<K>, Arc<Context>) -> Fut,
    Fut: Future<Output = Result<Action, Error>>,
{
    use tracing::Instrument;
    let started = std::time::Instant::now();
    let span = tracing::info_span!(
        "reconcile",
        controller = MANAGER,
        kind,
        namespace = %object.meta().namespace.clone().unwrap_or_default(),
        name = %object.meta().name.clone().unwrap_or_default()
    );
    let reference = object.object_ref(&());
    let result = step(object, ctx.clone()).instrument(span).await;
    if let Err(error) = &result
        && !matches!(error.category(), "Conflict" | "NotFound")
    {
        ctx.events.warn(&reference, "Reconcile", error).await;
    }
    ctx.metrics.record_reconcile(MANAGER, started.elapsed(), result.as_ref().err().map(ErrorCategory::category));
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
        _ => {}
    }
    tracing::warn!(category = error.category(), error = %error_chain(error), "reconcile failed; retrying");
    Action::requeue(RETRY_AFTER)
}
