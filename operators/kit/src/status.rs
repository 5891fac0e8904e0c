//! Status writes: one server-side apply of the whole status, and none when nothing changed.

use std::fmt::Debug;

use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

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
    let writer = Writer::new(api, object);
    let want = serde_json::to_value(desired).map_err(|e| writer.fail_json("encoding the status of", e))?;
    if writer.fresh_status().await?.as_ref() == Some(&want) {
        return Ok(false);
    }
    writer.apply(want, field_manager, metrics).await
}

/// Writes the status `merge` makes of the object's status, unless it already has it.
///
/// For statuses that carry facts from one reconcile to the next (what the controller
/// created, a Secret it handed over, when a departure is due), `merge` lays this
/// reconcile's findings over a status. It is called with the cached status and, when
/// that gives a change, again with the status read fresh from the API server, and the
/// latter is written: a reconcile that ran on a cached copy older than the controller's
/// own last write (which the watch cache can hand it) never drops what that write recorded.
///
/// Returns whether a write was sent.
pub async fn apply_status_merged<K, S>(
    api: &Api<K>,
    object: &K,
    current: Option<&S>,
    merge: impl Fn(Option<&S>) -> S,
    field_manager: &'static str,
    metrics: &ReconcileMetrics,
) -> Result<bool, ApiCallError>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug,
    S: Serialize + DeserializeOwned + PartialEq,
{
    if let Some(current) = current
        && merge(Some(current)) == *current
    {
        return Ok(false);
    }
    let writer = Writer::new(api, object);
    let fresh: Option<S> = match writer.fresh_status().await? {
        Some(value) => Some(serde_json::from_value(value).map_err(|e| writer.fail_json("decoding the status of", e))?),
        None => None,
    };
    let desired = merge(fresh.as_ref());
    if fresh.as_ref() == Some(&desired) {
        return Ok(false);
    }
    let want = serde_json::to_value(&desired).map_err(|e| writer.fail_json("encoding the status of", e))?;
    writer.apply(want, field_manager, metrics).await
}

/// One status write's calls, each error naming the object.
struct Writer<'a, K> {
    api: &'a Api<K>,
    name: String,
}

impl<'a, K> Writer<'a, K>
where
    K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug,
{
    fn new(api: &'a Api<K>, object: &K) -> Self {
        Self { api, name: object.meta().name.clone().unwrap_or_default() }
    }

    fn fail(&self, action: &'static str, error: kube::Error) -> ApiCallError {
        ApiCallError { action, kind: K::kind(&()).into_owned(), name: self.name.clone(), error }
    }

    /// The same for a JSON (de)serialisation.
    fn fail_json(&self, action: &'static str, error: serde_json::Error) -> ApiCallError {
        self.fail(action, kube::Error::SerdeError(error))
    }

    /// The status on the API server now (`None` when it has none).
    async fn fresh_status(&self) -> Result<Option<Value>, ApiCallError> {
        let fresh = self.api.get_status(&self.name).await.map_err(|e| self.fail("reading the status of", e))?;
        let fresh = serde_json::to_value(&fresh).map_err(|e| self.fail_json("encoding the status of", e))?;
        Ok(fresh.get("status").filter(|s| !s.is_null()).cloned())
    }

    /// Applies `want` as the whole status with `field_manager`.
    async fn apply(
        &self,
        want: Value,
        field_manager: &'static str,
        metrics: &ReconcileMetrics,
    ) -> Result<bool, ApiCallError> {
        let body = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": want,
        });
        let params = PatchParams::apply(field_manager).force();
        self.api
            .patch_status(&self.name, &params, &Patch::Apply(&body))
            .await
            .map_err(|e| self.fail("updating the status of", e))?;
        metrics.record_write(field_manager, &K::kind(&()));
        Ok(true)
    }
}
