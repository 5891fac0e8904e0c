//! Watch caches of agencies, catalog items and instances, with the questions pages ask
//! of them. Every change of an instance is broadcast, so live pages can follow it.

use std::sync::Arc;

use futures::{FutureExt, StreamExt, future::BoxFuture};
use kube::{
    Client, ResourceExt,
    runtime::{
        reflector::{ObjectRef, Store, store::Writer},
        watcher,
    },
};
use makonis_api::{
    catalog::{CatalogItem, OutputValue, Phase, ServiceInstance},
    tenancy::{Agency, namespace_for_code},
};
use makonis_catalog::{
    compiled::{Compiled, CompiledItems},
    quota::Units,
};
use makonis_operator_kit::watch::drain;
use serde::Serialize;
use tokio::sync::broadcast;

use super::guarded::{Undecodable, UndecodableKey, guarded_cache};
use crate::{
    identity::access::AgencyGroups,
    store::requests::PendingReservation,
    workflow::{RequestKind, Usage},
};

/// An instance's namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    /// The agency namespace, `agency-<code>`.
    pub namespace: String,
    /// The instance's name.
    pub name: String,
}

/// What a page shows of an instance's status, borrowed from the cached instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceSummary<'a> {
    /// `Provisioning`, `Ready`, `Degraded`, `Failed`, `Retiring`, or `Pending` before the
    /// controller has seen it.
    pub phase: &'static str,
    /// The `Ready` condition's message.
    pub message: &'a str,
    /// Whether the controller has caught up with the latest spec.
    pub current: bool,
    /// Outputs, each serialised as `[name, Latvian title, English title, value]`.
    pub outputs: Outputs<'a>,
}

/// An instance's outputs, serialised as `[name, Latvian title, English title, value]`
/// arrays straight from the cached status (lists of thousands of instances copy nothing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outputs<'a>(pub &'a [OutputValue]);

impl Serialize for Outputs<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|o| (&o.name, &o.title.lv, &o.title.en, &o.value)))
    }
}

impl<'a> InstanceSummary<'a> {
    /// The summary of `instance`.
    pub fn of(instance: &'a ServiceInstance) -> Self {
        let status = instance.status.as_ref();
        let phase = status.and_then(|s| s.phase).map(phase_name).unwrap_or("Pending");
        let message = status
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.message.as_str())
            .unwrap_or_default();
        let current = status.and_then(|s| s.observed_generation) == instance.metadata.generation;
        let outputs = Outputs(status.map(|s| s.outputs.as_slice()).unwrap_or_default());
        Self { phase, message, current, outputs }
    }
}

/// The name of a phase as the CRD spells it.
pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Provisioning => "Provisioning",
        Phase::Ready => "Ready",
        Phase::Degraded => "Degraded",
        Phase::Failed => "Failed",
        Phase::Retiring => "Retiring",
    }
}

/// The caches and the compiled items. Cheap to clone.
#[derive(Clone)]
pub struct ClusterView {
    agencies: Store<Agency>,
    items: Store<CatalogItem>,
    instances: Store<ServiceInstance>,
    compiled: Arc<CompiledItems>,
    changes: broadcast::Sender<InstanceKey>,
    undecodable: Undecodable,
}

impl ClusterView {
    fn with_stores(agencies: Store<Agency>, items: Store<CatalogItem>, instances: Store<ServiceInstance>) -> Self {
        let (changes, _) = broadcast::channel(1024);
        Self { agencies, items, instances, compiled: Arc::default(), changes, undecodable: Undecodable::default() }
    }

    /// A view fed by watches through `client`, and the future that drives them. An
    /// object that does not decode is left out (see [`super::guarded`]) and listed by
    /// [`ClusterView::undecodable`]; the rest are served.
    pub fn watch(client: &Client) -> (Self, BoxFuture<'static, ()>) {
        let undecodable = Undecodable::default();
        let (items, items_stream) = guarded_cache(client, Writer::default(), Arc::clone(&undecodable));
        let (agencies, agencies_stream) = guarded_cache(client, Writer::default(), Arc::clone(&undecodable));
        let (instances, instances_stream) = guarded_cache(client, Writer::default(), Arc::clone(&undecodable));
        let view = Self { undecodable, ..Self::with_stores(agencies, items, instances) };
        let changes = view.changes.clone();
        let instances_stream = instances_stream.map(move |event| {
            if let Ok(instance) = &event {
                let key =
                    InstanceKey { namespace: instance.namespace().unwrap_or_default(), name: instance.name_any() };
                let _ = changes.send(key);
            }
            event
        });
        let drive = futures::future::join3(drain(items_stream), drain(agencies_stream), drain(instances_stream))
            .map(|_| ())
            .boxed();
        (view, drive)
    }

    /// A fixed view of the given objects, with no watch (tests and benchmarks).
    pub fn of_objects(agencies: Vec<Agency>, items: Vec<CatalogItem>, instances: Vec<ServiceInstance>) -> Self {
        fn fill<K>(objects: Vec<K>) -> Store<K>
        where
            K: kube::Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
        {
            let mut writer = Writer::default();
            let store = writer.as_reader();
            writer.apply_watcher_event(&watcher::Event::Init);
            for object in objects {
                writer.apply_watcher_event(&watcher::Event::InitApply(object));
            }
            writer.apply_watcher_event(&watcher::Event::InitDone);
            store
        }
        Self::with_stores(fill(agencies), fill(items), fill(instances))
    }

    /// Whether every cache has finished its first listing.
    pub async fn wait_until_ready(&self) -> bool {
        self.items.wait_until_ready().await.is_ok()
            && self.agencies.wait_until_ready().await.is_ok()
            && self.instances.wait_until_ready().await.is_ok()
    }

    /// The watched objects that do not decode now, with why, by kind, namespace and name.
    pub fn undecodable(&self) -> Vec<(UndecodableKey, String)> {
        self.undecodable.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(k, e)| (k.clone(), e.clone())).collect()
    }

    /// Instance changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<InstanceKey> {
        self.changes.subscribe()
    }

    /// Every agency, by code.
    pub fn agencies(&self) -> Vec<Arc<Agency>> {
        let mut all = self.agencies.state();
        all.sort_by(|a, b| a.spec.code.cmp(&b.spec.code));
        all
    }

    /// The agency with `code`.
    pub fn agency(&self, code: &str) -> Option<Arc<Agency>> {
        self.agencies.get(&ObjectRef::new(code)).filter(|a| a.spec.code == code)
    }

    /// Every agency's role groups, for access control.
    pub fn agency_groups(&self) -> Vec<AgencyGroups> {
        self.agencies
            .state()
            .iter()
            .map(|a| AgencyGroups {
                code: a.spec.code.clone(),
                organizational_unit: a.spec.directory.organizational_unit.clone(),
                groups: a.spec.directory.groups.clone(),
            })
            .collect()
    }

    /// Every published item, by name.
    pub fn items(&self) -> Vec<Arc<CatalogItem>> {
        let mut all = self.items.state();
        all.sort_by_key(|item| item.name_any());
        all
    }

    /// The item called `name`.
    pub fn item(&self, name: &str) -> Option<Arc<CatalogItem>> {
        self.items.get(&ObjectRef::new(name))
    }

    /// The item called `name`, compiled (once per generation).
    pub fn compiled(&self, name: &str) -> Option<Compiled> {
        self.item(name).map(|item| self.compiled.get(&item))
    }

    /// The instances of agency `code`, by name.
    pub fn instances_of(&self, code: &str) -> Vec<Arc<ServiceInstance>> {
        let namespace = namespace_for_code(code);
        let mut all: Vec<_> = self
            .instances
            .state()
            .into_iter()
            .filter(|i| i.metadata.namespace.as_deref() == Some(namespace.as_str()))
            .collect();
        all.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        all
    }

    /// The instances of the agencies `wanted` says yes to, with their agency's code, by
    /// agency and name: one pass over the cache, however many agencies.
    pub fn instances_where(&self, wanted: impl Fn(&str) -> bool) -> Vec<(String, Arc<ServiceInstance>)> {
        let mut all: Vec<_> = self
            .instances
            .state()
            .into_iter()
            .filter_map(|i| {
                let code = makonis_api::tenancy::code_of_namespace(i.metadata.namespace.as_deref()?)?.to_string();
                wanted(&code).then_some((code, i))
            })
            .collect();
        all.sort_by(|(a, x), (b, y)| a.cmp(b).then_with(|| x.metadata.name.cmp(&y.metadata.name)));
        all
    }

    /// Agency `code`'s instance `name`.
    pub fn instance(&self, code: &str, name: &str) -> Option<Arc<ServiceInstance>> {
        self.instances.get(&ObjectRef::new(name).within(&namespace_for_code(code)))
    }

    /// What agency `code`'s quota carries: every instance (by what it holds, or what its
    /// plan needs until admitted) and every pending request's reservation.
    pub fn usage(&self, code: &str, pending: &[PendingReservation]) -> Usage {
        let mut usage = Usage::default();
        for instance in self.instances_of(code) {
            let held = instance.status.as_ref().and_then(|s| s.admitted.as_ref()).map(|a| a.resources.clone());
            let planned = || {
                self.item(&instance.spec.catalog_item)?
                    .spec
                    .plans
                    .iter()
                    .find(|p| p.name == instance.spec.plan)
                    .map(|p| p.resources.clone())
            };
            let units = held.or_else(planned).and_then(|r| Units::of_plan(&r).ok()).unwrap_or_default();
            usage.add_instance(units);
        }
        for request in pending {
            match request.kind {
                RequestKind::Order => usage.add_instance(request.reservation.units()),
                RequestKind::Resize | RequestKind::Retire => usage.add(request.reservation.units()),
            }
        }
        usage
    }
}
