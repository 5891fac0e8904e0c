//! An Agency becomes its namespace, quota, limits, network policies and role bindings,
//! and they follow changes to the Agency. Runs against the real control plane.

mod support;

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{
        core::v1::{LimitRange, Namespace, ResourceQuota},
        networking::v1::NetworkPolicy,
        rbac::v1::RoleBinding,
    },
    apimachinery::pkg::api::resource::Quantity,
};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams},
};
use makonis_api::tenancy::Isolation;
use serde_json::json;
use support::{
    CONVERGE,
    tenancy::{TestRun, wait_ready},
    wait_until,
};

fn policy_names(policies: &[NetworkPolicy]) -> Vec<String> {
    let mut names: Vec<String> = policies.iter().filter_map(|p| p.metadata.name.clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn agency_gets_every_child_and_children_follow_changes() {
    let t = TestRun::start(300).await;
    let (admin, agencies) = (&t.admin, &t.agencies);
    let code = t.code("c");
    let ns = format!("agency-{code}");
    let ready = t.create_ready(&code).await;
    let status = ready.status.unwrap();
    assert_eq!(status.namespace.as_deref(), Some(ns.as_str()));
    let ready_condition = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready_condition.reason, "Reconciled");
    assert!(
        ready.metadata.finalizers.unwrap_or_default().contains(&"tenancy.makonis.lv/namespace-protection".to_string())
    );

    // The namespace: labelled, annotated, not owned (only the checked removal deletes it).
    let namespace = Api::<Namespace>::all(admin.clone()).get(&ns).await.expect("namespace exists");
    let labels = namespace.metadata.labels.clone().unwrap();
    assert_eq!(labels["makonis.lv/agency"], code);
    assert_eq!(labels["makonis.lv/tenancy"], "agency");
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "baseline");
    assert_eq!(namespace.metadata.annotations.unwrap()["makonis.lv/display-name-lv"], format!("Testa iestāde {code}"));
    assert!(namespace.metadata.owner_references.is_none());

    // The quota, and its hard limits reported back in the Agency's status.
    let quotas: Api<ResourceQuota> = Api::namespaced(admin.clone(), &ns);
    let hard = quotas.get("makonis-quota").await.unwrap().spec.unwrap().hard.unwrap();
    assert_eq!(hard["requests.cpu"], Quantity("8".into()));
    assert_eq!(hard["requests.memory"], Quantity("32Gi".into()));
    assert_eq!(hard["requests.storage"], Quantity("1Ti".into()));
    assert_eq!(hard["count/serviceinstances.catalog.makonis.lv"], Quantity("5".into()));
    let quota_status = wait_until("quota usage in the Agency status", CONVERGE, || async {
        let agency = agencies.get(&code).await.map_err(|e| e.to_string())?;
        agency.status.and_then(|s| s.quota).ok_or_else(|| "no status.quota yet".to_string())
    })
    .await;
    assert_eq!(quota_status.hard["cpu"], "8");
    assert_eq!(quota_status.used["cpu"], "0");

    let limits = Api::<LimitRange>::namespaced(admin.clone(), &ns).get("makonis-defaults").await.unwrap();
    assert_eq!(limits.spec.unwrap().limits[0].default_request.as_ref().unwrap()["cpu"], Quantity("100m".into()));

    let policies: Api<NetworkPolicy> = Api::namespaced(admin.clone(), &ns);
    assert_eq!(
        policy_names(&policies.list(&ListParams::default()).await.unwrap().items),
        ["makonis-allow-platform", "makonis-allow-same-namespace", "makonis-default-deny-ingress"]
    );

    let bindings: Api<RoleBinding> = Api::namespaced(admin.clone(), &ns);
    let admins = bindings.get("makonis-admins").await.unwrap();
    assert_eq!(admins.role_ref.name, "makonis-agency-admin");
    assert_eq!(admins.subjects.unwrap()[0].name, format!("{}-Admins", code.to_uppercase()));
    assert_eq!(
        bindings.list(&ListParams::default()).await.unwrap().items.len(),
        8,
        "five roles, the catalog and identity operators and the portal"
    );

    // Change quota, a group and the network allow-list: the children follow.
    let patch = json!({"spec": {
        "quota": {"cpu": "12", "memory": "48Gi"},
        "directory": {"groups": {"admins": "New-Admins"}},
        "network": {"isolation": "AllowList", "allowedAgencies": ["lm", "vsaa"]}
    }});
    agencies.patch(&code, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch agency");
    wait_ready(agencies, &code).await;
    let hard = quotas.get("makonis-quota").await.unwrap().spec.unwrap().hard.unwrap();
    assert_eq!((hard["requests.cpu"].0.as_str(), hard["requests.memory"].0.as_str()), ("12", "48Gi"));
    assert_eq!(bindings.get("makonis-admins").await.unwrap().subjects.unwrap()[0].name, "New-Admins");
    let names = policy_names(&policies.list(&ListParams::default()).await.unwrap().items);
    assert!(
        names.contains(&"makonis-allow-from-lm".to_string()) && names.contains(&"makonis-allow-from-vsaa".to_string()),
        "{names:?}"
    );
    let from_vsaa = policies.get("makonis-allow-from-vsaa").await.unwrap();
    let peer = &from_vsaa.spec.unwrap().ingress.unwrap()[0].from.clone().unwrap()[0];
    assert_eq!(
        peer.namespace_selector.as_ref().unwrap().match_labels.clone().unwrap(),
        BTreeMap::from([("makonis.lv/agency".into(), "vsaa".into()), ("makonis.lv/tenancy".into(), "agency".into())])
    );

    // Removing an allowed agency removes its rule.
    let patch = json!({"spec": {"network": {"isolation": "AllowList", "allowedAgencies": ["lm"]}}});
    agencies.patch(&code, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch agency");
    wait_until("the vsaa rule to be removed", CONVERGE, || async {
        let names = policy_names(&policies.list(&ListParams::default()).await.map_err(|e| e.to_string())?.items);
        if names.contains(&"makonis-allow-from-vsaa".to_string()) { Err(format!("{names:?}")) } else { Ok(()) }
    })
    .await;
    assert!(policies.get_opt("makonis-allow-from-lm").await.unwrap().is_some());

    // Back to Isolated: only the three base policies remain.
    let patch = json!({"spec": {"network": {"isolation": "Isolated", "allowedAgencies": null}}});
    agencies.patch(&code, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("patch agency");
    let agency = wait_ready(agencies, &code).await;
    assert_eq!(agency.spec.network.isolation, Isolation::Isolated);
    wait_until("only the base policies", CONVERGE, || async {
        let names = policy_names(&policies.list(&ListParams::default()).await.map_err(|e| e.to_string())?.items);
        if names.len() == 3 { Ok(()) } else { Err(format!("{names:?}")) }
    })
    .await;
}

#[tokio::test]
async fn drifted_children_are_put_back() {
    let t = TestRun::start(300).await;
    let admin = &t.admin;
    let code = t.code("d");
    let ns = format!("agency-{code}");
    t.create_ready(&code).await;

    // Someone edits the quota and deletes a policy by hand: the operator restores both.
    let quotas: Api<ResourceQuota> = Api::namespaced(admin.clone(), &ns);
    let patch = json!({"spec": {"hard": {"requests.cpu": "999"}}});
    quotas.patch("makonis-quota", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let policies: Api<NetworkPolicy> = Api::namespaced(admin.clone(), &ns);
    policies.delete("makonis-default-deny-ingress", &Default::default()).await.unwrap();
    wait_until("the quota and the deny policy to be restored", CONVERGE, || async {
        let cpu =
            quotas.get("makonis-quota").await.map_err(|e| e.to_string())?.spec.unwrap().hard.unwrap()["requests.cpu"]
                .0
                .clone();
        let deny = policies.get_opt("makonis-default-deny-ingress").await.map_err(|e| e.to_string())?;
        if cpu == "8" && deny.is_some() {
            Ok(())
        } else {
            Err(format!("cpu={cpu}, deny policy present={}", deny.is_some()))
        }
    })
    .await;
}
