//! Kubernetes Events as the tests read them: the Warning an operator records about an
//! object, found by the object's name and the Event's reason.

use k8s_openapi::api::events::v1::Event;
use kube::{Api, Client, api::ListParams};

use super::{CONVERGE, wait_until};

/// The note of a Warning Event with `reason` about the object `name` whose events go to
/// `namespace`, if there is one yet.
pub async fn warning_about(admin: &Client, namespace: &str, name: &str, reason: &str) -> Option<String> {
    let events: Api<Event> = Api::namespaced(admin.clone(), namespace);
    let list = events.list(&ListParams::default()).await.ok()?;
    list.items
        .into_iter()
        .find(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
                && e.type_.as_deref() == Some("Warning")
                && e.reason.as_deref() == Some(reason)
        })
        .map(|e| e.note.unwrap_or_default())
}

/// Waits for a Warning Event with `reason` about the object `name` whose events go to
/// `namespace` (its own namespace; `default` for cluster-wide objects) and returns its note.
pub async fn wait_for_warning_in(admin: &Client, namespace: &str, name: &str, reason: &str) -> String {
    wait_until(&format!("a Warning Event {reason} about {name}"), CONVERGE, || async {
        warning_about(admin, namespace, name, reason).await.ok_or_else(|| "no such event yet".to_string())
    })
    .await
}

/// Waits for a Warning Event with `reason` about the cluster-scoped object `name` (an
/// Agency, say: its Events are recorded in `default`) and returns its note.
pub async fn wait_for_warning(admin: &Client, name: &str, reason: &str) -> String {
    wait_for_warning_in(admin, "default", name, reason).await
}
