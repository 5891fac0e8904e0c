//! When a reconcile fails, the Agency says so: `Ready=False` with the error category as
//! the reason, `Degraded=True` with the whole error chain, and a Warning Event. Once the
//! cause is fixed, it recovers by itself. The failure is real: the operator runs as a
//! ServiceAccount whose ClusterRole lacks the right to write LimitRanges.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use makonis_api::tenancy::Agency;
use serde_json::{Value, json};
use support::{
    agencies::{test_agency, unique_id},
    cluster::{
        OPERATOR_NAMESPACE, admin_client, apply_documents, install_platform, service_account_kubeconfig, yaml_documents,
    },
    operator::{OperatorOptions, OperatorProcess},
    tenancy::{condition, wait_for_warning, wait_ready},
    wait_until,
};

/// The operator's own ClusterRole from the manifests, renamed and without LimitRanges.
fn role_without_limit_ranges(name: &str) -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/base/rbac/tenancy-operator.yaml"))
            .unwrap();
    let mut role =
        yaml_documents(&text).into_iter().find(|d| d["kind"] == "ClusterRole").expect("the operator's ClusterRole");
    role["metadata"] = json!({"name": name});
    for rule in role["rules"].as_array_mut().unwrap() {
        if let Some(resources) = rule["resources"].as_array_mut() {
            resources.retain(|r| r != "limitranges");
        }
    }
    role
}

fn binding(name: &str, role: &str, account: &str) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": OPERATOR_NAMESPACE}]
    })
}

#[tokio::test]
async fn a_failing_reconcile_is_reported_and_recovers_once_fixed() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let account = format!("makonis-limited-{run}");
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), OPERATOR_NAMESPACE);
    accounts
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": account}})).unwrap())
        .await
        .expect("create the ServiceAccount");
    apply_documents(&admin, &[role_without_limit_ranges(&account), binding(&account, &account, &account)]).await;
    let kubeconfig = service_account_kubeconfig(&admin, OPERATOR_NAMESPACE, &account).await;
    let _operator = OperatorProcess::start(OperatorOptions {
        controllers: "tenancy",
        kubeconfig: &kubeconfig,
        run: &run,
        resync_seconds: 300,
        extra_args: &[],
    })
    .await;

    let agencies: Api<Agency> = Api::all(admin.clone());
    let code = format!("f{run}");
    agencies.create(&PostParams::default(), &test_agency(&code, &run)).await.expect("create agency");

    let failing = wait_until("the failure to be reported", Duration::from_secs(60), || async {
        let agency = agencies.get(&code).await.map_err(|e| e.to_string())?;
        match (condition(&agency, "Ready"), condition(&agency, "Degraded")) {
            (Some(ready), Some(degraded)) if ready.reason == "Forbidden" && degraded.status == "True" => Ok(agency),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let ready = condition(&failing, "Ready").unwrap();
    assert_eq!(ready.status, "False");
    assert!(
        ready.message.contains("LimitRange makonis-defaults: limitranges \"makonis-defaults\" is forbidden"),
        "{}",
        ready.message
    );
    assert!(!ready.message.contains("Status {"), "no debug dumps in messages for people: {}", ready.message);
    let degraded = condition(&failing, "Degraded").unwrap();
    assert!(degraded.message.contains("forbidden"), "{}", degraded.message);

    let note = wait_for_warning(&admin, &code, "Forbidden").await;
    assert!(note.contains("LimitRange makonis-defaults: limitranges \"makonis-defaults\" is forbidden"), "{note}");

    // Grant the missing right: the next retry succeeds without anyone touching the Agency.
    let fixed = format!("{account}-fixed");
    apply_documents(&admin, &[binding(&fixed, "makonis-tenancy-operator", &account)]).await;
    let agency = wait_ready(&agencies, &code).await;
    assert_eq!(condition(&agency, "Degraded").unwrap().status, "False");

    use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
    let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    for name in [&account, &fixed] {
        bindings.delete(name, &DeleteParams::default()).await.expect("delete binding");
    }
    Api::<ClusterRole>::all(admin.clone()).delete(&account, &DeleteParams::default()).await.expect("delete role");
    accounts.delete(&account, &DeleteParams::default()).await.expect("delete ServiceAccount");
}
