//! Status writes: one server-side apply of the whole status, and none when nothing changed.

use std::fmt::Debug;

use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use crate::{apply::ApiCallError, metrics::ReconcileMetrics};

/// Writes `desired` as the status of `object` unless it already has it.
///
/// `current` is the status in the watch cache. When it differs, the object is read once
/// more before writing: the cache may not have caught up with this controller's own last
/// write yet, and writing the same status again would be a write for nothing.
///
/// Returns whether a write was sent. Fields of the status that `desired` no longer
/// holds are removed, because the status is applied whole with the controller's field
/// manager.
pub async fn apply_status_if_changed<K, S>(
    api: &Api<K>,
    object: &K,
    current: Option<&S>,
    desired: &S,
    field_manager: &'static str,
    metrics: &ReconcileMetrics,
) -> Result<bool, ApiCallError>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug,
    S: Serialize + PartialEq,
{
    if current == Some(desired) {
        return Ok(false);
    }
    let name = object.meta().name.clone().unwrap_or_default();
    let fail = |action, error| ApiCallError { action, kind: K::kind(&()).into_owned(), name: name.clone(), error };
    let want = serde_json::to_value(desired).map_err(|e| fail("encoding the status of", kube::Error::SerdeError(e)))?;
    let fresh = api.get_status(&name).await.map_err(|e| fail("reading the status of", e))?;
    let fresh = serde_json::to_value(&fresh).map_err(|e| fail("encoding the status of", kube::Error::SerdeError(e)))?;
    if fresh.get("status") == Some(&want) {
        return Ok(false);
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": want,
    });
    let params = PatchParams::apply(field_manager).force();
    api.patch_status(&name, &params, &Patch::Apply(&body)).await.map_err(|e| fail("updating the status of", e))?;
    metrics.record_write(field_manager, &K::kind(&()));
    Ok(true)
}
