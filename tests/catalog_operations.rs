//! The catalog operator under operational stress: killed in the middle of provisioning
//! and restarted, it converges with nothing duplicated and no password regenerated; idle,
//! it writes nothing.

mod support;

use std::{collections::BTreeMap, time::Duration};

use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    core::v1::Secret,
};
use kube::{
    Api, Resource,
    api::{ListParams, PostParams},
};
use makonis_api::{
    catalog::{Phase, ServiceInstance},
    labels,
};
use serde::de::DeserializeOwned;
use serde_json::json;
use support::{
    CONVERGE,
    audit::{audit_offset, read_writes},
    catalog::{CATALOG_SERVICE_ACCOUNT, CatalogRun, test_item, wait_phase},
    cluster::OPERATOR_NAMESPACE,
    wait_until,
};

/// Instances per agency (the test agencies' quota allows 5).
const PER_AGENCY: usize = 5;

async fn names<K>(run: &CatalogRun, namespace: &str, selector: &str) -> Vec<String>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(run.admin.clone(), namespace);
    let list = api.list_metadata(&ListParams::default().labels(selector)).await.expect("list");
    list.items.into_iter().filter_map(|o| o.metadata.name).collect()
}

/// Orders `PER_AGENCY` small instances in each namespace.
async fn order_all(run: &CatalogRun, namespaces: &[String], item: &str) -> Vec<(String, String)> {
    let mut ordered = Vec::new();
    for namespace in namespaces {
        let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), namespace);
        for i in 0..PER_AGENCY {
            let name = format!("app{i}");
            let order = run.instance(namespace, &name, item, "small", json!({}));
            instances.create(&PostParams::default(), &order).await.expect("order");
            ordered.push((namespace.clone(), name));
        }
    }
    ordered
}

#[tokio::test]
async fn kill_and_restart_mid_provisioning_converges_without_duplicates() {
    let run = CatalogRun::start(300).await;
    let namespaces = vec![run.agency("ka").await, run.agency("kb").await];
    let item = run.item_name("web");
    run.publish(test_item(&item)).await.expect("publish");
    let ordered = order_all(&run, &namespaces, &item).await;

    // Kill as soon as the first credentials Secret exists: some instances are done,
    // others not started.
    let selector = format!("{}={}", labels::CATALOG_ITEM, item);
    wait_until("the first credentials Secret", CONVERGE, || async {
        let found = names::<Secret>(&run, &namespaces[0], &selector).await;
        if found.is_empty() { Err("none yet".to_string()) } else { Ok(()) }
    })
    .await;
    let mut passwords_at_kill = BTreeMap::new();
    for namespace in &namespaces {
        let secrets: Api<Secret> = Api::namespaced(run.admin.clone(), namespace);
        for secret in secrets.list(&ListParams::default().labels(&selector)).await.unwrap().items {
            passwords_at_kill.insert((namespace.clone(), secret.metadata.name.clone().unwrap()), secret.data.unwrap());
        }
    }
    let mut ready_at_kill = 0;
    for (namespace, name) in &ordered {
        let instance = Api::<ServiceInstance>::namespaced(run.admin.clone(), namespace).get(name).await.unwrap();
        ready_at_kill += usize::from(instance.status.and_then(|s| s.phase) == Some(Phase::Ready));
    }
    let run = run.kill_and_restart_catalog().await;
    println!(
        "killed with {} of {} credentials created and {ready_at_kill} instances Ready",
        passwords_at_kill.len(),
        ordered.len()
    );
    assert!(ready_at_kill < ordered.len(), "the kill came too late to test anything");

    for (namespace, name) in &ordered {
        let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), namespace);
        wait_phase(&instances, name, Phase::Ready, CONVERGE).await;
    }
    for namespace in &namespaces {
        for i in 0..PER_AGENCY {
            let of_instance = format!("{selector},{}=app{i}", labels::INSTANCE);
            assert_eq!(names::<Deployment>(&run, namespace, &of_instance).await, [format!("app{i}")]);
            assert_eq!(names::<Secret>(&run, namespace, &of_instance).await, [format!("app{i}-credentials")]);
        }
        // One ReplicaSet per Deployment: the second operator applied exactly what the
        // first did, so nothing rolled out twice.
        let replica_sets: Api<ReplicaSet> = Api::namespaced(run.admin.clone(), namespace);
        let count = replica_sets.list_metadata(&ListParams::default()).await.unwrap().items.len();
        assert_eq!(count, PER_AGENCY, "ReplicaSets in {namespace}");
    }
    for ((namespace, name), data) in &passwords_at_kill {
        let secret = Api::<Secret>::namespaced(run.admin.clone(), namespace).get(name).await.unwrap();
        assert_eq!(secret.data.as_ref(), Some(data), "{name} was regenerated");
    }
    run.finish().await;
}

#[tokio::test]
async fn idle_catalog_operator_makes_no_writes() {
    // A drift check every second makes the steady state busy: many reconciles, no writes.
    let run = CatalogRun::start(1).await;
    let namespaces = vec![run.agency("sa").await];
    let item = run.item_name("web");
    run.publish(test_item(&item)).await.expect("publish");
    let ordered = order_all(&run, &namespaces, &item).await;
    for (namespace, name) in &ordered {
        let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), namespace);
        wait_phase(&instances, name, Phase::Ready, CONVERGE).await;
    }

    let offset = audit_offset();
    let labels = r#"controller="makonis-catalog""#;
    let operator = &run.catalog;
    let runs_before = operator.counter("makonis_operator_reconcile_total", labels).await;
    let writes_before = operator.total("makonis_operator_api_writes_total").await;
    let target = runs_before + 4.0 * ordered.len() as f64;
    let runs_after = wait_until("steady-state reconciles", Duration::from_secs(60), || async {
        let runs = operator.counter("makonis_operator_reconcile_total", labels).await;
        if runs >= target { Ok(runs) } else { Err(format!("{runs} of {target}")) }
    })
    .await;

    let user = format!("system:serviceaccount:{OPERATOR_NAMESPACE}:{CATALOG_SERVICE_ACCOUNT}");
    let (writes, _) = read_writes(offset);
    let ours: Vec<_> = writes.iter().filter(|w| w.user == user && namespaces.contains(&w.namespace)).collect();
    let counted = operator.total("makonis_operator_api_writes_total").await - writes_before;
    println!("steady state: {} reconciles, {} audited writes, {counted} counted", runs_after - runs_before, ours.len());
    assert!(ours.is_empty(), "the idle catalog operator wrote: {ours:#?}");
    assert_eq!(counted, 0.0);
    let (all, _) = read_writes(0);
    assert!(
        all.iter().any(|w| w.user == user && namespaces.contains(&w.namespace)),
        "no catalog write was ever audited"
    );
    run.finish().await;
}
