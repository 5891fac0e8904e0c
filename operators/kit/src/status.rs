//! Status writes: one server-side apply of the whole status, and none when nothing changed.

use std::fmt::Debug;

use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use crate::{apply::ApiCallError, metrics::ReconcileMetrics};

/// Writes `desired` as the status of `object` unless it equals `current`.
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
    K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
    S: Serialize + PartialEq,
{
    if current == Some(desired) {
        return Ok(false);
    }
    let name = object.meta().name.clone().unwrap_or_default();
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": desired,
    });
    let params = PatchParams::apply(field_manager).force();
    api.patch_status(&name, &params, &Patch::Apply(&body)).await.map_err(|error| ApiCallError {
        action: "updating the status of",
        kind: K::kind(&()).into_owned(),
        name,
        error,
    })?;
    metrics.record_write(field_manager, &K::kind(&()));
    Ok(true)
}
