//! Threat: retiring a service destroys data the item says to keep. A client chooses how a
//! deletion propagates (foreground, background, orphan — the portal, kubectl, Terraform),
//! and a foreground deletion lets the garbage collector delete the instance's dependents
//! while the catalog's finalizer is still releasing them. Whatever the door and the
//! policy, the retained claim and the credentials Secret must survive, without a
//! `deletionTimestamp`.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::{
    Api, Client,
    api::{DeleteParams, PostParams, PropagationPolicy},
};
use makonis_api::{
    catalog::{Phase, ServiceInstance},
    labels,
};
use makonis_portal::actions::retire::retire;
use serde_json::json;

use crate::support::{
    CONVERGE,
    catalog::{CatalogRun, test_item, wait_phase},
    cluster::client_as,
    cluster_portal::ClusterPortal,
    wait_until,
};

/// Orders `name` of `item` (whose template `data` — a claim — is retained) in
/// `namespace` and waits until it is Ready.
async fn order_ready(run: &CatalogRun, namespace: &str, item: &str, name: &str) {
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), namespace);
    let order = run.instance(namespace, name, item, "small", json!({}));
    instances.create(&PostParams::default(), &order).await.expect("order");
    wait_phase(&instances, name, Phase::Ready, CONVERGE).await;
}

/// Waits until the instance is gone, then checks that its retained claim and its
/// credentials survive, released and marked, with no deletion pending.
async fn assert_data_survived(admin: &Client, namespace: &str, name: &str, how: &str) {
    let instances: Api<ServiceInstance> = Api::namespaced(admin.clone(), namespace);
    wait_until(&format!("{name} to be gone ({how})"), CONVERGE, || async {
        match instances.get_opt(name).await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(i) => Err(format!("{:?}", i.status.and_then(|s| s.phase))),
        }
    })
    .await;
    let claim = Api::<PersistentVolumeClaim>::namespaced(admin.clone(), namespace)
        .get_opt(&format!("{name}-data"))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{how}: the retained claim {name}-data was deleted"));
    assert!(claim.metadata.deletion_timestamp.is_none(), "{how}: the retained claim is being deleted");
    assert!(claim.metadata.owner_references.unwrap_or_default().is_empty(), "{how}: the claim still has an owner");
    assert_eq!(claim.metadata.labels.unwrap_or_default().get(labels::RETAINED).map(String::as_str), Some("true"));
    let secret = Api::<Secret>::namespaced(admin.clone(), namespace)
        .get_opt(&format!("{name}-credentials"))
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{how}: the credentials of the retained data were deleted"));
    assert!(secret.metadata.deletion_timestamp.is_none(), "{how}: the credentials are being deleted");
    assert_eq!(secret.metadata.labels.unwrap_or_default().get(labels::RETAINED).map(String::as_str), Some("true"));
}

#[tokio::test]
async fn retained_data_survives_kubectl_delete_with_every_propagation_policy() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("ret").await;
    let code = namespace.trim_start_matches("agency-").to_uppercase();
    let item = run.item_name("keep");
    run.publish(test_item(&item)).await.expect("publish the test item");
    let agency_admin = client_as("admin@lm.gov.lv", &[&format!("{code}-Admins")]).await;
    let instances: Api<ServiceInstance> = Api::namespaced(agency_admin, &namespace);
    for (name, policy) in [
        ("fg", PropagationPolicy::Foreground),
        ("bg", PropagationPolicy::Background),
        ("orphan", PropagationPolicy::Orphan),
    ] {
        order_ready(&run, &namespace, &item, name).await;
        let params = DeleteParams { propagation_policy: Some(policy.clone()), ..DeleteParams::default() };
        instances.delete(name, &params).await.expect("the agency admin retires it with kubectl");
        assert_data_survived(&run.admin, &namespace, name, &format!("{policy:?}")).await;
    }
    run.finish().await;
}

#[tokio::test]
async fn retained_data_survives_retire_through_the_portal() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("retp").await;
    let code = namespace.trim_start_matches("agency-").to_string();
    let item = run.item_name("keepp");
    run.publish(test_item(&item)).await.expect("publish the test item");
    order_ready(&run, &namespace, &item, "site").await;

    let portal = ClusterPortal::start(&run, true).await;
    let context = &portal.context;
    // The agency too: the requester's role comes from its groups, and the agency and the
    // instance arrive through separate watches, in either order.
    wait_until("the portal to see the agency and the instance", CONVERGE, || async {
        context.view.agency(&code).ok_or_else(|| "no agency yet".to_string())?;
        context.view.instance(&code, "site").map(|_| ()).ok_or_else(|| "no instance yet".to_string())
    })
    .await;
    let requester = portal.actor("anna", format!("{}-Requesters", code.to_uppercase()));
    retire(context, &requester, &code, "site", "site").await.expect("retire through the portal");
    assert_data_survived(&run.admin, &namespace, "site", "the portal's retire").await;
    drop(portal);
    run.finish().await;
}
