//! Server-side apply removes what a controller no longer wants: a label, an annotation or
//! a map key (a ConfigMap's data, a quota's entry) dropped from the desired object is gone
//! from the live one, while fields other managers set stay. Against the real control
//! plane, through the operator kit's applier (typed, and dynamic with a watch cache) and
//! through the catalog controller re-rendering an instance. A status merged over the
//! server's keeps what earlier writes recorded.

mod support;

use std::{collections::BTreeMap, sync::Arc};

use k8s_openapi::{
    api::core::v1::{ConfigMap, Namespace, ResourceQuota, ResourceQuotaSpec},
    apimachinery::pkg::api::resource::Quantity,
};
use kube::{
    Api, Client, ResourceExt,
    api::{ApiResource, DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams},
    runtime::{
        reflector::{ObjectRef, Store, store::Writer},
        watcher,
    },
};
use makonis_api::{
    catalog::{CatalogItem, Phase, Template},
    identity::{Directory, DirectoryStatus},
};
use makonis_operator_kit::{
    apply::{Applier, Outcome},
    metrics::ReconcileMetrics,
    status::apply_status_merged,
    watch::{cached_with_own_fields, drain},
};
use serde_json::{Value, json};
use support::{
    CONVERGE,
    agencies::unique_id,
    catalog::{CatalogRun, test_item, wait_phase},
    cluster::{admin_client, status_writer},
    wait_until,
};

/// The field manager of the applier under test.
const MANAGER: &str = "makonis-test-applier";

fn strings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// A namespace of this test's own, deleted when the test ends.
async fn scratch_namespace(admin: &Client, prefix: &str) -> String {
    let name = format!("{prefix}-{}", unique_id());
    let namespace =
        Namespace { metadata: ObjectMeta { name: Some(name.clone()), ..Default::default() }, ..Default::default() };
    Api::<Namespace>::all(admin.clone()).create(&PostParams::default(), &namespace).await.expect("namespace");
    name
}

fn applier(client: &Client) -> Applier {
    let metrics = ReconcileMetrics::register(&prometheus::Registry::new()).unwrap();
    Applier::new(client.clone(), MANAGER, metrics)
}

fn config_map(
    namespace: &str,
    labels: &[(&str, &str)],
    annotations: &[(&str, &str)],
    data: &[(&str, &str)],
) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            namespace: Some(namespace.into()),
            labels: Some(strings(labels)),
            annotations: Some(strings(annotations)),
            ..Default::default()
        },
        data: Some(strings(data)),
        ..Default::default()
    }
}

#[tokio::test]
async fn fields_dropped_from_the_desired_object_are_removed() {
    let admin = admin_client().await;
    let namespace = scratch_namespace(&admin, "apply").await;
    let applier = applier(&admin);
    let maps: Api<ConfigMap> = Api::namespaced(admin.clone(), &namespace);

    let full = config_map(
        &namespace,
        &[("tier", "web"), ("pilot", "yes")],
        &[("note", "kept"), ("pilot-note", "trial")],
        &[("greeting", "hi"), ("pilot", "on")],
    );
    assert_eq!(applier.ensure(&full).await.unwrap().outcome, Outcome::Applied);
    assert_eq!(applier.ensure(&full).await.unwrap().outcome, Outcome::Unchanged, "nothing changed, nothing sent");
    // Someone else labels the object: not ours to remove.
    let theirs =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "labels": {"owner": "ops"}}});
    maps.patch("settings", &PatchParams::apply("ops"), &Patch::Apply(&theirs)).await.unwrap();

    let trimmed = config_map(&namespace, &[("tier", "web")], &[("note", "kept")], &[("greeting", "hi")]);
    assert_eq!(applier.ensure(&trimmed).await.unwrap().outcome, Outcome::Applied, "dropped fields are drift");
    let live = maps.get("settings").await.unwrap();
    assert_eq!(live.labels(), &strings(&[("tier", "web"), ("owner", "ops")]), "our dropped label went, theirs stayed");
    assert_eq!(live.annotations(), &strings(&[("note", "kept")]));
    assert_eq!(live.data, Some(strings(&[("greeting", "hi")])));
    assert_eq!(applier.ensure(&trimmed).await.unwrap().outcome, Outcome::Unchanged, "and then it is steady");

    // A quota entry dropped from the desired quota goes too.
    let quota = |hard: &[(&str, &str)]| ResourceQuota {
        metadata: ObjectMeta { name: Some("limits".into()), namespace: Some(namespace.clone()), ..Default::default() },
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard.iter().map(|(k, v)| (k.to_string(), Quantity(v.to_string()))).collect()),
            ..Default::default()
        }),
        status: None,
    };
    applier.ensure(&quota(&[("requests.cpu", "1.5"), ("pods", "5")])).await.unwrap();
    let ensured = applier.ensure(&quota(&[("requests.cpu", "1.5")])).await.unwrap();
    assert_eq!(ensured.outcome, Outcome::Applied);
    let hard =
        Api::<ResourceQuota>::namespaced(admin.clone(), &namespace).get("limits").await.unwrap().spec.unwrap().hard;
    assert_eq!(hard, Some(BTreeMap::from([("requests.cpu".to_string(), Quantity("1500m".into()))])));
    assert_eq!(applier.ensure(&quota(&[("requests.cpu", "1.5")])).await.unwrap().outcome, Outcome::Unchanged);

    Api::<Namespace>::all(admin).delete(&namespace, &DeleteParams::default()).await.unwrap();
}

#[tokio::test]
async fn fields_dropped_are_removed_when_comparing_with_a_watch_cache() {
    let admin = admin_client().await;
    let namespace = scratch_namespace(&admin, "apply-cache").await;
    let applier = applier(&admin);
    let resource = ApiResource::erase::<ConfigMap>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), &namespace, &resource);
    let (cache, stream) =
        cached_with_own_fields(api, watcher::Config::default(), Writer::new(resource.clone()), MANAGER);
    let driver = tokio::spawn(drain(stream));
    let key = ObjectRef::new_with("settings", resource.clone()).within(&namespace);
    let desired = |labels: Value| {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": namespace, "labels": labels},
               "data": {"greeting": "hi"}})
    };
    let both = json!({"tier": "web", "pilot": "yes"});
    applier.ensure_dynamic(&resource, &desired(both.clone()), None).await.unwrap();
    let live = cached_with_labels(&cache, &key, &both).await;
    assert!(
        live.managed_fields().iter().all(|f| f.manager.as_deref() == Some(MANAGER)),
        "only our own entry is cached"
    );
    let again = applier.ensure_dynamic(&resource, &desired(both), Some(&live)).await.unwrap();
    assert_eq!(again.outcome, Outcome::Unchanged);

    let one = json!({"tier": "web"});
    let trimmed = applier.ensure_dynamic(&resource, &desired(one.clone()), Some(&live)).await.unwrap();
    assert_eq!(trimmed.outcome, Outcome::Applied, "the cache's managedFields show the dropped label");
    let live = cached_with_labels(&cache, &key, &one).await;
    assert_eq!(
        applier.ensure_dynamic(&resource, &desired(one), Some(&live)).await.unwrap().outcome,
        Outcome::Unchanged
    );

    driver.abort();
    Api::<Namespace>::all(admin).delete(&namespace, &DeleteParams::default()).await.unwrap();
}

/// A status merged over what the API server holds keeps the facts an earlier write
/// recorded, even when the reconcile ran on a copy of the object older than that write (a
/// watch cache can hand a controller one); merged over that stale copy, they were lost.
#[tokio::test]
async fn a_status_written_from_a_stale_copy_keeps_what_the_last_write_recorded() {
    let admin = admin_client().await;
    let metrics = ReconcileMetrics::register(&prometheus::Registry::new()).unwrap();
    let directories: Api<Directory> = Api::all(admin.clone());
    // Statuses are written by their operator only (the status-writers policy).
    let writer: Api<Directory> = Api::all(status_writer("identity.makonis.lv").await);
    let name = format!("stale-status-{}", unique_id());
    let object: Directory = serde_json::from_value(json!({
        "apiVersion": "identity.makonis.lv/v1alpha1", "kind": "Directory",
        "metadata": {"name": name},
        "spec": {"url": "ldaps://dc.invalid:636", "caSecret": "none", "bindSecret": "none", "baseDn": "DC=invalid"},
    }))
    .unwrap();
    let stale = directories.create(&PostParams::default(), &object).await.unwrap();
    assert!(stale.status.is_none());

    let record = |current: Option<&DirectoryStatus>| DirectoryStatus {
        functional_level: Some("2008 R2".into()),
        ..current.cloned().unwrap_or_default()
    };
    assert!(apply_status_merged(&writer, &stale, None, record, MANAGER, &metrics).await.unwrap());
    let fresh = directories.get_status(&name).await.unwrap();
    assert!(
        !apply_status_merged(&writer, &fresh, fresh.status.as_ref(), record, MANAGER, &metrics).await.unwrap(),
        "nothing to write when the status already holds it"
    );

    // A later reconcile that still sees the object as created observes something else.
    let observe = |current: Option<&DirectoryStatus>| DirectoryStatus {
        observed_generation: Some(1),
        ..current.cloned().unwrap_or_default()
    };
    assert!(apply_status_merged(&writer, &stale, None, observe, MANAGER, &metrics).await.unwrap());
    let status = directories.get_status(&name).await.unwrap().status.unwrap();
    assert_eq!(
        (status.functional_level.as_deref(), status.observed_generation),
        (Some("2008 R2"), Some(1)),
        "both writes' facts are kept"
    );

    directories.delete(&name, &DeleteParams::default()).await.unwrap();
}

/// The cached object `key` once its labels are `labels`.
async fn cached_with_labels(
    cache: &Store<DynamicObject>,
    key: &ObjectRef<DynamicObject>,
    labels: &Value,
) -> Arc<DynamicObject> {
    wait_until("the cache to see the applied labels", CONVERGE, || async {
        match cache.get(key) {
            Some(object) if &serde_json::to_value(object.labels()).unwrap() == labels => Ok(object),
            other => Err(format!("labels {:?}", other.map(|o| o.labels().clone()))),
        }
    })
    .await
}

/// An item whose ConfigMap carries a label, an annotation and a data key only while the
/// parameter `pilot` is true.
fn pilot_item(name: &str) -> CatalogItem {
    let mut item = test_item(name);
    let mut parameters = item.spec.parameters.clone();
    parameters["properties"]["pilot"] =
        json!({"type": "boolean", "title": "Pilot", "x-title-lv": "Izmēģinājums", "default": false});
    item.spec.parameters = parameters;
    item.spec.templates = vec![Template {
        name: "config".into(),
        template: r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ instance.name }}-config
  labels:
    tier: web
{% if parameters.pilot %}    pilot: "yes"
{% endif %}  annotations:
    note: kept
{% if parameters.pilot %}    pilot-note: trial
{% endif %}data:
  greeting: hi
{% if parameters.pilot %}  pilot: "on"
{% endif %}"#
            .into(),
    }];
    item.spec.retain_on_retire.clear();
    item
}

#[tokio::test]
async fn a_label_dropped_from_a_template_is_removed_by_the_catalog() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("ap").await;
    let item = run.item_name("pilot");
    run.publish(pilot_item(&item)).await.expect("publish the item");
    let instances = Api::namespaced(run.admin.clone(), &namespace);
    let order = run.instance(&namespace, "web", &item, "small", json!({"pilot": true}));
    instances.create(&PostParams::default(), &order).await.expect("order");
    wait_phase(&instances, "web", Phase::Ready, CONVERGE).await;
    let maps: Api<ConfigMap> = Api::namespaced(run.admin.clone(), &namespace);
    let live = maps.get("web-config").await.unwrap();
    assert_eq!(live.labels().get("pilot").map(String::as_str), Some("yes"));
    assert!(live.annotations().contains_key("pilot-note"));
    assert!(live.data.as_ref().unwrap().contains_key("pilot"));

    let patch = json!({"spec": {"parameters": {"pilot": false}}});
    instances.patch("web", &PatchParams::default(), &Patch::Merge(&patch)).await.expect("change the parameter");
    let live = wait_until("the pilot label to be removed", CONVERGE, || async {
        let live = maps.get("web-config").await.map_err(|e| e.to_string())?;
        if live.labels().contains_key("pilot") { Err(format!("labels {:?}", live.labels())) } else { Ok(live) }
    })
    .await;
    assert!(!live.annotations().contains_key("pilot-note"), "annotations: {:?}", live.annotations());
    assert_eq!(live.data.as_ref().and_then(|d| d.get("pilot")), None, "data: {:?}", live.data);
    assert_eq!(live.labels().get("tier").map(String::as_str), Some("web"));
    wait_phase(&instances, "web", Phase::Ready, CONVERGE).await;
    run.finish().await;
}
