//! The watch caches the controller and the webhook read: catalog items, agencies, the
//! instances, and every kind of resource an instance may own.

use std::{collections::HashMap, sync::Arc};

use futures::{FutureExt, future::BoxFuture};
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind},
    core::error_boundary::InvalidObject,
    runtime::{
        reflector::{ObjectRef, Store, store::Writer},
        watcher,
    },
};
use makonis_api::{
    catalog::{CatalogItem, ServiceInstance},
    tenancy::Agency,
};
use makonis_catalog::render::{ALLOWED_KINDS, AllowedKind};
use makonis_operator_kit::watch::{cached_guarded, drain};

/// The API resource of an allowed kind, for dynamic clients.
pub fn api_resource(kind: &AllowedKind) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(kind.group, kind.version, kind.kind), kind.plural)
}

/// What judging an order reads: items, agencies and instances. Cheap to clone.
#[derive(Clone)]
pub struct CatalogView {
    /// Published catalog items.
    pub items: Store<CatalogItem>,
    /// Agencies (their quota and names).
    pub agencies: Store<Agency>,
    /// Every ServiceInstance.
    pub instances: Store<ServiceInstance>,
}

/// Read access to every cache of the controller. Cheap to clone.
#[derive(Clone)]
pub struct Stores {
    /// Items, agencies and instances.
    pub view: CatalogView,
    /// The catalog's children, per kind name (`Deployment`, …).
    pub children: Arc<HashMap<&'static str, Store<DynamicObject>>>,
}

impl CatalogView {
    /// A view with its own watches, and the future that drives them (for the webhook,
    /// which serves on every replica, leader or not). Objects that do not decode are left
    /// out (the controller reports them).
    pub fn watch(client: &Client) -> (Self, BoxFuture<'static, ()>) {
        let all = watcher::Config::default;
        let skip = |invalid: &InvalidObject| tracing::debug!(error = %invalid.error, "left out an undecodable object");
        let (items, items_stream) = cached_guarded(Api::all(client.clone()), all(), Writer::default(), skip);
        let (agencies, agencies_stream) = cached_guarded(Api::all(client.clone()), all(), Writer::default(), skip);
        let (instances, instances_stream) = cached_guarded(Api::all(client.clone()), all(), Writer::default(), skip);
        let drive = futures::future::join3(drain(items_stream), drain(agencies_stream), drain(instances_stream))
            .map(|_| ())
            .boxed();
        (Self { items, agencies, instances }, drive)
    }

    /// Whether every cache has finished its first listing.
    pub async fn wait_until_ready(&self) -> bool {
        self.items.wait_until_ready().await.is_ok()
            && self.agencies.wait_until_ready().await.is_ok()
            && self.instances.wait_until_ready().await.is_ok()
    }

    /// The catalog item called `name`.
    pub fn item(&self, name: &str) -> Option<Arc<CatalogItem>> {
        self.items.get(&ObjectRef::new(name))
    }

    /// The agency whose namespace is `namespace`.
    pub fn agency_of_namespace(&self, namespace: &str) -> Option<Arc<Agency>> {
        let code = makonis_api::tenancy::code_of_namespace(namespace)?;
        self.agencies.get(&ObjectRef::new(code)).filter(|a| a.namespace_name() == namespace)
    }

    /// The other instances in `namespace`.
    pub fn instances_in(&self, namespace: &str, except: &str) -> Vec<Arc<ServiceInstance>> {
        self.instances
            .state()
            .into_iter()
            .filter(|i| i.namespace().as_deref() == Some(namespace) && i.name_any() != except)
            .collect()
    }
}

impl Stores {
    /// The live child of `kind` called `name` in `namespace`, from the cache.
    pub fn child(&self, kind: &AllowedKind, namespace: &str, name: &str) -> Option<Arc<DynamicObject>> {
        self.children.get(kind.kind)?.get(&ObjectRef::new_with(name, api_resource(kind)).within(namespace))
    }

    /// Every cached child of the instance `instance` in `namespace`, with its kind.
    pub fn children_of(&self, namespace: &str, instance: &str) -> Vec<(&'static AllowedKind, Arc<DynamicObject>)> {
        ALLOWED_KINDS
            .iter()
            .filter_map(|kind| Some((kind, self.children.get(kind.kind)?)))
            .flat_map(|(kind, store)| store.state().into_iter().map(move |object| (kind, object)))
            .filter(|(_, object)| {
                object.namespace().as_deref() == Some(namespace)
                    && object.labels().get(makonis_api::labels::INSTANCE).map(String::as_str) == Some(instance)
            })
            .collect()
    }
}

/// A dynamic API for one allowed kind in every namespace.
pub fn child_api(client: &Client, kind: &AllowedKind) -> Api<DynamicObject> {
    Api::all_with(client.clone(), &api_resource(kind))
}
