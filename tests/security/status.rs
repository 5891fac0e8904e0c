//! Threat: a forged `status`. The status of a Mākonis object is its operator's record —
//! where a volume lives on a hypervisor, which plan an instance was admitted with, what a
//! probe saw — and operators act on it. Nobody but the operator that owns the kind may
//! write it: not an agency administrator (RBAC), and not even a cluster administrator
//! (`manifests/base/policy/status-writers.yaml`, admission applies to everyone). Every kind
//! with a status subresource is tried, so a new kind without a fixture here fails the test.

use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use makonis_api::all_crds;
use serde_json::{Value, json};

use crate::support::{
    cluster::{client_as, status_writer},
    tenancy::{TestRun, wait_ready},
};

/// A valid spec of `kind` and a status an attacker would like it to have.
fn fixture(kind: &str, run: &str) -> (Value, Value) {
    match kind {
        "Agency" => {
            let agency = crate::support::agencies::test_agency(&format!("st{run}"), run);
            (serde_json::to_value(agency.spec).unwrap(), json!({"namespace": "kube-system"}))
        }
        "CatalogItem" => {
            let item: Value = serde_yaml_ng::from_str(include_str!("../support/catalog_test_item.yaml")).unwrap();
            (item["spec"].clone(), json!({"conditions": [ready_condition()]}))
        }
        "ServiceInstance" => (
            json!({"catalogItem": "no-such-item", "plan": "small"}),
            json!({"phase": "Ready", "admitted": {"plan": "large", "resources": {"cpu": "64", "memory": "256Gi", "storage": "10Ti", "replicas": 1}}}),
        ),
        "HostPool" => (
            json!({"hosts": [{"name": "h1", "uri": "test:///default"}], "storageTiers": [{"name": "standard", "storagePool": "default-pool"}]}),
            json!({"hostCount": 99}),
        ),
        "VirtualMachine" => (
            json!({"hostPool": "nowhere", "vcpus": 1, "memory": "512Mi"}),
            json!({"host": "h1", "domain": "makonis-system.portal"}),
        ),
        "Volume" => (
            json!({"hostPool": "nowhere", "size": "1Gi"}),
            json!({"path": "/dev/sda", "volumeName": "agency-other.data.0f1e2d3c.raw", "storagePool": "default-pool", "host": "h1"}),
        ),
        "BackupPolicy" => (
            json!({"volumeSelector": {"matchLabels": {"app": "forged"}}, "schedule": "0 2 * * *", "retention": {"keepLast": 3}, "target": {"hostPool": "nowhere", "host": "h1", "storagePool": "backup"}}),
            json!({"backups": 999}),
        ),
        "Backup" => (json!({"volume": "data"}), json!({"phase": "Completed", "sha256": "0".repeat(64)})),
        "Restore" => (
            json!({"backup": "nightly", "target": {"inPlace": true}}),
            json!({"phase": "Completed", "volume": "agency-other.data"}),
        ),
        "Probe" => (json!({"http": {"url": "https://example.lv/"}}), json!({"state": "Up", "cause": "forged"})),
        "ServiceLevelObjective" => (
            json!({"service": "forged", "targetPercent": 99, "supportHours": "24x7", "indicator": {"probe": "p"}}),
            json!({"state": "Met", "availabilityPercent": 100.0}),
        ),
        "LogSource" => (
            json!({"senders": [{"address": "192.0.2.10"}], "format": "syslog", "category": "system"}),
            json!({"state": "Receiving", "eventsReceived": 1, "mandatoryFieldsPercent": 100.0}),
        ),
        "RetentionPolicy" => (
            json!({"months": {"authentication": 6, "directory": 6, "platformAudit": 6, "system": 6, "network": 6, "application": 6}}),
            json!({"partitionsRemoved": 0, "conditions": [ready_condition()]}),
        ),
        "DetectionRule" | "ClusterDetectionRule" => (
            json!({"sigma": "title: t\nlogsource: {product: linux}\ndetection:\n  s:\n    user.name: root\n  condition: s\n"}),
            json!({"matches": 0, "rules": [], "conditions": [{"type": "Compiled", "status": "True", "reason": "Forged", "message": "forged", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}),
        ),
        "Directory" => (
            json!({"url": "ldaps://dc1.example.lv", "caSecret": "ca", "bindSecret": "bind", "baseDn": "DC=example,DC=lv"}),
            json!({"conditions": [ready_condition()], "functionalLevel": "2016"}),
        ),
        "DirectoryUser" => (
            json!({"username": "forged", "givenName": "Forged", "surname": "Person"}),
            json!({"conditions": [ready_condition()], "dn": "CN=Administrator,CN=Users,DC=example,DC=lv"}),
        ),
        "DirectoryGroup" => (
            json!({"name": "Forged"}),
            json!({"conditions": [ready_condition()], "dn": "CN=Domain Admins,CN=Users,DC=example,DC=lv", "members": 1}),
        ),
        "DirectoryServiceAccount" => (
            json!({"username": "forged"}),
            json!({"conditions": [ready_condition()], "secret": "someone-elses-secret"}),
        ),
        "MailDomain" => (
            json!({"domain": "forged.example.lv"}),
            json!({"conditions": [ready_condition()], "dnsRecords": [{"type": "MX", "name": "forged.example.lv", "value": "10 evil.example.", "purpose": "forged"}]}),
        ),
        "Mailbox" => {
            (json!({"user": "forged"}), json!({"conditions": [ready_condition()], "address": "ceo@vsaa.gov.lv"}))
        }
        "MailAlias" => (
            json!({"address": "forged@example.lv", "to": ["x@example.lv"]}),
            json!({"conditions": [ready_condition()]}),
        ),
        "MailingList" => (
            json!({"address": "forged@example.lv", "group": "forged"}),
            json!({"conditions": [ready_condition()], "recipients": 1000}),
        ),
        "MailboxMigration" => (
            json!({"source": "forged", "mailboxes": [{"mailbox": "forged", "sourceUser": "forged"}]}),
            json!({"conditions": [ready_condition()], "done": 1}),
        ),
        other => panic!("no fixture for kind {other}: add one so that its status is tested too"),
    }
}

fn ready_condition() -> Value {
    json!({"type": "Ready", "status": "True", "reason": "Forged", "message": "forged", "lastTransitionTime": "2026-01-01T00:00:00Z"})
}

fn status_patch(status: &Value) -> Patch<Value> {
    Patch::Merge(json!({ "status": status }))
}

/// The API of `resource` in `namespace` (or cluster-wide) for `client`.
fn api(client: &Client, resource: &ApiResource, namespace: Option<&str>) -> Api<DynamicObject> {
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    }
}

#[tokio::test]
async fn forged_status_is_refused_for_every_kind_and_everyone_but_its_operator() {
    let run = TestRun::start(300).await;
    let code = run.code("st");
    run.create(&code).await;
    wait_ready(&run.agencies, &code).await;
    let namespace = format!("agency-{code}");
    let agency_admin = client_as("admin@lm.gov.lv", &[&format!("{}-Admins", code.to_uppercase())]).await;
    let mut tried = Vec::new();
    for crd in all_crds() {
        let version = &crd.spec.versions[0];
        if version.subresources.as_ref().is_none_or(|s| s.status.is_none()) {
            continue;
        }
        let kind = crd.spec.names.kind.clone();
        let resource = ApiResource {
            group: crd.spec.group.clone(),
            version: version.name.clone(),
            api_version: format!("{}/{}", crd.spec.group, version.name),
            kind: kind.clone(),
            plural: crd.spec.names.plural.clone(),
        };
        let scope = (crd.spec.scope == "Namespaced").then_some(namespace.as_str());
        let name = if kind == "Agency" { format!("st{}", run.run) } else { format!("forged-{}", run.run) };
        let (spec, forged) = fixture(&kind, &run.run);
        let object =
            json!({"apiVersion": resource.api_version, "kind": kind, "metadata": {"name": name}, "spec": spec});
        let objects = api(&run.admin, &resource, scope);
        if kind != "Agency" || objects.get_opt(&name).await.expect("look up").is_none() {
            objects
                .create(&PostParams::default(), &serde_json::from_value(object).unwrap())
                .await
                .unwrap_or_else(|e| panic!("create the {kind} fixture: {e}"));
        }

        let refused = objects
            .patch_status(&name, &PatchParams::default(), &status_patch(&forged))
            .await
            .expect_err(&format!("a cluster administrator wrote the status of {kind} {name}"));
        assert!(
            matches!(&refused, kube::Error::Api(s) if s.code == 403 && s.message.contains("is written only by its operator")),
            "{kind}: {refused}"
        );
        if scope.is_some() {
            let refused = api(&agency_admin, &resource, scope)
                .patch_status(&name, &PatchParams::default(), &status_patch(&forged))
                .await
                .expect_err(&format!("an agency administrator wrote the status of {kind} {name}"));
            assert!(matches!(&refused, kube::Error::Api(s) if s.code == 403), "{kind}: {refused}");
        }
        let operator = status_writer(&crd.spec.group).await;
        let dry_run = PatchParams { dry_run: true, ..PatchParams::default() };
        api(&operator, &resource, scope)
            .patch_status(&name, &dry_run, &status_patch(&forged))
            .await
            .unwrap_or_else(|e| panic!("the operator that owns {kind} may write its status: {e}"));

        if kind != "Agency" {
            objects.delete(&name, &DeleteParams::default()).await.expect("delete the fixture");
        }
        tried.push(kind);
    }
    assert!(tried.len() >= 10, "every kind with a status was tried: {tried:?}");
}
