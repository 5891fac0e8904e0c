//! Publish an item, order it, resize it, retire it: every step against the real control
//! plane, with the catalog operator running as its own ServiceAccount.

mod support;

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service},
    events::v1::Event,
    policy::v1::PodDisruptionBudget,
};
use kube::{
    Api, Resource,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use makonis_api::{
    catalog::{CatalogItem, Phase, ServiceInstance},
    labels,
};
use serde_json::json;
use support::{
    CONVERGE,
    catalog::{CatalogRun, test_item, wait_phase},
    wait_until,
};

#[tokio::test]
async fn an_order_becomes_ready_resizes_and_retires_keeping_its_data() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("life").await;
    let item = run.item_name("web");
    run.publish(test_item(&item)).await.expect("publish the test item");
    let items: Api<CatalogItem> = Api::all(run.admin.clone());
    let orderable = wait_until("the item to be reported orderable", CONVERGE, || async {
        let published = items.get(&item).await.map_err(|e| e.to_string())?;
        let ready = published.status.and_then(|s| s.conditions.into_iter().find(|c| c.type_ == "Ready"));
        match ready {
            Some(ready) if ready.status == "True" => Ok(ready),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(orderable.reason, "Orderable");
    assert!(orderable.message.contains("small, large, huge"), "{}", orderable.message);
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let order = run.instance(&namespace, "web", &item, "large", json!({"greeting": "Labdien"}));
    instances.create(&PostParams::default(), &order).await.expect("order");

    // Ordered: every child exists, labelled and owned, and the roll-up says Ready.
    let ready = wait_phase(&instances, "web", Phase::Ready, CONVERGE).await;
    let status = ready.status.clone().unwrap();
    let kinds: Vec<_> = status.children.iter().map(|c| format!("{} {}", c.kind, c.name)).collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap web-config",
            "PersistentVolumeClaim web-data",
            "Deployment web",
            "Service web",
            "PodDisruptionBudget web"
        ]
    );
    assert!(status.children.iter().all(|c| c.ready));
    let code = namespace.trim_start_matches("agency-");
    assert_eq!(status.outputs[0].value, format!("https://web.{code}.apps.makonis.lv/"));
    assert_eq!(status.admitted.as_ref().map(|a| a.plan.as_str()), Some("large"));
    let deployments: Api<Deployment> = Api::namespaced(run.admin.clone(), &namespace);
    let deployment = deployments.get("web").await.unwrap();
    let want_labels = BTreeMap::from([
        (labels::AGENCY.to_string(), code.to_string()),
        (labels::INSTANCE.to_string(), "web".to_string()),
        (labels::CATALOG_ITEM.to_string(), item.clone()),
        (labels::MANAGED_BY.to_string(), "makonis-catalog".to_string()),
    ]);
    let have = deployment.metadata.labels.clone().unwrap_or_default();
    assert!(want_labels.iter().all(|(k, v)| have.get(k) == Some(v)), "labels: {have:?}");
    let owner = &deployment.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("ServiceInstance", ready.meta().uid.as_deref().unwrap()));
    assert_eq!(deployment.spec.replicas, Some(2));
    let config = Api::<ConfigMap>::namespaced(run.admin.clone(), &namespace).get("web-config").await.unwrap();
    assert_eq!(config.data.unwrap()["greeting"], "Labdien");
    let secrets: Api<Secret> = Api::namespaced(run.admin.clone(), &namespace);
    let password = secrets.get("web-credentials").await.unwrap().data.unwrap()["password"].clone();
    assert_eq!(password.0.len(), 33);

    // Resize to one replica and change a parameter: re-rendered, applied, the budget pruned.
    let change = json!({"spec": {"plan": "small", "parameters": {"greeting": "Sveiki"}}});
    instances.patch("web", &PatchParams::default(), &Patch::Merge(&change)).await.expect("resize");
    let resized = wait_phase(&instances, "web", Phase::Ready, CONVERGE).await;
    assert_eq!(resized.status.unwrap().admitted.map(|a| a.plan), Some("small".to_string()));
    assert_eq!(deployments.get("web").await.unwrap().spec.replicas, Some(1));
    let budgets: Api<PodDisruptionBudget> = Api::namespaced(run.admin.clone(), &namespace);
    wait_until("the PodDisruptionBudget to be pruned", CONVERGE, || async {
        match budgets.get_opt("web").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("still there".into()),
        }
    })
    .await;
    let config = Api::<ConfigMap>::namespaced(run.admin.clone(), &namespace).get("web-config").await.unwrap();
    assert_eq!(config.data.unwrap()["greeting"], "Sveiki");
    assert_eq!(secrets.get("web-credentials").await.unwrap().data.unwrap()["password"], password, "kept on resize");

    // Retire: the claim and the credentials are kept and marked; the rest is removed.
    instances.delete("web", &DeleteParams::default()).await.expect("retire");
    wait_until("the instance to be gone", CONVERGE, || async {
        match instances.get_opt("web").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(i) => Err(format!("{:?}", i.status.map(|s| s.phase))),
        }
    })
    .await;
    wait_until("the workload to be garbage-collected", CONVERGE, || async {
        let left = (
            deployments.get_opt("web").await.map_err(|e| e.to_string())?.is_some(),
            Api::<Service>::namespaced(run.admin.clone(), &namespace)
                .get_opt("web")
                .await
                .map_err(|e| e.to_string())?
                .is_some(),
            Api::<ConfigMap>::namespaced(run.admin.clone(), &namespace)
                .get_opt("web-config")
                .await
                .map_err(|e| e.to_string())?
                .is_some(),
        );
        if left == (false, false, false) { Ok(()) } else { Err(format!("left: {left:?}")) }
    })
    .await;
    let claim = Api::<PersistentVolumeClaim>::namespaced(run.admin.clone(), &namespace).get("web-data").await.unwrap();
    let claim_labels = claim.metadata.labels.clone().unwrap_or_default();
    assert_eq!(claim_labels.get(labels::RETAINED).map(String::as_str), Some("true"));
    assert!(!claim_labels.contains_key(labels::MANAGED_BY));
    assert!(claim.metadata.owner_references.unwrap_or_default().is_empty());
    assert!(claim.metadata.deletion_timestamp.is_none());
    let secret = secrets.get("web-credentials").await.unwrap();
    assert_eq!(secret.data.unwrap()["password"], password);
    assert_eq!(secret.metadata.labels.unwrap().get(labels::RETAINED).map(String::as_str), Some("true"));
    let events: Api<Event> = Api::namespaced(run.admin.clone(), &namespace);
    let notes: Vec<String> = events
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.reason.as_deref() == Some("Retired"))
        .filter_map(|e| e.note)
        .collect();
    assert!(
        notes.iter().any(|n| n.contains("PersistentVolumeClaim web-data") && n.contains("Secret web-credentials")),
        "{notes:?}"
    );
    run.finish().await;
}
