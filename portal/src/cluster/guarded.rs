//! Watch caches that survive objects that no longer decode (stored under a looser schema,
//! as after a CRD downgrade, or by a newer version): such an object is left out of the
//! cache (or removed from it, if an earlier version was cached), logged, and listed as
//! undecodable, while every other object is served. A plain typed watch would instead
//! fail its whole listing and never fill the cache.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use futures::{Stream, StreamExt};
use kube::{
    Api, Client, Resource, ResourceExt,
    core::{DeserializeGuard, error_boundary::InvalidObject},
    runtime::{
        WatchStreamExt,
        reflector::{ObjectRef, Store, store::Writer},
        watcher,
    },
};
use serde::de::DeserializeOwned;

/// An object the portal cannot read, by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct UndecodableKey {
    /// The kind, e.g. `ServiceInstance`.
    pub kind: String,
    /// The namespace, empty for cluster-scoped kinds.
    pub namespace: String,
    /// The name.
    pub name: String,
}

/// The objects that do not decode now, with why; shared by every guarded watch of a view.
pub type Undecodable = Arc<Mutex<BTreeMap<UndecodableKey, String>>>;

fn key_of<K: Resource<DynamicType = ()>>(meta: &kube::api::ObjectMeta) -> UndecodableKey {
    UndecodableKey {
        kind: K::kind(&()).into_owned(),
        namespace: meta.namespace.clone().unwrap_or_default(),
        name: meta.name.clone().unwrap_or_default(),
    }
}

fn cache_ref<K: Resource<DynamicType = ()>>(meta: &kube::api::ObjectMeta) -> Option<ObjectRef<K>> {
    let reference = ObjectRef::new(meta.name.as_deref()?);
    Some(match meta.namespace.as_deref() {
        Some(namespace) => reference.within(namespace),
        None => reference,
    })
}

/// The event the cache should apply for `event`, keeping `undecodable` current. An
/// object that does not decode is dropped from a listing, and an update or deletion of
/// one removes the version the cache holds (found by name in `cache`).
pub fn decoded<K>(
    event: watcher::Event<DeserializeGuard<K>>,
    cache: &Store<K>,
    undecodable: &Undecodable,
) -> Option<watcher::Event<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let mut problems = undecodable.lock().unwrap_or_else(|p| p.into_inner());
    let mut readable = |guarded: DeserializeGuard<K>| match guarded.0 {
        Ok(object) => {
            problems.remove(&key_of::<K>(object.meta()));
            Ok(object)
        }
        Err(InvalidObject { error, metadata }) => {
            let key = key_of::<K>(&metadata);
            if problems.get(&key) != Some(&error) {
                tracing::warn!(
                    kind = key.kind,
                    namespace = key.namespace,
                    name = key.name,
                    %error,
                    "an object cannot be decoded: the portal leaves it out until it is fixed"
                );
            }
            problems.insert(key, error);
            Err(cache_ref::<K>(&metadata))
        }
    };
    let cached = |reference: Option<ObjectRef<K>>| {
        reference.and_then(|r| cache.get(&r)).map(|object| watcher::Event::Delete((*object).clone()))
    };
    match event {
        watcher::Event::Init => {
            problems.retain(|key, _| key.kind != K::kind(&()));
            Some(watcher::Event::Init)
        }
        watcher::Event::InitDone => Some(watcher::Event::InitDone),
        watcher::Event::InitApply(guarded) => readable(guarded).ok().map(watcher::Event::InitApply),
        watcher::Event::Apply(guarded) => match readable(guarded) {
            Ok(object) => Some(watcher::Event::Apply(object)),
            Err(reference) => cached(reference),
        },
        watcher::Event::Delete(guarded) => {
            let metadata = match guarded.0 {
                Ok(object) => return Some(watcher::Event::Delete(object)),
                Err(invalid) => invalid.metadata,
            };
            problems.remove(&key_of::<K>(&metadata));
            cached(cache_ref::<K>(&metadata))
        }
    }
}

/// A watch of every `K` feeding the cache behind `writer`, and the stream of objects it
/// touched (to drive it). Objects are cached without their `managedFields`.
pub fn guarded_cache<K>(
    client: &Client,
    mut writer: Writer<K>,
    undecodable: Undecodable,
) -> (Store<K>, impl Stream<Item = Result<K, watcher::Error>> + Send + 'static)
where
    K: Resource<DynamicType = ()> + Clone + std::fmt::Debug + DeserializeOwned + Send + Sync + 'static,
{
    let store = writer.as_reader();
    let cache = store.clone();
    let api: Api<DeserializeGuard<K>> = Api::all(client.clone());
    let stream = watcher(api, watcher::Config::default())
        .modify(|object: &mut DeserializeGuard<K>| object.managed_fields_mut().clear())
        .default_backoff()
        .filter_map(move |event| {
            let decoded = match event {
                Ok(event) => decoded(event, &cache, &undecodable).map(Ok),
                Err(error) => Some(Err(error)),
            };
            if let Some(Ok(event)) = &decoded {
                writer.apply_watcher_event(event);
            }
            futures::future::ready(decoded)
        })
        .touched_objects();
    (store, stream)
}

#[cfg(test)]
mod tests {
    use makonis_api::tenancy::Agency;
    use serde_json::json;

    use super::*;

    fn guard(value: serde_json::Value) -> DeserializeGuard<Agency> {
        serde_json::from_value(value).unwrap()
    }

    /// The demo agency `lm`, renamed, with `isolation` (`Open` is no variant of ours).
    fn agency(name: &str, isolation: &str) -> serde_json::Value {
        let mut value: serde_json::Value =
            serde_yaml_ng::from_str(include_str!("../../../manifests/examples/agencies/01-lm.yaml")).unwrap();
        value["metadata"]["name"] = json!(name);
        value["spec"]["code"] = json!(name);
        value["spec"]["network"]["isolation"] = json!(isolation);
        value
    }

    #[test]
    fn an_undecodable_object_is_left_out_reported_and_removed_once_seen() {
        let good = guard(agency("vdi", "AllowList"));
        assert!(good.0.is_ok(), "the fixture decodes: {:?}", good.0.as_ref().err());
        let mut writer = Writer::<Agency>::default();
        let cache = writer.as_reader();
        let undecodable = Undecodable::default();
        let mut feed = |event| {
            if let Some(event) = decoded(event, &cache, &undecodable) {
                writer.apply_watcher_event(&event);
            }
        };
        feed(watcher::Event::Init);
        feed(watcher::Event::InitApply(good.clone()));
        feed(watcher::Event::InitApply(guard(agency("lm", "Open"))));
        feed(watcher::Event::InitDone);
        assert_eq!(cache.state().iter().map(|a| a.name_any()).collect::<Vec<_>>(), ["vdi"]);
        let key = UndecodableKey { kind: "Agency".into(), namespace: String::new(), name: "lm".into() };
        assert!(undecodable.lock().unwrap().get(&key).is_some_and(|e| e.contains("Open")));

        // vdi stops decoding: the cached version goes, and it is listed.
        feed(watcher::Event::Apply(guard(agency("vdi", "Open"))));
        assert!(cache.state().is_empty());
        assert_eq!(undecodable.lock().unwrap().len(), 2);

        // lm is fixed: it is cached and no longer listed; a deleted undecodable one is forgotten.
        feed(watcher::Event::Apply(guard(agency("lm", "AllowList"))));
        feed(watcher::Event::Delete(guard(agency("vdi", "Open"))));
        assert_eq!(cache.state().iter().map(|a| a.name_any()).collect::<Vec<_>>(), ["lm"]);
        assert!(undecodable.lock().unwrap().is_empty());
    }
}
