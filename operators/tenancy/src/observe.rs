//! Reading what an agency's namespace still holds (IO).

use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind, ListParams},
};
use makonis_operator_kit::apply::ApiCallError;

use crate::removal::{DATA_HOLDING_KINDS, DataHoldingKind, NAMES_SHOWN, NamespaceState, Remaining};

/// Finds out whether `namespace` exists, is terminating, and what data it still holds.
pub async fn observe_namespace(client: &Client, namespace: &str) -> Result<NamespaceState, ApiCallError> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let live = namespaces.get_opt(namespace).await.map_err(|error| ApiCallError {
        action: "reading",
        kind: "Namespace".into(),
        name: namespace.into(),
        error,
    })?;
    let Some(live) = live else { return Ok(NamespaceState::Gone) };
    if live.metadata.deletion_timestamp.is_some() {
        return Ok(NamespaceState::Terminating);
    }
    let mut remaining = Vec::with_capacity(DATA_HOLDING_KINDS.len());
    for kind in &DATA_HOLDING_KINDS {
        remaining.push(count_objects(client, namespace, kind).await?);
    }
    Ok(NamespaceState::Active(remaining))
}

/// Counts the objects of `kind` in `namespace`, returning a few of their names. A kind
/// whose API is not installed counts as none.
async fn count_objects(client: &Client, namespace: &str, kind: &DataHoldingKind) -> Result<Remaining, ApiCallError> {
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(kind.group, kind.version, kind.kind), kind.plural);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let list = match api.list_metadata(&ListParams::default().limit(NAMES_SHOWN as u32)).await {
        Ok(list) => list,
        Err(kube::Error::Api(status)) if status.code == 404 => {
            return Ok(Remaining { kind: kind.kind, count: 0, names: Vec::new() });
        }
        Err(error) => {
            return Err(ApiCallError { action: "listing", kind: kind.kind.into(), name: namespace.into(), error });
        }
    };
    let more = list.metadata.remaining_item_count.unwrap_or(0).max(0) as usize;
    Ok(Remaining {
        kind: kind.kind,
        count: list.items.len() + more,
        names: list.items.iter().map(|o| o.name_any()).collect(),
    })
}
