//! A Probe and a ServiceLevelObjective the SLO engine cannot decode (stored under a
//! looser schema, as after a CRD downgrade) do not stop it: each is reported (a Warning
//! Event, the gauge `makonis_slo_undecodable_objects`), and the other probes and
//! objectives are measured.
//!
//! This test loosens the Probe and ServiceLevelObjective CRDs for a moment, so it lives
//! in its own test binary (test binaries run one after another); every other test
//! re-applies the real CRDs.

mod support;

use k8s_openapi::{
    api::core::v1::Namespace, apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use makonis_api::slo::{Probe, ProbeState, ServiceLevelObjective, SloState};
use serde_json::{Value, json};
use support::{
    CONVERGE,
    agencies::unique_id,
    cluster::{admin_client, install_platform},
    events::wait_for_warning_in,
    slo::{SloEngine, SloOptions, probe_target},
    wait_until,
};

/// Applies `crd` with `loosen` applied to its schema (`spec.versions[0]...openAPIV3Schema`).
async fn loosen(admin: &Client, name: &str, loosen: impl FnOnce(&mut Value)) {
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let mut crd = serde_json::to_value(crds.get(name).await.unwrap()).unwrap();
    crd["metadata"] = json!({"name": name});
    crd.as_object_mut().unwrap().remove("status");
    loosen(&mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]);
    crds.patch(name, &PatchParams::apply("makonis-tests").force(), &Patch::Apply(&crd)).await.expect("loosen the CRD");
}

/// Creates `body` untyped (our own types could not send it), retrying until the loosened
/// schema accepts it.
async fn create_untyped<K: kube::Resource<DynamicType = ()>>(admin: &Client, namespace: &str, body: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), namespace, &ApiResource::erase::<K>(&()));
    let name = body["metadata"]["name"].as_str().unwrap().to_string();
    wait_until(&format!("the loosened schema to accept {name}"), CONVERGE, || async {
        api.patch(&name, &PatchParams::apply("makonis-tests"), &Patch::Apply(&body))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
}

#[tokio::test]
async fn undecodable_probes_and_objectives_are_reported_and_the_rest_are_measured() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    // A namespace of the platform's (not an agency's), and a target on this machine.
    let namespace = format!("slo-undecodable-{run}");
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
    Api::<Namespace>::all(admin.clone()).create(&PostParams::default(), &ns).await.expect("namespace");
    let (target, _) = probe_target("127.0.0.1", "ok").await;

    // Loosen the schemas: failureThreshold takes any string, supportHours any value.
    loosen(&admin, "probes.slo.makonis.lv", |spec| {
        spec["failureThreshold"] = json!({"type": "string"});
    })
    .await;
    loosen(&admin, "servicelevelobjectives.slo.makonis.lv", |spec| {
        spec["supportHours"].as_object_mut().unwrap().remove("enum");
    })
    .await;
    let probe = |name: &str, failure_threshold: Value| {
        json!({
            "apiVersion": "slo.makonis.lv/v1alpha1", "kind": "Probe",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"http": {"url": format!("http://{target}/")}, "interval": "1s", "timeout": "1s",
                     "failureThreshold": failure_threshold, "successThreshold": 1},
        })
    };
    let objective = |name: &str, support: &str| {
        json!({
            "apiVersion": "slo.makonis.lv/v1alpha1", "kind": "ServiceLevelObjective",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"service": "Testa serviss", "targetPercent": 99.0, "supportHours": support,
                     "indicator": {"probe": "good"}},
        })
    };
    create_untyped::<Probe>(&admin, &namespace, probe("broken", json!("three"))).await;
    create_untyped::<ServiceLevelObjective>(&admin, &namespace, objective("broken", "Weekends")).await;
    // The real schemas again, and valid objects made under them.
    install_platform(&admin).await;
    create_untyped::<Probe>(&admin, &namespace, probe("good", json!(1))).await;
    create_untyped::<ServiceLevelObjective>(&admin, &namespace, objective("good", "24x7")).await;
    let probes: Api<Probe> = Api::namespaced(admin.clone(), &namespace);

    let engine = SloEngine::start(&admin, SloOptions { run: &run, webhook: false, hosts: None, extra_args: &[] }).await;

    // The valid probe and objective are measured.
    wait_until("the valid probe to be confirmed up", CONVERGE, || async {
        let status = probes.get("good").await.map_err(|e| e.to_string())?.status.unwrap_or_default();
        (status.state == Some(ProbeState::Up)).then_some(()).ok_or_else(|| format!("{status:?}"))
    })
    .await;
    let objectives: Api<ServiceLevelObjective> = Api::namespaced(admin.clone(), &namespace);
    wait_until("the valid objective to be measured", CONVERGE, || async {
        let status = objectives.get("good").await.map_err(|e| e.to_string())?.status.unwrap_or_default();
        (status.state == Some(SloState::Met)).then_some(()).ok_or_else(|| format!("{status:?}"))
    })
    .await;

    // The undecodable ones are named in Warning Events and counted.
    let note = wait_for_warning_in(&admin, &namespace, "broken", "InvalidObject").await;
    assert!(
        note.contains("cannot decode this Probe") || note.contains("cannot decode this ServiceLevelObjective"),
        "{note}"
    );
    wait_until("both undecodable objects to be counted", CONVERGE, || async {
        let metrics = engine.metrics().await;
        let counted = |kind: &str| metrics.contains(&format!("makonis_slo_undecodable_objects{{kind=\"{kind}\"}} 1"));
        (counted("Probe") && counted("ServiceLevelObjective")).then_some(()).ok_or(metrics)
    })
    .await;

    for resource in [ApiResource::erase::<Probe>(&()), ApiResource::erase::<ServiceLevelObjective>(&())] {
        let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), &namespace, &resource);
        let _ = api.delete("broken", &DeleteParams::default()).await;
    }
    Api::<Namespace>::all(admin.clone()).delete(&namespace, &DeleteParams::default()).await.expect("delete namespace");
    engine.finish(&admin).await;
}
