//! The sector's catalog as shipped: `catalog/items/*.yaml` is accepted by the API server
//! and the webhook, and an order of every item, in its smallest plan, becomes Ready on
//! the local control plane (workloads scheduled onto simulated nodes, volumes bound,
//! virtual machines running on the test hypervisor through the compute operator).

mod support;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use makonis_api::{
    catalog::{CatalogItem, Phase, ServiceInstance},
    compute::{HostPool, VirtualMachine},
    identity::DirectoryServiceAccount,
    labels,
};
use serde_json::json;
use support::{
    CONVERGE,
    agencies::TEST_LABEL,
    catalog::{CatalogRun, wait_phase},
    cluster::{apply_documents, yaml_documents},
    compute::{start_operator, test_hypervisor_uri},
    wait_until,
};

#[tokio::test]
async fn every_catalog_item_can_be_ordered_and_becomes_ready() {
    let run = CatalogRun::start(300).await;
    let namespace = run
        .agency_with("sector", |agency| {
            let quota = &mut agency.spec.quota;
            quota.cpu = Quantity("64".into());
            quota.memory = Quantity("256Gi".into());
            quota.storage = Quantity("10Ti".into());
            quota.service_instances = 10;
        })
        .await;
    // Virtual machines go to the host pool `local` (the catalog operator's default
    // --host-pool): the test hypervisor, reconciled by a compute operator limited to
    // this agency's objects.
    let code = namespace.trim_start_matches("agency-").to_string();
    let selector = format!("{}={code}", labels::AGENCY);
    let pool: HostPool = serde_json::from_value(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "HostPool",
        "metadata": {"name": "local", "labels": {labels::AGENCY: code, TEST_LABEL: run.run}},
        "spec": {
            "hosts": [{"name": "local", "uri": test_hypervisor_uri()}],
            "storageTiers": [{"name": "standard", "storagePool": "default-pool"}, {"name": "backup", "storagePool": "backup"}]
        }
    }))
    .unwrap();
    let pools: Api<HostPool> = Api::all(run.admin.clone());
    // A run that failed half-way may have left its pool behind.
    let _ = pools.delete("local", &DeleteParams::default()).await;
    wait_until("an earlier run's host pool `local` to be gone", CONVERGE, || async {
        match pools.get_opt("local").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("still there".into()),
        }
    })
    .await;
    pools.create(&PostParams::default(), &pool).await.expect("create the host pool `local`");
    let compute = start_operator(&run.admin, &run.run, None, &selector, 300).await;

    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog/items");
    let mut files: Vec<_> = std::fs::read_dir(&directory).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut items = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yaml")) {
        for mut document in yaml_documents(&std::fs::read_to_string(file).unwrap()) {
            // Labelled so that this run's webhook judges them too.
            document["metadata"]["labels"][TEST_LABEL] = json!(run.run);
            items.push(serde_json::from_value::<CatalogItem>(document.clone()).expect("a CatalogItem"));
            apply_documents(&run.admin, &[document]).await;
        }
    }
    assert_eq!(items.len(), 7, "the sector's catalog has seven items");

    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    for item in &items {
        let name = item.metadata.name.clone().unwrap();
        let smallest = &item.spec.plans[0].name;
        let parameters = match name.as_str() {
            "open-data" => json!({"contactEmail": "atvertie.dati@vdi.gov.lv"}),
            _ => json!({}),
        };
        let order = run.instance(&namespace, &format!("{name}-1"), &name, smallest, parameters);
        instances.create(&PostParams::default(), &order).await.unwrap_or_else(|e| panic!("ordering {name}: {e}"));
    }
    for item in &items {
        let name = format!("{}-1", item.metadata.name.as_deref().unwrap());
        let ready = wait_phase(&instances, &name, Phase::Ready, Duration::from_secs(120)).await;
        let status = ready.status.unwrap();
        println!("{name}: {} resources Ready; outputs: {:?}", status.children.len(), status.outputs);
        assert!(!status.outputs.is_empty(), "{name} shows its user something");
    }
    // The applications that read the directory get their own account there, named by the
    // platform; the identity operator (tests/identity_*.rs) makes it in the agency's OU.
    let accounts: Api<DirectoryServiceAccount> = Api::namespaced(run.admin.clone(), &namespace);
    for name in ["dms-1", "vdi-is-1"] {
        let account = accounts.get(name).await.unwrap_or_else(|e| panic!("{name}'s directory account: {e}"));
        assert_eq!(account.spec.username, makonis_catalog::names::directory_account_name(&namespace, name));
        assert_eq!(account.spec.secret_name, None, "its credentials go to {name}-directory");
    }
    // Retiring the machine's instance removes the machine (and its domain) before the
    // compute operator stops.
    instances.delete("virtual-machine-1", &DeleteParams::default()).await.expect("retire the machine");
    let machines: Api<VirtualMachine> = Api::namespaced(run.admin.clone(), &namespace);
    wait_until("the virtual machine to be removed", CONVERGE, || async {
        match machines.get_opt("virtual-machine-1").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("still there".into()),
        }
    })
    .await;
    compute.stop().await;
    pools.delete("local", &DeleteParams::default()).await.expect("delete the host pool");
    run.finish().await;
}
