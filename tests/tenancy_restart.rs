//! Killing the operator in the middle of reconciling and starting it again leaves
//! exactly one of every child: nothing is duplicated, nothing is missing.

mod support;

use k8s_openapi::api::{
    core::v1::{LimitRange, Namespace, ResourceQuota},
    networking::v1::NetworkPolicy,
    rbac::v1::RoleBinding,
};
use kube::{
    Api, Resource,
    api::{ListParams, PostParams},
};
use makonis_api::tenancy::Agency;
use serde::de::DeserializeOwned;
use support::{
    CONVERGE,
    agencies::{test_agency, unique_id},
    cluster::admin_client,
    tenancy::{condition, start_operator, wait_ready},
    wait_until,
};

/// Agencies created at once, so that the kill lands while most are unfinished.
const AGENCIES: usize = 10;

async fn count<K>(admin: &kube::Client, code: &str) -> usize
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::all(admin.clone());
    let selector = format!("makonis.lv/agency={code},app.kubernetes.io/managed-by=makonis-tenancy");
    api.list_metadata(&ListParams::default().labels(&selector)).await.expect("list").items.len()
}

#[tokio::test]
async fn kill_and_restart_mid_reconcile_leaves_exactly_one_of_each_child() {
    let admin = admin_client().await;
    let run = unique_id();
    let operator = start_operator(&admin, &run, 300).await;
    let agencies: Api<Agency> = Api::all(admin.clone());
    let codes: Vec<String> = (0..AGENCIES).map(|i| format!("r{run}{i}")).collect();
    for code in &codes {
        agencies.create(&PostParams::default(), &test_agency(code, &run)).await.expect("create agency");
    }

    // Kill as soon as the first namespace appears.
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let selector = format!("makonis.lv/tenancy=agency,makonis.lv/agency in ({})", codes.join(","));
    wait_until("the first namespace", CONVERGE, || async {
        let found =
            namespaces.list_metadata(&ListParams::default().labels(&selector)).await.map_err(|e| e.to_string())?;
        if found.items.is_empty() { Err("none yet".into()) } else { Ok(()) }
    })
    .await;
    operator.kill().await;
    let mut ready_at_kill = 0;
    for code in &codes {
        let agency = agencies.get(code).await.unwrap();
        ready_at_kill += usize::from(condition(&agency, "Ready").is_some_and(|c| c.status == "True"));
    }
    assert!(ready_at_kill < AGENCIES, "the operator finished before it was killed; the test proved nothing");

    let _operator = start_operator(&admin, &run, 300).await;
    for code in &codes {
        wait_ready(&agencies, code).await;
        assert_eq!(count::<Namespace>(&admin, code).await, 1, "namespaces of {code}");
        assert_eq!(count::<ResourceQuota>(&admin, code).await, 1, "quotas of {code}");
        assert_eq!(count::<LimitRange>(&admin, code).await, 1, "limit ranges of {code}");
        assert_eq!(count::<NetworkPolicy>(&admin, code).await, 3, "network policies of {code}");
        assert_eq!(count::<RoleBinding>(&admin, code).await, 8, "role bindings of {code}");
        let agency = agencies.get(code).await.unwrap();
        let finalizers = agency.metadata.finalizers.unwrap_or_default();
        assert_eq!(finalizers, ["tenancy.makonis.lv/namespace-protection"], "finalizers of {code}");
    }
    println!("killed with {ready_at_kill} of {AGENCIES} agencies ready; all {AGENCIES} converged after the restart");
}
