//! Threat: skipping an item's approval chain with kubectl. RBAC lets requesters and
//! agency administrators create instances (for items that need no approval), so without
//! a check at admission they could order — or resize, or re-parameterise — an item that
//! needs approval directly, past the approvers and past the portal's audit trail. Only
//! the portal (after the chain) and platform administrators may.

use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use makonis_api::catalog::{Approval, Phase, ServiceInstance};
use serde_json::json;

use crate::support::{
    CONVERGE,
    catalog::{CatalogRun, test_item, wait_phase},
    cluster::{client_as, portal_client},
};

/// The refusal a create or patch got, or a panic naming who got through.
fn refusal(result: Result<ServiceInstance, kube::Error>, who: &str) -> String {
    match result {
        Ok(_) => panic!("{who} skipped the approval chain"),
        Err(kube::Error::Api(status)) => status.message,
        Err(other) => panic!("{who}: {other}"),
    }
}

#[tokio::test]
async fn approval_chains_cannot_be_skipped_with_kubectl() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("appr").await;
    let group = namespace.trim_start_matches("agency-").to_uppercase();
    let gated = run.item_name("gated");
    let mut item = test_item(&gated);
    item.spec.approval = Approval::AgencyApprover;
    run.publish(item).await.expect("publish the item that needs approval");
    let free = run.item_name("free");
    let mut item = test_item(&free);
    item.spec.approval = Approval::None;
    run.publish(item).await.expect("publish the item that needs none");

    let requester = client_as("anna@lm.gov.lv", &[&format!("{group}-Requesters")]).await;
    let agency_admin = client_as("ilze@lm.gov.lv", &[&format!("{group}-Admins")]).await;
    for (who, client) in [("a requester", &requester), ("an agency admin", &agency_admin)] {
        let order = run.instance(&namespace, "skip", &gated, "small", json!({}));
        let refused =
            refusal(Api::namespaced(client.clone(), &namespace).create(&PostParams::default(), &order).await, who);
        assert!(refused.contains("ApprovalRequired") && refused.contains("portal"), "{who}: {refused}");
    }
    let order = run.instance(&namespace, "free", &free, "small", json!({}));
    Api::<ServiceInstance>::namespaced(requester.clone(), &namespace)
        .create(&PostParams::default(), &order)
        .await
        .expect("an item without approval is ordered with kubectl");

    // The portal applies what its chain approved; nobody but a platform admin changes it.
    let order = run.instance(&namespace, "approved", &gated, "small", json!({}));
    Api::<ServiceInstance>::namespaced(portal_client().await, &namespace)
        .create(&PostParams::default(), &order)
        .await
        .expect("the portal applies an approved order");
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    wait_phase(&instances, "approved", Phase::Ready, CONVERGE).await;
    let as_admin: Api<ServiceInstance> = Api::namespaced(agency_admin.clone(), &namespace);
    for (what, change) in [
        ("plan", json!({"spec": {"plan": "large"}})),
        ("parameters", json!({"spec": {"parameters": {"greeting": "Labdien"}}})),
    ] {
        let refused = refusal(
            as_admin.patch("approved", &PatchParams::default(), &Patch::Merge(&change)).await,
            &format!("an agency admin changing the {what}"),
        );
        assert!(refused.contains("ApprovalRequired"), "{what}: {refused}");
    }
    as_admin
        .patch("approved", &PatchParams::default(), &Patch::Merge(&json!({"metadata": {"labels": {"team": "it"}}})))
        .await
        .expect("a change that leaves the order alone needs no approval");
    instances
        .patch("approved", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"plan": "large"}})))
        .await
        .expect("a platform administrator may change it");
    run.finish().await;
}
