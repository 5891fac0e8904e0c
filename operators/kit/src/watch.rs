//! Watch caches: a reflector whose objects are kept without `managedFields` (or with only
//! the entry of one field manager), and a driver that logs watch errors while the
//! watcher retries.

use futures::{Stream, StreamExt};
use kube::{
    Api, Resource, ResourceExt,
    runtime::{
        WatchStreamExt,
        reflector::{self, Store, store::Writer},
        watcher,
    },
};

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
    let watch = watcher(api, config).modify(|object: &mut K| object.managed_fields_mut().clear()).default_backoff();
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
    let watch = watcher(api, config)
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
