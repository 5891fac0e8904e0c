//! Deleting an Agency never destroys data by accident: it is refused while the namespace
//! holds workloads or data, and an empty agency is removed cleanly.

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim};
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use serde_json::json;
use support::{
    CONVERGE,
    events::wait_for_warning,
    tenancy::{TestRun, condition, wait_gone},
    wait_until,
};

fn claim(name: &str) -> PersistentVolumeClaim {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }))
    .unwrap()
}

async fn wait_namespace_gone(namespaces: &Api<Namespace>, name: &str) {
    wait_until(&format!("namespace {name} to be gone"), CONVERGE, || async {
        match namespaces.get_opt(name).await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(ns) => Err(format!("phase {:?}", ns.status.and_then(|s| s.phase))),
        }
    })
    .await
}

#[tokio::test]
async fn agency_with_data_is_kept_until_its_namespace_is_empty() {
    let t = TestRun::start(300).await;
    let (admin, agencies) = (&t.admin, &t.agencies);
    let code = t.code("k");
    let ns = format!("agency-{code}");
    t.create_ready(&code).await;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(admin.clone(), &ns);
    claims.create(&PostParams::default(), &claim("records")).await.expect("create a claim");

    agencies.delete(&code, &DeleteParams::default()).await.expect("delete request accepted");
    let blocked = wait_until("removal to be refused", CONVERGE, || async {
        let agency = agencies.get(&code).await.map_err(|e| e.to_string())?;
        match condition(&agency, "Ready") {
            Some(c) if c.reason == "DeletionBlocked" => Ok(c.message.clone()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(blocked.contains(&format!("namespace {ns} still holds 1 PersistentVolumeClaim (records)")), "{blocked}");
    wait_for_warning(admin, &code, "DeletionBlocked").await;

    // Everything is still there, and the frozen quota admits no new claims.
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    assert!(namespaces.get(&ns).await.unwrap().metadata.deletion_timestamp.is_none());
    assert!(claims.get_opt("records").await.unwrap().is_some());
    let refused = claims.create(&PostParams::default(), &claim("more")).await.expect_err("frozen namespace");
    assert!(refused.to_string().contains("exceeded quota"), "{refused}");
    // Configuration is not data: it does not block, and may still be written.
    let config: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "settings"}})).unwrap();
    Api::<ConfigMap>::namespaced(admin.clone(), &ns).create(&PostParams::default(), &config).await.expect("configmap");

    // Once the data is moved away, the agency and its namespace go.
    claims.delete("records", &DeleteParams::default()).await.expect("delete the claim");
    wait_gone(agencies, &code).await;
    wait_namespace_gone(&namespaces, &ns).await;
}

#[tokio::test]
async fn empty_agency_is_removed_cleanly_and_only_through_its_agency() {
    let t = TestRun::start(300).await;
    let (admin, agencies) = (&t.admin, &t.agencies);
    let code = t.code("e");
    let ns = format!("agency-{code}");
    t.create_ready(&code).await;

    // Even a cluster administrator cannot delete the namespace directly (asked as a dry
    // run, so that nothing is lost while the admission policy is still being loaded).
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let refusal = wait_until("the admission policy to refuse", CONVERGE, || async {
        match namespaces.delete(&ns, &DeleteParams::default().dry_run()).await {
            Err(kube::Error::Api(status)) if status.code == 403 || status.code == 422 => Ok(status.message),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(refusal.contains(&format!("delete the Agency instead (kubectl delete agency {code})")), "{refusal}");

    agencies.delete(&code, &DeleteParams::default()).await.expect("delete");
    wait_gone(agencies, &code).await;
    wait_namespace_gone(&namespaces, &ns).await;
}
