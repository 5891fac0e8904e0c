//! Watch caches of every compute kind (and of Agencies, for their quotas), shared by the
//! controllers and the webhook.
//!
//! Every cache holds objects behind `DeserializeGuard`: one stored object that does not
//! decode (written under an older or looser schema) is left out of the answers here, and
//! the watch and every other object go on; the controller of its kind reports it.

use std::sync::Arc;

use futures::{FutureExt, future::BoxFuture};
use kube::{
    Api, Client, Resource, ResourceExt,
    core::DeserializeGuard,
    runtime::{
        reflector::{ObjectRef, Store, store::Writer},
        watcher,
    },
};
use makonis_api::{
    compute::{Backup, HostPool, VirtualMachine, Volume},
    tenancy::Agency,
};
use makonis_operator_kit::watch::{cached, drain};

use super::machine_facts;

/// Watch caches of every kind the controllers and the webhook read.
#[derive(Clone)]
pub struct Views {
    pools: Store<DeserializeGuard<HostPool>>,
    machines: Store<DeserializeGuard<VirtualMachine>>,
    volumes: Store<DeserializeGuard<Volume>>,
    backups: Store<DeserializeGuard<Backup>>,
    agencies: Store<DeserializeGuard<Agency>>,
}

impl Views {
    /// Starts the watches; the future drives them and must be polled.
    pub fn watch(client: &Client) -> (Self, BoxFuture<'static, ()>) {
        let all = watcher::Config::default;
        let (pools, pools_stream) = cached(Api::all(client.clone()), all(), Writer::default());
        let (machines, machines_stream) = cached(Api::all(client.clone()), all(), Writer::default());
        let (volumes, volumes_stream) = cached(Api::all(client.clone()), all(), Writer::default());
        let (backups, backups_stream) = cached(Api::all(client.clone()), all(), Writer::default());
        let (agencies, agencies_stream) = cached(Api::all(client.clone()), all(), Writer::default());
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
        self.pools.get(&ObjectRef::new(name)).and_then(|g| decoded(&g))
    }

    /// Every machine.
    pub fn machines(&self) -> Vec<Arc<VirtualMachine>> {
        self.machines.state().iter().filter_map(decoded).collect()
    }

    /// Every volume.
    pub fn volumes(&self) -> Vec<Arc<Volume>> {
        self.volumes.state().iter().filter_map(decoded).collect()
    }

    /// The agency whose namespace is `namespace`.
    pub fn agency_of(&self, namespace: &str) -> Option<Arc<Agency>> {
        self.agencies.state().iter().filter_map(decoded).find(|a| a.namespace_name() == namespace)
    }

    /// The machines of `namespace`.
    pub fn machines_in(&self, namespace: &str) -> Vec<Arc<VirtualMachine>> {
        in_namespace(&self.machines, namespace)
    }

    /// The volumes of `namespace`.
    pub fn volumes_in(&self, namespace: &str) -> Vec<Arc<Volume>> {
        in_namespace(&self.volumes, namespace)
    }

    /// The backups of `namespace`.
    pub fn backups_in(&self, namespace: &str) -> Vec<Arc<Backup>> {
        in_namespace(&self.backups, namespace)
    }

    /// The volume `name` of `namespace`.
    pub fn volume(&self, namespace: &str, name: &str) -> Option<Arc<Volume>> {
        self.volumes.get(&ObjectRef::new(name).within(namespace)).and_then(|g| decoded(&g))
    }

    /// The backup `name` of `namespace`.
    pub fn backup(&self, namespace: &str, name: &str) -> Option<Arc<Backup>> {
        self.backups.get(&ObjectRef::new(name).within(namespace)).and_then(|g| decoded(&g))
    }

    /// The machine of `namespace` whose disks use the volume `volume`, if any.
    pub fn user_of(&self, namespace: &str, volume: &str) -> Option<Arc<VirtualMachine>> {
        self.machines_in(namespace).into_iter().find(|m| machine_facts::volume_names(m).iter().any(|v| v == volume))
    }
}

/// The decoded object behind a guard; `None` for one that does not decode.
pub fn decoded<K: Clone>(guard: &Arc<DeserializeGuard<K>>) -> Option<Arc<K>> {
    guard.0.as_ref().ok().map(|object| Arc::new(object.clone()))
}

fn in_namespace<K>(store: &Store<DeserializeGuard<K>>, namespace: &str) -> Vec<Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone,
{
    store.state().iter().filter(|g| g.namespace().as_deref() == Some(namespace)).filter_map(decoded).collect()
}
