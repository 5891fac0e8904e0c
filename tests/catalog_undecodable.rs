//! One ServiceInstance the catalog operator cannot decode (stored under a looser schema,
//! as after a CRD downgrade) does not stop the controller: it is reported as a Warning
//! Event and counted, left out of the caches, and the other instances are served.
//!
//! This test loosens the ServiceInstance CRD for a moment, so it lives in its own test
//! binary (test binaries run one after another); every other test re-applies the real CRD.

mod support;

use k8s_openapi::{
    api::admissionregistration::v1::ValidatingWebhookConfiguration,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use makonis_api::catalog::{Phase, ServiceInstance};
use serde_json::json;
use support::{
    CONVERGE,
    catalog::{CatalogRun, test_item, wait_phase},
    cluster::install_platform,
    events::wait_for_warning_in,
    wait_until,
};

const CRD: &str = "serviceinstances.catalog.makonis.lv";

#[tokio::test]
async fn an_undecodable_instance_is_reported_and_the_rest_are_served() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("und").await;
    let item = run.item_name("und");
    run.publish(test_item(&item)).await.expect("publish the test item");

    // Loosen the schema: `plan` accepts anything for a moment. The run's webhook, which
    // cannot read such an object either, is taken away first.
    Api::<ValidatingWebhookConfiguration>::all(run.admin.clone())
        .delete(&run.webhook, &DeleteParams::default())
        .await
        .expect("remove the run's webhook registration");
    let crds: Api<CustomResourceDefinition> = Api::all(run.admin.clone());
    let mut crd = serde_json::to_value(crds.get(CRD).await.unwrap()).unwrap();
    crd["metadata"] = json!({"name": CRD});
    crd.as_object_mut().unwrap().remove("status");
    let spec = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
    spec["properties"]["plan"] = json!({"x-kubernetes-preserve-unknown-fields": true});
    crds.patch(CRD, &PatchParams::apply("makonis-tests").force(), &Patch::Apply(&crd)).await.expect("loosen the CRD");

    let mut body = serde_json::to_value(run.instance(&namespace, "bad", &item, "small", json!({}))).unwrap();
    body["apiVersion"] = json!("catalog.makonis.lv/v1alpha1");
    body["kind"] = json!("ServiceInstance");
    body["spec"]["plan"] = json!({"name": "small"});
    let untyped: Api<DynamicObject> =
        Api::namespaced_with(run.admin.clone(), &namespace, &ApiResource::erase::<ServiceInstance>(&()));
    wait_until("the loosened schema to accept the instance", CONVERGE, || async {
        untyped
            .patch("bad", &PatchParams::apply("makonis-tests"), &Patch::Apply(&body))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;

    // A valid instance ordered afterwards is still provisioned.
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let good = run.instance(&namespace, "good", &item, "small", json!({}));
    instances.create(&PostParams::default(), &good).await.expect("order");
    wait_phase(&instances, "good", Phase::Ready, CONVERGE).await;

    // The bad one is reported as a Warning Event and counted.
    let note = wait_for_warning_in(&run.admin, &namespace, "bad", "InvalidObject").await;
    assert!(note.contains("plan") || note.contains("string"), "{note}");
    let counted = run
        .catalog
        .counter("makonis_operator_undecodable_objects_total", r#"controller="makonis-catalog",kind="ServiceInstance""#)
        .await;
    assert!(counted >= 1.0, "counted: {counted}");

    // Restore the real schema and remove the object (never reconciled, so no finalizer).
    install_platform(&run.admin).await;
    untyped.delete("bad", &DeleteParams::default()).await.expect("delete the undecodable instance");
    run.finish().await;
}
