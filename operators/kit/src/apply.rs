//! Server-side apply of children, only when this controller's wishes differ from what is
//! live.
//!
//! Each controller applies with its own field manager. Before applying, the live object is
//! compared with the desired one ([`drift`]): an apply is sent when a wanted value is
//! missing or different ([`object_covers`]), or when the controller's own entry of
//! `metadata.managedFields` holds a field the desired object no longer sets (a label,
//! annotation or map key dropped from a template or a quota; see
//! [`crate::owned_fields`]), so that server-side apply removes it. Otherwise nothing is
//! sent: an idle operator writes nothing, and reads nothing more than its caches.

use std::{collections::BTreeSet, fmt::Debug};

use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope, apimachinery::pkg::apis::meta::v1::OwnerReference};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams},
};
use makonis_api::quantity::same_quantity;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{error::ErrorCategory, metrics::ReconcileMetrics, owned_fields::unwanted_field};

/// What [`Applier::ensure`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The live object already matched; nothing was written.
    Unchanged,
    /// The object was created or updated.
    Applied,
}

/// The live object after [`Applier::ensure`], and whether it had to be written.
#[derive(Debug, Clone)]
pub struct Ensured<K> {
    /// Whether a write was sent.
    pub outcome: Outcome,
    /// The object as the API server holds it now.
    pub object: K,
}

/// A failed call to the Kubernetes API about one object.
#[derive(Debug, thiserror::Error)]
#[error("{action} {kind} {name}: {}", api_error_detail(error))]
pub struct ApiCallError {
    /// What was being done: `reading`, `applying`, `deleting`, `listing`.
    pub action: &'static str,
    /// The kind of the object.
    pub kind: String,
    /// The object's name (or the selector for a list).
    pub name: String,
    /// The client's error. Its essence is part of the message (see [`api_error_detail`]),
    /// so it is not repeated as a source.
    pub error: kube::Error,
}

impl ErrorCategory for ApiCallError {
    fn category(&self) -> &'static str {
        api_error_category(&self.error)
    }
}

/// What a person needs from a client error: the API server's own message for refusals
/// (`limitranges "x" is forbidden: User "…" cannot get …`), the client's otherwise.
pub fn api_error_detail(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) if !status.message.is_empty() => status.message.clone(),
        other => other.to_string(),
    }
}

/// The bounded category of a Kubernetes client error.
pub fn api_error_category(error: &kube::Error) -> &'static str {
    match error {
        kube::Error::Api(status) => match status.code {
            401 | 403 => "Forbidden",
            404 => "NotFound",
            409 => "Conflict",
            400 | 422 => "Invalid",
            429 | 500..=599 => "ApiUnavailable",
            _ => "ApiError",
        },
        kube::Error::SerdeError(_) => "Decode",
        _ => "ApiUnavailable",
    }
}

/// Applies and prunes children with one field manager.
#[derive(Clone)]
pub struct Applier {
    client: Client,
    field_manager: &'static str,
    metrics: ReconcileMetrics,
}

impl Applier {
    /// An applier for the controller named `field_manager` (e.g. `makonis-tenancy`).
    pub fn new(client: Client, field_manager: &'static str, metrics: ReconcileMetrics) -> Self {
        Self { client, field_manager, metrics }
    }

    /// Makes the live object match `desired`, writing only when it does not already (see
    /// [`drift`]). The live object is read from the API server, `managedFields` included.
    pub async fn ensure<K>(&self, desired: &K) -> Result<Ensured<K>, ApiCallError>
    where
        K: Resource<DynamicType = ()> + Serialize + DeserializeOwned + Clone + Debug,
        K::Scope: ScopedApi,
    {
        let api = self.api_for::<K>(desired.namespace().as_deref());
        let (kind, name) = (K::kind(&()), desired.name_any());
        let want = serde_json::to_value(desired)
            .map_err(|e| call_error("encoding", &kind, &name, kube::Error::SerdeError(e)))?;
        let live = api.get_opt(&name).await.map_err(|e| call_error("reading", &kind, &name, e))?;
        self.apply_unless_covered(&api, &kind, &name, &want, live).await
    }

    /// Makes a live object of a kind known only at run time match `desired`, comparing
    /// with `live` (the caller's watch cache) instead of reading it: nothing is sent when
    /// `live` already has every field `desired` sets and this manager owns no field that
    /// `desired` dropped. The cache must keep this manager's `managedFields` entry
    /// ([`crate::watch::cached_with_own_fields`]); without it, dropped fields go unseen.
    pub async fn ensure_dynamic(
        &self,
        resource: &ApiResource,
        desired: &Value,
        live: Option<&DynamicObject>,
    ) -> Result<Ensured<DynamicObject>, ApiCallError> {
        let name = desired.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
        let api: Api<DynamicObject> = match desired.pointer("/metadata/namespace").and_then(Value::as_str) {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, resource),
            None => Api::all_with(self.client.clone(), resource),
        };
        self.apply_unless_covered(&api, &resource.kind, name, desired, live.cloned()).await
    }

    /// Server-side applies `want` unless `live` is already in line with it.
    async fn apply_unless_covered<K>(
        &self,
        api: &Api<K>,
        kind: &str,
        name: &str,
        want: &Value,
        live: Option<K>,
    ) -> Result<Ensured<K>, ApiCallError>
    where
        K: Serialize + DeserializeOwned + Clone + Debug,
    {
        if let Some(live) = live {
            let live_json = serde_json::to_value(&live)
                .map_err(|e| call_error("encoding", kind, name, kube::Error::SerdeError(e)))?;
            match drift(&live_json, want, self.field_manager) {
                None => return Ok(Ensured { outcome: Outcome::Unchanged, object: live }),
                Some(why) => tracing::debug!(kind, name, %why, "applying"),
            }
        }
        let params = PatchParams::apply(self.field_manager).force();
        let object =
            api.patch(name, &params, &Patch::Apply(want)).await.map_err(|e| call_error("applying", kind, name, e))?;
        self.metrics.record_write(self.field_manager, kind);
        Ok(Ensured { outcome: Outcome::Applied, object })
    }

    /// Deletes the objects matching `selector` in `namespace` whose names are not in
    /// `keep`, returning the names deleted. Used for children no longer wanted.
    pub async fn prune<K>(
        &self,
        namespace: Option<&str>,
        selector: &str,
        keep: &BTreeSet<String>,
    ) -> Result<Vec<String>, ApiCallError>
    where
        K: Resource<DynamicType = ()> + DeserializeOwned + Clone + Debug,
        K::Scope: ScopedApi,
    {
        let api = self.api_for::<K>(namespace);
        let kind = K::kind(&()).into_owned();
        let live = api.list_metadata(&ListParams::default().labels(selector)).await.map_err(|error| ApiCallError {
            action: "listing",
            kind: kind.clone(),
            name: selector.into(),
            error,
        })?;
        let mut deleted = Vec::new();
        for object in live.items {
            let name = object.name_any();
            if keep.contains(&name) || object.metadata.deletion_timestamp.is_some() {
                continue;
            }
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(error) => return Err(ApiCallError { action: "deleting", kind, name, error }),
            }
            self.metrics.record_write(self.field_manager, &kind);
            deleted.push(name);
        }
        Ok(deleted)
    }

    fn api_for<K>(&self, namespace: Option<&str>) -> Api<K>
    where
        K: Resource<DynamicType = ()>,
        K::Scope: ScopedApi,
    {
        K::Scope::api(self.client.clone(), namespace)
    }
}

/// The error of a failed call about the object `kind`/`name`.
fn call_error(action: &'static str, kind: &str, name: &str, error: kube::Error) -> ApiCallError {
    ApiCallError { action, kind: kind.to_string(), name: name.to_string(), error }
}

/// Builds the right [`Api`] for a kind from its scope: namespaced kinds need a namespace,
/// cluster-scoped kinds ignore it.
pub trait ScopedApi {
    /// An [`Api`] for `K` in `namespace`.
    fn api<K: Resource<DynamicType = (), Scope = Self>>(client: Client, namespace: Option<&str>) -> Api<K>;
}

impl ScopedApi for NamespaceResourceScope {
    fn api<K: Resource<DynamicType = (), Scope = Self>>(client: Client, namespace: Option<&str>) -> Api<K> {
        match namespace {
            Some(ns) => Api::namespaced(client, ns),
            None => Api::all(client),
        }
    }
}

impl ScopedApi for ClusterResourceScope {
    fn api<K: Resource<DynamicType = (), Scope = Self>>(client: Client, _namespace: Option<&str>) -> Api<K> {
        Api::all(client)
    }
}

/// An owner reference to `owner` that marks it as the controller of the child.
pub fn controller_reference<K: Resource<DynamicType = ()>>(owner: &K) -> Option<OwnerReference> {
    owner.controller_owner_ref(&())
}

/// Why the live object must be applied again, or `None` when it already has every value
/// `want` sets and `manager` owns no field (by an earlier apply) that `want` dropped.
pub fn drift(live: &Value, want: &Value, manager: &str) -> Option<Drift> {
    if !object_covers(live, want) {
        return Some(Drift::Differs);
    }
    unwanted_field(live, want, manager).map(Drift::NoLongerWanted)
}

/// Why an apply is needed (see [`drift`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// A wanted value is missing or different.
    Differs,
    /// This manager set the field at this path earlier and no longer wants it.
    NoLongerWanted(String),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drift::Differs => f.write_str("a wanted value is missing or different"),
            Drift::NoLongerWanted(path) => write!(f, "{path} is no longer wanted"),
        }
    }
}

/// Whether the live object already has everything `want` sets.
///
/// Labels and annotations may carry more keys than wanted; every wanted owner reference
/// must be present (by UID). Every other field of `want` must be [`covers`]ed.
pub fn object_covers(live: &Value, want: &Value) -> bool {
    let (Some(live), Some(want)) = (live.as_object(), want.as_object()) else {
        return false;
    };
    want.iter().all(|(key, wanted)| match key.as_str() {
        "metadata" => metadata_covers(live.get("metadata").unwrap_or(&Value::Null), wanted),
        _ => live.get(key).is_some_and(|have| covers(have, wanted)),
    })
}

fn metadata_covers(live: &Value, want: &Value) -> bool {
    let Some(want) = want.as_object() else { return true };
    want.iter().all(|(key, wanted)| match key.as_str() {
        "ownerReferences" => {
            let have = live.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            wanted
                .as_array()
                .into_iter()
                .flatten()
                .all(|w| have.iter().any(|h| h.get("uid") == w.get("uid") && covers(h, w)))
        }
        _ => live.get(key).is_some_and(|have| covers(have, wanted)),
    })
}

/// Whether `have` holds every value of `want`: objects may have extra keys (defaults the
/// API server filled in), arrays must have the same length and cover element-wise, and
/// strings that are both quantities compare by value.
pub fn covers(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(have), Value::Object(want)) => want.iter().all(|(k, w)| match have.get(k) {
            Some(h) => covers(h, w),
            None => w.is_null(),
        }),
        (Value::Array(have), Value::Array(want)) => {
            have.len() == want.len() && have.iter().zip(want).all(|(h, w)| covers(h, w))
        }
        (Value::String(have), Value::String(want)) => have == want || same_quantity(have, want),
        (Value::Number(have), Value::String(want)) | (Value::String(want), Value::Number(have)) => {
            same_quantity(&have.to_string(), want)
        }
        _ => have == want,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_added_by_the_server_do_not_count_as_drift() {
        let want = json!({"spec": {"ingress": [{"from": [{"podSelector": {}}]}]}});
        let live = json!({"spec": {"ingress": [{"from": [{"podSelector": {}}]}], "policyTypes": ["Ingress"]}});
        assert!(object_covers(&live, &want));
    }

    #[test]
    fn canonicalised_quantities_are_not_drift() {
        let want = json!({"spec": {"hard": {"requests.memory": "1.5Gi", "requests.cpu": "0.5"}}});
        let live = json!({"spec": {"hard": {"requests.memory": "1536Mi", "requests.cpu": "500m"}}});
        assert!(object_covers(&live, &want));
    }

    #[test]
    fn changed_value_is_drift() {
        let want = json!({"spec": {"hard": {"requests.cpu": "8"}}});
        let live = json!({"spec": {"hard": {"requests.cpu": "16"}}});
        assert!(!object_covers(&live, &want));
    }

    #[test]
    fn removed_list_entry_is_drift() {
        let want = json!({"subjects": [{"kind": "Group", "name": "A"}]});
        let live = json!({"subjects": [{"kind": "Group", "name": "A"}, {"kind": "Group", "name": "B"}]});
        assert!(!object_covers(&live, &want));
    }

    #[test]
    fn extra_labels_are_fine_missing_ones_are_not() {
        let want = json!({"metadata": {"name": "x", "labels": {"a": "1"}}});
        assert!(object_covers(&json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}}}), &want));
        assert!(!object_covers(&json!({"metadata": {"name": "x", "labels": {"b": "2"}}}), &want));
    }

    #[test]
    fn a_dropped_label_is_drift_only_when_this_manager_set_it() {
        let want = json!({"metadata": {"name": "x", "labels": {"a": "1"}}});
        let fields = json!({"f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}}});
        let live = |manager: &str| {
            json!({"metadata": {"name": "x", "labels": {"a": "1", "b": "2"}, "managedFields": [
                {"manager": manager, "operation": "Apply", "fieldsV1": fields}
            ]}})
        };
        assert_eq!(
            drift(&live("makonis-tenancy"), &want, "makonis-tenancy"),
            Some(Drift::NoLongerWanted("metadata.labels.b".into()))
        );
        assert_eq!(drift(&live("kubectl"), &want, "makonis-tenancy"), None);
        let changed = json!({"metadata": {"name": "x", "labels": {"a": "2"}}});
        assert_eq!(drift(&live("makonis-tenancy"), &changed, "makonis-tenancy"), Some(Drift::Differs));
    }

    #[test]
    fn owner_references_match_by_uid_and_tolerate_others() {
        let want = json!({"metadata": {"ownerReferences": [{"uid": "u1", "kind": "Agency", "controller": true}]}});
        let live = json!({"metadata": {"ownerReferences": [
            {"uid": "u0", "kind": "Other"},
            {"uid": "u1", "kind": "Agency", "controller": true, "blockOwnerDeletion": true}
        ]}});
        assert!(object_covers(&live, &want));
        assert!(!object_covers(&json!({"metadata": {}}), &want));
    }
}
