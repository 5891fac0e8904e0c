//! One Agency the operator cannot decode (stored under a looser schema, as after a CRD
//! downgrade) does not stop the controller: it is reported, and the others are served.
//!
//! This test loosens the Agency CRD for a moment, so it lives in its own test binary
//! (test binaries run one after another); every other test re-applies the real CRD.

mod support;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams},
};
use makonis_api::tenancy::Agency;
use serde_json::json;
use support::{
    CONVERGE, agencies::test_agency, cluster::install_platform, events::wait_for_warning, tenancy::TestRun, wait_until,
};

const CRD: &str = "agencies.tenancy.makonis.lv";

#[tokio::test]
async fn an_undecodable_agency_is_reported_and_the_rest_are_served() {
    let t = TestRun::start(300).await;
    let (admin, run, operator) = (t.admin.clone(), t.run.as_str(), &t.operator);

    // Loosen the schema: `isolation` accepts any string for a moment.
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let mut crd = serde_json::to_value(crds.get(CRD).await.unwrap()).unwrap();
    crd["metadata"] = json!({"name": CRD});
    crd.as_object_mut().unwrap().remove("status");
    let isolation = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["network"]
        ["properties"]["isolation"];
    isolation.as_object_mut().unwrap().remove("enum");
    crds.patch(CRD, &PatchParams::apply("makonis-tests").force(), &Patch::Apply(&crd)).await.expect("loosen the CRD");

    let bad = t.code("u");
    let mut body = serde_json::to_value(test_agency(&bad, run)).unwrap();
    body["apiVersion"] = json!("tenancy.makonis.lv/v1alpha1");
    body["kind"] = json!("Agency");
    body["spec"]["network"] = json!({"isolation": "Open"});
    // Untyped: our own types cannot read this object back either.
    let untyped: Api<DynamicObject> = Api::all_with(admin.clone(), &ApiResource::erase::<Agency>(&()));
    wait_until("the loosened schema to accept the agency", CONVERGE, || async {
        untyped
            .patch(&bad, &PatchParams::apply("makonis-tests"), &Patch::Apply(&body))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;

    // A valid agency created afterwards is still reconciled.
    t.create_ready(&t.code("g")).await;

    // The bad one is reported as a Warning Event and counted.
    let note = wait_for_warning(&admin, &bad, "InvalidObject").await;
    assert!(note.contains("Isolated") || note.contains("unknown variant"), "{note}");
    // The reconcile counts its failure after it sends the Event: poll, never read once.
    wait_until("the failure to be counted", CONVERGE, || async {
        let failures = operator
            .counter(
                "makonis_operator_reconcile_failures_total",
                r#"category="InvalidObject",controller="makonis-tenancy""#,
            )
            .await;
        if failures >= 1.0 { Ok(()) } else { Err(format!("failures counted: {failures}")) }
    })
    .await;

    // Restore the real schema and remove the object (never reconciled, so no finalizer).
    install_platform(&admin).await;
    untyped.delete(&bad, &DeleteParams::default()).await.expect("delete the undecodable agency");
}
