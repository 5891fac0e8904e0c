//! The engine's watch caches: Probes, ServiceLevelObjectives, Agencies (their host name
//! domains) and Services (the cluster addresses of agencies' own Services).
//!
//! Every watch decodes through `DeserializeGuard`: an object the engine cannot decode
//! (stored under a looser schema, or by a newer version) is kept as such, reported
//! ([`crate::undecodable`]) and skipped; it never stops the watch nor the other objects.

use futures::{FutureExt, future::BoxFuture};
use k8s_openapi::api::core::v1::Service;
use kube::{
    Api, Client,
    core::DeserializeGuard,
    runtime::{reflector::Store, watcher},
};
use makonis_api::{slo::Probe, slo::ServiceLevelObjective, tenancy::Agency};
use makonis_operator_kit::watch::{cached, drain};

/// A cache of objects of kind `K`, decodable or not.
pub type Guarded<K> = Store<DeserializeGuard<K>>;

/// The object inside a guard, when it decoded.
pub fn decoded<K>(guarded: &DeserializeGuard<K>) -> Option<&K> {
    guarded.0.as_ref().ok()
}

/// The engine's caches.
#[derive(Clone)]
pub struct Caches {
    /// Every Probe.
    pub probes: Guarded<Probe>,
    /// Every ServiceLevelObjective.
    pub objectives: Guarded<ServiceLevelObjective>,
    /// Every Agency.
    pub agencies: Guarded<Agency>,
    /// Every Service.
    pub services: Guarded<Service>,
}

impl Caches {
    /// The caches, and the future that keeps them filled (it runs until dropped).
    pub fn watch(client: &Client) -> (Self, BoxFuture<'static, ()>) {
        let (probes, probe_watch) = watch::<Probe>(client);
        let (objectives, objective_watch) = watch::<ServiceLevelObjective>(client);
        let (agencies, agency_watch) = watch::<Agency>(client);
        let (services, service_watch) = watch::<Service>(client);
        let drive = futures::future::join4(probe_watch, objective_watch, agency_watch, service_watch).map(|_| ());
        (Self { probes, objectives, agencies, services }, drive.boxed())
    }

    /// Waits until every cache has listed its objects once.
    pub async fn wait_until_ready(&self) {
        let _ = tokio::join!(
            self.probes.wait_until_ready(),
            self.objectives.wait_until_ready(),
            self.agencies.wait_until_ready(),
            self.services.wait_until_ready()
        );
    }
}

/// A cache of every `K` in the cluster, and the future that fills it.
pub fn watch<K>(client: &Client) -> (Guarded<K>, BoxFuture<'static, ()>)
where
    K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::Scope: Send + Sync,
{
    let (store, stream) =
        cached(Api::<DeserializeGuard<K>>::all(client.clone()), watcher::Config::default(), Default::default());
    (store, drain(stream).boxed())
}
