//! When a reconcile fails, the Agency says so: `Ready=False` with the error category as
//! the reason, `Degraded=True` with the whole error chain, and a Warning Event. Once the
//! cause is fixed, it recovers by itself. The failure is real: the operator runs as its
//! own ServiceAccount and an admission policy of the test refuses its LimitRange in the
//! test's agency namespace. (The operator must run as its own ServiceAccount: only that
//! one may write an Agency's status, see manifests/base/policy/status-writers.yaml.)

mod support;

use std::time::Duration;

use k8s_openapi::api::{
    admissionregistration::v1::{ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding},
    core::v1::{LimitRange, Namespace},
};
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use makonis_api::tenancy::Agency;
use serde_json::{Value, json};
use support::{
    agencies::{test_agency, unique_id},
    cluster::{admin_client, apply_documents},
    events::wait_for_warning,
    tenancy::{condition, start_operator, wait_ready},
    wait_until,
};

/// A policy that refuses LimitRanges in the namespace of agency `code`, and its binding.
fn refuse_limit_ranges(name: &str, code: &str) -> [Value; 2] {
    [
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["limitranges"]}],
                    "namespaceSelector": {"matchLabels": {"makonis.lv/agency": code}}
                },
                "validations": [{"expression": "false", "message": "refused by the test", "reason": "Forbidden"}]
            }
        }),
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {"policyName": name, "validationActions": ["Deny"]}
        }),
    ]
}

/// Waits until the API server enforces the new policy (it takes effect a moment after it
/// is created): a dry-run LimitRange in a namespace labelled like the agency's is refused.
async fn wait_until_refusing(admin: &kube::Client, code: &str, run: &str) {
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let probe = format!("probe-{run}");
    let namespace = json!({"metadata": {"name": probe, "labels": {"makonis.lv/agency": code}}});
    namespaces.create(&PostParams::default(), &serde_json::from_value(namespace).unwrap()).await.expect("namespace");
    let limits: Api<LimitRange> = Api::namespaced(admin.clone(), &probe);
    let dry_run = PostParams { dry_run: true, ..PostParams::default() };
    let limit_range: LimitRange = serde_json::from_value(json!({"metadata": {"name": "probe"}})).unwrap();
    wait_until("the test's admission policy to take effect", Duration::from_secs(30), || async {
        match limits.create(&dry_run, &limit_range).await {
            Err(kube::Error::Api(status)) if status.message.contains("refused by the test") => Ok(()),
            other => Err(format!("{:?}", other.map(|_| "admitted"))),
        }
    })
    .await;
    namespaces.delete(&probe, &DeleteParams::default()).await.expect("delete the probe namespace");
}

#[tokio::test]
async fn a_failing_reconcile_is_reported_and_recovers_once_fixed() {
    let admin = admin_client().await;
    let run = unique_id();
    let code = format!("f{run}");
    let policy = format!("makonis-test-refuse-limitranges-{run}");
    apply_documents(&admin, &refuse_limit_ranges(&policy, &code)).await;
    wait_until_refusing(&admin, &code, &run).await;
    let _operator = start_operator(&admin, &run, 300).await;

    let agencies: Api<Agency> = Api::all(admin.clone());
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
    assert!(ready.message.contains("refused by the test"), "the admission's own words: {}", ready.message);
    assert!(!ready.message.contains("Status {"), "no debug dumps in messages for people: {}", ready.message);
    let degraded = condition(&failing, "Degraded").unwrap();
    assert!(degraded.message.contains("forbidden"), "{}", degraded.message);

    let note = wait_for_warning(&admin, &code, "Forbidden").await;
    assert!(note.contains("LimitRange makonis-defaults: limitranges \"makonis-defaults\" is forbidden"), "{note}");

    // Lift the refusal: the next retry succeeds without anyone touching the Agency.
    Api::<ValidatingAdmissionPolicyBinding>::all(admin.clone())
        .delete(&policy, &DeleteParams::default())
        .await
        .expect("delete the binding");
    let agency = wait_ready(&agencies, &code).await;
    assert_eq!(condition(&agency, "Degraded").unwrap().status, "False");
    Api::<ValidatingAdmissionPolicy>::all(admin.clone())
        .delete(&policy, &DeleteParams::default())
        .await
        .expect("delete the policy");
}
