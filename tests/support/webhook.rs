//! Admission webhooks of a test run: the registration of manifests/webhook, pointed at
//! the run's operator and limited to the run's objects.

use k8s_openapi::api::{
    admissionregistration::v1::ValidatingWebhookConfiguration,
    rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject},
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};
use serde_json::json;

use super::{
    agencies::TEST_LABEL,
    cluster::{OPERATOR_NAMESPACE, yaml_documents},
};

/// Registers the webhook of `manifests/webhook/<manifest>` for this run as `name`: its
/// URL is the run's operator, and it judges only objects labelled with the run. The
/// operator's ServiceAccount may update exactly this registration (as it may the one
/// of manifests/).
pub async fn register_webhook(admin: &Client, run: &str, name: &str, port: u16, manifest: &str, service_account: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/webhook").join(manifest);
    let documents = yaml_documents(&std::fs::read_to_string(path).expect("webhook manifest"));
    let mut configuration = documents.into_iter().find(|d| d["kind"] == "ValidatingWebhookConfiguration").unwrap();
    configuration["metadata"] = json!({"name": name});
    for hook in configuration["webhooks"].as_array_mut().unwrap() {
        let path = hook["clientConfig"]["service"]["path"].as_str().unwrap().to_string();
        hook["clientConfig"] = json!({"url": format!("https://127.0.0.1:{port}{path}")});
        hook["objectSelector"] = json!({"matchLabels": {TEST_LABEL: run}});
    }
    let configuration: ValidatingWebhookConfiguration = serde_json::from_value(configuration).unwrap();
    Api::<ValidatingWebhookConfiguration>::all(admin.clone())
        .create(&PostParams::default(), &configuration)
        .await
        .expect("register the run's webhook");
    let role = ClusterRole {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["admissionregistration.k8s.io".into()]),
            resources: Some(vec!["validatingwebhookconfigurations".into()]),
            resource_names: Some(vec![name.into()]),
            verbs: vec!["get".into(), "update".into()],
            ..Default::default()
        }]),
        ..Default::default()
    };
    let binding = ClusterRoleBinding {
        metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: name.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: service_account.into(),
            namespace: Some(OPERATOR_NAMESPACE.into()),
            ..Default::default()
        }]),
    };
    Api::<ClusterRole>::all(admin.clone()).create(&PostParams::default(), &role).await.expect("webhook role");
    Api::<ClusterRoleBinding>::all(admin.clone()).create(&PostParams::default(), &binding).await.expect("binding");
}
