//! Finalizers: add one before creating external state, remove it once that state is gone.
//!
//! Unlike a helper that removes the finalizer whenever cleanup "succeeds", the controller
//! decides explicitly when to let go, so that cleanup can be refused (for example while an
//! agency's namespace still holds data) without being reported as an error.

use std::fmt::Debug;

use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::{apply::ApiCallError, metrics::ReconcileMetrics};

/// Whether `object` carries `finalizer`.
pub fn has_finalizer<K: Resource>(object: &K, finalizer: &str) -> bool {
    object.finalizers().iter().any(|f| f == finalizer)
}

/// Adds `finalizer` to `object` if it is missing; returns whether a write was sent.
pub async fn add_finalizer<K>(
    api: &Api<K>,
    object: &K,
    finalizer: &str,
    controller: &'static str,
    metrics: &ReconcileMetrics,
) -> Result<bool, ApiCallError>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    if has_finalizer(object, finalizer) {
        return Ok(false);
    }
    let mut finalizers = object.finalizers().to_vec();
    finalizers.push(finalizer.to_string());
    patch_finalizers(api, object, finalizers, controller, metrics).await?;
    Ok(true)
}

/// Removes `finalizer` from `object` if present, letting the API server delete it.
pub async fn remove_finalizer<K>(
    api: &Api<K>,
    object: &K,
    finalizer: &str,
    controller: &'static str,
    metrics: &ReconcileMetrics,
) -> Result<bool, ApiCallError>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    if !has_finalizer(object, finalizer) {
        return Ok(false);
    }
    let finalizers: Vec<String> = object.finalizers().iter().filter(|f| *f != finalizer).cloned().collect();
    patch_finalizers(api, object, finalizers, controller, metrics).await?;
    Ok(true)
}

/// Replaces the finalizer list, guarded by the resource version so that a concurrent
/// change is never overwritten (the API answers 409 and the reconcile runs again).
async fn patch_finalizers<K>(
    api: &Api<K>,
    object: &K,
    finalizers: Vec<String>,
    controller: &'static str,
    metrics: &ReconcileMetrics,
) -> Result<(), ApiCallError>
where
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
{
    let name = object.name_any();
    let patch = json!({
        "metadata": { "resourceVersion": object.resource_version(), "finalizers": finalizers }
    });
    api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.map_err(|error| ApiCallError {
        action: "updating the finalizers of",
        kind: K::kind(&()).into_owned(),
        name,
        error,
    })?;
    metrics.record_write(controller, &K::kind(&()));
    Ok(())
}
