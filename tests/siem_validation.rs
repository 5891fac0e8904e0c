//! Invalid LogSources and RetentionPolicies are refused by the API server itself, with the
//! field named (the CRDs' OpenAPI schema and CEL rules; no SIEM runs in this test).

mod support;

use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};
use support::{
    agencies::unique_id,
    cluster::{admin_client, install_platform},
};

/// Applies `object` (server-side, dry run) and returns the refusal, or `None` if accepted.
async fn verdict(api: &Api<DynamicObject>, object: Value) -> Option<String> {
    let name = object["metadata"]["name"].as_str().unwrap_or("x").to_string();
    let params = PatchParams { dry_run: true, ..PatchParams::apply("makonis-tests") };
    match api.patch(&name, &params, &Patch::Apply(&object)).await {
        Ok(_) => None,
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "{status:?}");
            Some(status.message)
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "security.makonis.lv".into(),
        version: "v1alpha1".into(),
        api_version: "security.makonis.lv/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Sets `value` at a JSON pointer of `object`, creating nothing: the path must exist.
fn with(mut object: Value, pointer: &str, value: Value) -> Value {
    let shown = object.to_string();
    *object.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer} in {shown}")) = value;
    object
}

fn assert_names(message: &str, field: &str, words: &str) {
    assert!(message.contains(field), "message does not name {field}: {message}");
    assert!(message.contains(words), "message does not say {words:?}: {message}");
}

#[tokio::test]
async fn retention_outside_six_to_eighteen_months_and_backwards_holds_are_refused() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let api = Api::<DynamicObject>::all_with(admin, &resource("RetentionPolicy", "retentionpolicies"));
    let valid = json!({
        "apiVersion": "security.makonis.lv/v1alpha1", "kind": "RetentionPolicy",
        "metadata": {"name": format!("retention-{}", unique_id())},
        "spec": {
            "months": {"authentication": 18, "directory": 18, "platformAudit": 18, "system": 12, "network": 6, "application": 6},
            "legalHolds": [{"name": "case-2026-17", "from": "2025-09-01T00:00:00Z", "to": "2026-01-01T00:00:00Z",
                "agency": "lm", "sources": ["agency-lm/dc"], "reason": "State Police request 17/2026"}]
        }
    });
    assert_eq!(verdict(&api, valid.clone()).await, None, "a valid policy is accepted");

    for (category, months) in [("network", 5), ("authentication", 19), ("platformAudit", 0), ("application", -6)] {
        let message = verdict(&api, with(valid.clone(), &format!("/spec/months/{category}"), json!(months)))
            .await
            .unwrap_or_else(|| panic!("{category}: {months} months was accepted"));
        assert_names(&message, &format!("spec.months.{category}"), "months must be 6 to 18 (Regulation No. 442)");
    }
    let message = verdict(&api, with(valid.clone(), "/spec/legalHolds/0/to", json!("2025-01-01T00:00:00Z")))
        .await
        .expect("a hold that ends before it starts");
    assert_names(&message, "spec.legalHolds[0].to", "a legal hold must end after it starts");
    let message = verdict(&api, with(valid.clone(), "/spec/legalHolds/0/from", json!("yesterday at noon")))
        .await
        .expect("a bad time");
    assert_names(&message, "spec.legalHolds[0].from", "RFC 3339");
    let message = verdict(&api, with(valid.clone(), "/spec/legalHolds/0/sources", json!(["../etc"])))
        .await
        .expect("a source that is not namespace/name");
    assert_names(&message, "spec.legalHolds[0].sources[0]", "should match");
    let mut missing = valid.clone();
    missing["spec"]["months"].as_object_mut().unwrap().remove("directory");
    let message = verdict(&api, missing).await.expect("a category without months");
    assert_names(&message, "spec.months.directory", "Required value");
}

#[tokio::test]
async fn log_sources_claim_their_hosts_never_the_world() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let api = Api::<DynamicObject>::namespaced_with(admin, "default", &resource("LogSource", "logsources"));
    let valid = json!({
        "apiVersion": "security.makonis.lv/v1alpha1", "kind": "LogSource",
        "metadata": {"name": format!("dc-{}", unique_id())},
        "spec": {"senders": [{"address": "10.20.30.0/24"}, {"certificateName": "dc1.lm.gov.lv"}],
            "format": "syslog", "category": "directory"}
    });
    assert_eq!(verdict(&api, valid.clone()).await, None, "a valid source is accepted");
    assert_eq!(verdict(&api, with(valid.clone(), "/spec/senders/0", json!({"address": "fd00::10"}))).await, None);

    let cases = [
        ("/spec/senders/0", json!({"address": "0.0.0.0/0"}), "spec.senders[0].address", "at most /24"),
        ("/spec/senders/0", json!({"address": "10.0.0.0/16"}), "spec.senders[0].address", "at most /24"),
        ("/spec/senders/0", json!({"address": "fd00::/64"}), "spec.senders[0].address", "/120 (IPv6)"),
        ("/spec/senders/0", json!({"address": "dc1.lm.gov.lv"}), "spec.senders[0].address", "IP address"),
        (
            "/spec/senders/0",
            json!({"address": "10.0.0.1", "certificateName": "dc1.lm.gov.lv"}),
            "spec.senders[0]",
            "exactly one of address, certificateName and platform",
        ),
        ("/spec/senders/0", json!({}), "spec.senders[0]", "exactly one"),
        ("/spec/senders/1", json!({"certificateName": "DC1 LM"}), "spec.senders[1].certificateName", "should match"),
        ("/spec/senders", json!([]), "spec.senders", "at least 1"),
        ("/spec/category", json!("everything"), "spec.category", "Unsupported value"),
        ("/spec/format", json!("xml"), "spec.format", "Unsupported value"),
    ];
    for (pointer, value, field, words) in cases {
        let message = verdict(&api, with(valid.clone(), pointer, value.clone()))
            .await
            .unwrap_or_else(|| panic!("{pointer} = {value} was accepted"));
        assert_names(&message, field, words);
    }
    let mut silent = valid.clone();
    silent["spec"]["silenceAfter"] = json!("0m");
    assert_names(&verdict(&api, silent).await.expect("0m"), "spec.silenceAfter", "between 1m and 168h");
    let mut zone = valid;
    zone["spec"]["timeZone"] = json!("../../etc/passwd");
    assert_names(&verdict(&api, zone).await.expect("a path as a zone"), "spec.timeZone", "should match");
}

#[tokio::test]
async fn the_example_log_sources_are_accepted() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let (mut seen, mut created) = (Vec::new(), Vec::new());
    for file in ["platform.yaml", "demo-senders.yaml"] {
        let path = format!("{}/manifests/examples/siem/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let object: Value = serde::Deserialize::deserialize(document).expect("YAML");
            let namespace = object["metadata"]["namespace"].as_str().expect("a namespaced LogSource").to_owned();
            // The demo's agency namespace (made by the tenancy operator in the demo), for
            // the test only.
            let wanted: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
            match namespaces.create(&PostParams::default(), &wanted).await {
                Ok(_) => created.push(namespace.clone()),
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(other) => panic!("namespace {namespace}: {other}"),
            }
            let api = Api::namespaced_with(admin.clone(), &namespace, &resource("LogSource", "logsources"));
            assert_eq!(verdict(&api, object.clone()).await, None, "{file}: {}", object["metadata"]["name"]);
            seen.push(format!("{namespace}/{}", object["metadata"]["name"].as_str().unwrap_or_default()));
        }
    }
    assert_eq!(
        seen,
        [
            "makonis-system/kubernetes-audit",
            "makonis-system/portal-audit",
            "agency-lm/domain-controllers",
            "agency-lm/servers"
        ],
        "the platform's sources and the demo's senders"
    );
    for namespace in created {
        namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
    }
}
