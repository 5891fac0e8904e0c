//! Watch caches: a reflector whose objects are kept without `managedFields` (or with only
//! the entry of one field manager), one that survives objects it cannot decode, and a
//! driver that logs watch errors while the watcher retries.

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Api, Resource, ResourceExt,
    core::{DeserializeGuard, error_boundary::InvalidObject},
    runtime::{
        WatchStreamExt,
        reflector::{self, ObjectRef, Store, store::Writer},
        watcher::{self, Event},
    },
};

use crate::{events::EventPublisher, metrics::ReconcileMetrics};

/// A watch of `api` feeding the cache behind `writer`, and the stream that drives it.
/// Objects are cached without their `managedFields`, which nothing here reads and which
/// are often as large as the rest of the object.
pub fn cached<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<K>,
) -> (Store<K>, impl Stream<Item = Result<K, watcher::Error>> + Send + 'static)
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let store = writer.as_reader();
    let watch =
        watcher::watcher(api, config).modify(|object: &mut K| object.managed_fields_mut().clear()).default_backoff();
    let stream = reflector::reflector(writer, watch).touched_objects();
    (store, stream)
}

/// A watch like [`cached`] that survives objects it cannot decode (written against an
/// older or newer schema, or by hand): a plain watch would fail its whole listing on one
/// such object and retry forever, leaving the cache empty. Each undecodable object is left
/// out of the cache — removed, if an earlier version of it decoded — and handed to
/// `on_invalid` to be reported; every other object is cached as usual.
pub fn cached_guarded<K>(
    api: Api<DeserializeGuard<K>>,
    config: watcher::Config,
    writer: Writer<K>,
    on_invalid: impl Fn(&InvalidObject) + Send + Sync + 'static,
) -> (Store<K>, impl Stream<Item = Result<K, watcher::Error>> + Send + 'static)
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    let store = writer.as_reader();
    let cache = store.clone();
    let watch = watcher::watcher(api, config)
        .filter_map(move |event| std::future::ready(event.map(|e| unguard(e, &cache, &on_invalid)).transpose()))
        .modify(|object: &mut K| object.managed_fields_mut().clear())
        .default_backoff();
    let stream = reflector::reflector(writer, watch).touched_objects();
    (store, stream)
}

/// Like [`cached`], but objects keep the `managedFields` entry that `manager` made by
/// server-side apply (and only that one), so that [`crate::apply::Applier::ensure_dynamic`]
/// can tell which fields the manager set earlier and no longer wants.
pub fn cached_with_own_fields<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<K>,
    manager: &'static str,
) -> (Store<K>, impl Stream<Item = Result<K, watcher::Error>> + Send + 'static)
where
    K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let store = writer.as_reader();
    let watch = watcher::watcher(api, config)
        .modify(move |object: &mut K| {
            object.managed_fields_mut().retain(|entry| {
                entry.manager.as_deref() == Some(manager)
                    && entry.operation.as_deref() == Some("Apply")
                    && entry.subresource.as_deref().is_none_or(str::is_empty)
            })
        })
        .default_backoff();
    let stream = reflector::reflector(writer, watch).touched_objects();
    (store, stream)
}

/// The event for the cache of decodable objects: an undecodable object is reported and
/// dropped, or becomes the deletion of its cached earlier version.
fn unguard<K>(
    event: Event<DeserializeGuard<K>>,
    cache: &Store<K>,
    on_invalid: &impl Fn(&InvalidObject),
) -> Option<Event<K>>
where
    K: Resource + Clone,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    let forget = |invalid: &InvalidObject| {
        let name = invalid.metadata.name.as_deref()?;
        let mut reference = ObjectRef::<K>::new(name);
        if let Some(namespace) = &invalid.metadata.namespace {
            reference = reference.within(namespace);
        }
        cache.get(&reference).map(|earlier| Event::Delete((*earlier).clone()))
    };
    match event {
        Event::Init => Some(Event::Init),
        Event::InitDone => Some(Event::InitDone),
        Event::InitApply(DeserializeGuard(Ok(object))) => Some(Event::InitApply(object)),
        Event::Apply(DeserializeGuard(Ok(object))) => Some(Event::Apply(object)),
        Event::Delete(DeserializeGuard(Ok(object))) => Some(Event::Delete(object)),
        Event::InitApply(DeserializeGuard(Err(invalid))) => {
            on_invalid(&invalid);
            None
        }
        Event::Apply(DeserializeGuard(Err(invalid))) => {
            on_invalid(&invalid);
            forget(&invalid)
        }
        Event::Delete(DeserializeGuard(Err(invalid))) => forget(&invalid),
    }
}

/// What a watch of `kind` (e.g. `ServiceInstance` of `catalog.makonis.lv/v1alpha1`)
/// does with an object it cannot decode: a warning in the log, the metric
/// `makonis_operator_undecodable_objects_total`, and a Warning Event `InvalidObject` on
/// the object that says what to fix. For [`cached_guarded`].
pub fn report_undecodable(
    controller: &'static str,
    kind: &'static str,
    api_version: &'static str,
    events: EventPublisher,
    metrics: ReconcileMetrics,
) -> impl Fn(&InvalidObject) + Send + Sync + 'static {
    move |invalid| {
        let name = invalid.metadata.name.clone().unwrap_or_default();
        let namespace = invalid.metadata.namespace.clone();
        tracing::warn!(kind, name, namespace, error = %invalid.error, "cannot decode a watched object; it is left out until fixed");
        metrics.record_undecodable(controller, kind);
        let reference = ObjectReference {
            api_version: Some(api_version.into()),
            kind: Some(kind.into()),
            name: Some(name),
            namespace,
            uid: invalid.metadata.uid.clone(),
            ..ObjectReference::default()
        };
        let note = format!(
            "{controller} cannot read this {kind} and ignores it until it is fixed: {}. Correct it against the \
             installed CRD (kubectl explain), or delete it",
            invalid.error
        );
        let events = events.clone();
        tokio::spawn(async move { events.warning(&reference, "InvalidObject", "Decode", note).await });
    }
}

/// Drives a watch stream, logging errors (the watcher retries with back-off).
pub async fn drain<T, E: std::fmt::Display>(stream: impl Stream<Item = Result<T, E>>) {
    stream
        .for_each(|event| async move {
            if let Err(error) = event {
                tracing::warn!(%error, "watch failed; retrying");
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta};
    use std::sync::Mutex;

    use super::*;

    fn config_map(name: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some("ns".into()), ..Default::default() },
            ..Default::default()
        }
    }

    fn invalid(name: &str) -> DeserializeGuard<ConfigMap> {
        DeserializeGuard(Err(InvalidObject {
            error: "missing field `spec`".into(),
            metadata: config_map(name).metadata,
        }))
    }

    #[test]
    fn undecodable_objects_are_reported_and_left_out() {
        let mut writer = Writer::<ConfigMap>::default();
        let cache = writer.as_reader();
        let seen = Mutex::new(Vec::new());
        let report = |invalid: &InvalidObject| seen.lock().unwrap().push(invalid.metadata.name.clone().unwrap());
        for event in [
            Event::Init,
            Event::InitApply(DeserializeGuard(Ok(config_map("good")))),
            Event::InitApply(invalid("bad")),
            Event::InitDone,
        ] {
            if let Some(event) = unguard(event, &cache, &report) {
                writer.apply_watcher_event(&event);
            }
        }
        assert!(cache.get(&ObjectRef::new("good").within("ns")).is_some());
        assert!(cache.get(&ObjectRef::new("bad").within("ns")).is_none());
        assert_eq!(*seen.lock().unwrap(), ["bad"]);
    }

    #[test]
    fn an_object_that_stops_decoding_leaves_the_cache() {
        let mut writer = Writer::<ConfigMap>::default();
        let cache = writer.as_reader();
        writer.apply_watcher_event(&Event::Apply(config_map("later-bad")));
        let event = unguard(Event::Apply(invalid("later-bad")), &cache, &|_: &InvalidObject| {});
        assert!(matches!(&event, Some(Event::Delete(old)) if old.metadata.name.as_deref() == Some("later-bad")));
        writer.apply_watcher_event(&event.unwrap());
        assert!(cache.get(&ObjectRef::new("later-bad").within("ns")).is_none());
        assert!(unguard(Event::Delete(invalid("never-seen")), &cache, &|_: &InvalidObject| {}).is_none());
    }
}
