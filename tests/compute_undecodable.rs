//! Compute objects the operator cannot decode (stored under a looser schema, as after a
//! CRD downgrade) do not stop any compute watch: each is reported, and the others are
//! served, both when such an object arrives while the operator runs and when it is there
//! at start-up.
//!
//! This test loosens the compute CRDs for a moment, so it lives in its own test binary
//! (test binaries run one after another); every other test re-applies the real CRDs.

mod support;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams},
};
use makonis_api::compute::{Backup, Restore, VirtualMachine, VmPhase, Volume, VolumePhase};
use serde_json::{Value, json};
use support::{
    CONVERGE,
    cluster::{install_platform, status_writer},
    compute::{ComputeRun, test_hypervisor_uri},
    events::warning_about,
    wait_until,
};

/// The CRDs loosened, with the kind and the object of each that will not decode.
const LOOSENED: [(&str, &str); 4] = [
    ("virtualmachines.compute.makonis.lv", "bad-vm"),
    ("volumes.compute.makonis.lv", "bad-volume"),
    ("backups.compute.makonis.lv", "bad-backup"),
    ("restores.compute.makonis.lv", "bad-restore"),
];

/// Lets `status.phase` of the CRD `name` take any string.
async fn loosen(crds: &Api<CustomResourceDefinition>, name: &str) {
    let mut crd = serde_json::to_value(crds.get(name).await.unwrap()).unwrap();
    crd["metadata"] = json!({"name": name});
    crd.as_object_mut().unwrap().remove("status");
    let phase =
        &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["phase"];
    phase.as_object_mut().expect("a status phase").remove("enum");
    crds.patch(name, &PatchParams::apply("makonis-tests").force(), &Patch::Apply(&crd)).await.expect("loosen the CRD");
}

fn untyped<K: kube::Resource<DynamicType = ()>>(client: &Client, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &ApiResource::erase::<K>(&()))
}

fn volume(run: &ComputeRun, pool: &str, name: &str) -> Volume {
    run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume", "metadata": {"name": name},
        "spec": {"hostPool": pool, "host": "hv", "size": "1Mi", "reclaimPolicy": "Delete"}
    }))
}

#[tokio::test]
async fn undecodable_compute_objects_are_reported_and_the_rest_are_served() {
    let run = ComputeRun::start(300).await;
    let pool = run.host_pool("undecodable", json!([{"name": "hv", "uri": test_hypervisor_uri()}]), None).await;
    let pool = pool.metadata.name.clone().unwrap();
    let namespace = run.agency("ud", |_| ()).await;
    let machine = |name: &str| -> VirtualMachine {
        run.object(json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine", "metadata": {"name": name},
            "spec": {"hostPool": pool, "vcpus": 1, "memory": "64Mi"}
        }))
    };
    run.create_in(&namespace, &machine("bad-vm")).await.expect("create a machine");
    run.create_in(&namespace, &volume(&run, &pool, "bad-volume")).await.expect("create a volume");
    let backup: Backup = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Backup", "metadata": {"name": "bad-backup"},
        "spec": {"volume": "bad-volume", "target": {"hostPool": pool, "host": "hv", "storagePool": "backup"}}
    }));
    run.create_in(&namespace, &backup).await.expect("create a backup");
    let restore: Restore = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Restore", "metadata": {"name": "bad-restore"},
        "spec": {"backup": "bad-backup", "target": {"newVolume": "restored"}}
    }));
    run.create_in(&namespace, &restore).await.expect("create a restore");

    // Each settles first (so that no reconcile still under way writes its status again).
    let settled = |phase: &[&str]| {
        let phase: Vec<String> = phase.iter().map(|p| p.to_string()).collect();
        move |object: DynamicObject| {
            let now = object.data["status"]["phase"].as_str().unwrap_or_default().to_string();
            phase.contains(&now)
        }
    };
    let apis = |client: &Client| {
        [
            untyped::<VirtualMachine>(client, &namespace),
            untyped::<Volume>(client, &namespace),
            untyped::<Backup>(client, &namespace),
            untyped::<Restore>(client, &namespace),
        ]
    };
    let ends = [settled(&["Running"]), settled(&["Available"]), settled(&["Failed"]), settled(&["Failed"])];
    for ((api, (_, name)), end) in apis(&run.admin).iter().zip(LOOSENED).zip(ends) {
        wait_until(&format!("{name} to settle"), CONVERGE, || async {
            let object = api.get(name).await.map_err(|e| e.to_string())?;
            let status = object.data["status"].to_string();
            if end(object) { Ok(()) } else { Err(status) }
        })
        .await;
    }

    // Then each gets a phase its kind does not have, while the operator runs.
    let crds: Api<CustomResourceDefinition> = Api::all(run.admin.clone());
    for (crd, _) in LOOSENED {
        loosen(&crds, crd).await;
    }
    // (Written as the operator: the status-writers policy refuses anyone else.)
    let unknown = json!({"status": {"phase": "Hibernating"}});
    for (api, (_, name)) in apis(&status_writer("compute.makonis.lv").await).iter().zip(LOOSENED) {
        wait_until(&format!("the loosened schema to accept {name}'s status"), CONVERGE, || async {
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(&unknown))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await;
    }

    // A machine created afterwards is still placed and run.
    run.create_in(&namespace, &machine("good-vm")).await.expect("create a machine");
    let is_running = |m: &VirtualMachine| m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running);
    run.machine_until(&namespace, "good-vm", "the new machine to run", CONVERGE, is_running).await;

    // And an operator that starts with them there starts, and serves the others.
    let run = run.kill_and_restart().await;
    // Its webhook may take a moment to listen after it reports ready.
    wait_until("the new operator's webhook to admit a volume", CONVERGE, || async {
        match run.create_in(&namespace, &volume(&run, &pool, "good-volume")).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
    run.volume_until(&namespace, "good-volume", "the new volume to be created", |v| {
        v.status.as_ref().and_then(|s| s.phase) == Some(VolumePhase::Available)
    })
    .await;
    for (_, name) in LOOSENED {
        let note = wait_until(&format!("an InvalidObject Warning about {name}"), CONVERGE, || async {
            warning_about(&run.admin, &namespace, name, "InvalidObject").await.ok_or_else(|| "none yet".to_string())
        })
        .await;
        assert!(note.contains("Hibernating") || note.contains("unknown variant"), "{note}");
    }

    // The restarted operator counts them too (the Warnings above may be its predecessor's).
    let counted = r#"category="InvalidObject",controller="makonis-compute""#;
    wait_until("the undecodable objects to be counted", CONVERGE, || async {
        let failures = run.operator.counter("makonis_operator_reconcile_failures_total", counted).await;
        if failures >= LOOSENED.len() as f64 { Ok(()) } else { Err(format!("{failures} counted")) }
    })
    .await;

    // Restore the real schemas; the undecodable objects go without their finalizers.
    install_platform(&run.admin).await;
    let no_finalizers = json!({"metadata": {"finalizers": Value::Null}});
    for (api, (_, name)) in apis(&run.admin).iter().zip(LOOSENED) {
        api.patch(name, &PatchParams::default(), &Patch::Merge(&no_finalizers)).await.expect("drop the finalizers");
        api.delete(name, &DeleteParams::default()).await.expect("delete the undecodable object");
    }
    run.finish().await;
}
