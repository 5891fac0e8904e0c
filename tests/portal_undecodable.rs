//! Objects the portal cannot decode (stored under a looser schema, as after a CRD
//! downgrade) do not stop its watches: each is left out of the view, listed and counted,
//! and every other agency, item and instance is served.
//!
//! This test loosens three CRDs for a moment, so it lives in its own test binary (test
//! binaries run one after another); every other test re-applies the real CRDs.

mod support;

use std::{sync::Arc, time::Duration};

use axum::{body::Body, http::Request};
use k8s_openapi::{
    api::core::v1::Namespace, apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client,
    api::{ApiResource, DeleteParams, DynamicObject, ObjectMeta, Patch, PatchParams, PostParams},
};
use makonis_api::{
    catalog::{CatalogItem, ServiceInstance, ServiceInstanceSpec},
    tenancy::{Agency, namespace_for_code},
};
use makonis_portal::{
    cluster::ClusterView,
    context::{Context, PortalConfig},
    store::Store,
    web::{AppState, Templates, metrics_app, ops::Metrics},
};
use serde_json::{Value, json};
use support::{
    CONVERGE,
    agencies::{TEST_LABEL, test_agency, unique_id},
    catalog::test_item,
    cluster::{admin_client, install_platform, status_writer},
    wait_until,
};
use tower::ServiceExt;

/// Removes the `enum` at `path` (property names from the schema's root) of CRD `name`.
async fn loosen(admin: &Client, name: &str, path: &[&str]) {
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    let mut crd = serde_json::to_value(crds.get(name).await.unwrap()).unwrap();
    crd["metadata"] = json!({"name": name});
    crd.as_object_mut().unwrap().remove("status");
    let mut schema = &mut crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    for property in path {
        schema = &mut schema["properties"][*property];
    }
    schema.as_object_mut().unwrap().remove("enum");
    crds.patch(name, &PatchParams::apply("makonis-tests").force(), &Patch::Apply(&crd)).await.expect("loosen the CRD");
}

/// Applies `body` untyped (our own types could not write it), retrying until the
/// loosened schema is in force.
async fn apply_untyped<K: kube::Resource<DynamicType = ()>>(admin: &Client, namespace: Option<&str>, body: Value) {
    let resource = ApiResource::erase::<K>(&());
    let api: Api<DynamicObject> = match namespace {
        Some(namespace) => Api::namespaced_with(admin.clone(), namespace, &resource),
        None => Api::all_with(admin.clone(), &resource),
    };
    let name = body["metadata"]["name"].as_str().unwrap().to_string();
    wait_until(&format!("the loosened schema to accept {name}"), CONVERGE, || async {
        api.patch(&name, &PatchParams::apply("makonis-tests").force(), &Patch::Apply(&body))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
}

/// Sets an instance's `status.phase` (through the status subresource, as the catalog
/// operator: the status-writers policy refuses anyone else).
async fn set_phase(namespace: &str, name: &str, phase: &str) {
    let writer = status_writer("catalog.makonis.lv").await;
    let api: Api<DynamicObject> = Api::namespaced_with(writer, namespace, &ApiResource::erase::<ServiceInstance>(&()));
    let status = json!({"status": {"phase": phase}});
    wait_until(&format!("{name}'s phase {phase}"), CONVERGE, || async {
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await;
}

fn typed_body<K: serde::Serialize>(object: &K, api_version: &str, kind: &str) -> Value {
    let mut body = serde_json::to_value(object).unwrap();
    body["apiVersion"] = json!(api_version);
    body["kind"] = json!(kind);
    body
}

#[tokio::test]
async fn undecodable_objects_are_left_out_of_the_portals_view_and_the_rest_are_served() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    loosen(&admin, "agencies.tenancy.makonis.lv", &["spec", "network", "isolation"]).await;
    loosen(&admin, "catalogitems.catalog.makonis.lv", &["spec", "category"]).await;
    loosen(&admin, "serviceinstances.catalog.makonis.lv", &["status", "phase"]).await;

    // One readable and one unreadable object of each kind the portal watches.
    let (good, bad) = (format!("ok{run}"), format!("no{run}"));
    Api::<Agency>::all(admin.clone()).create(&PostParams::default(), &test_agency(&good, &run)).await.unwrap();
    let mut open = typed_body(&test_agency(&bad, &run), "tenancy.makonis.lv/v1alpha1", "Agency");
    open["spec"]["network"] = json!({"isolation": "Open"});
    apply_untyped::<Agency>(&admin, None, open).await;
    Api::<CatalogItem>::all(admin.clone()).create(&PostParams::default(), &test_item(&good)).await.unwrap();
    let mut games = typed_body(&test_item(&bad), "catalog.makonis.lv/v1alpha1", "CatalogItem");
    games["spec"]["category"] = json!("Games");
    apply_untyped::<CatalogItem>(&admin, None, games).await;
    let namespace = namespace_for_code(&good);
    let meta = ObjectMeta {
        name: Some(namespace.clone()),
        labels: Some([(TEST_LABEL.to_string(), run.clone())].into()),
        ..Default::default()
    };
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    namespaces.create(&PostParams::default(), &Namespace { metadata: meta, ..Default::default() }).await.unwrap();
    let instances: Api<ServiceInstance> = Api::namespaced(admin.clone(), &namespace);
    for name in ["served", "exploded"] {
        let spec = ServiceInstanceSpec { catalog_item: good.clone(), plan: "small".into(), parameters: json!({}) };
        let mut instance = ServiceInstance::new(name, spec);
        instance.metadata.namespace = Some(namespace.clone());
        instances.create(&PostParams::default(), &instance).await.unwrap();
    }
    set_phase(&namespace, "exploded", "Exploded").await;

    // The portal's view fills despite them, and serves the rest.
    let (view, drive) = ClusterView::watch(&admin);
    let driver = tokio::spawn(drive);
    let ready = tokio::time::timeout(Duration::from_secs(60), view.wait_until_ready()).await;
    assert_eq!(ready, Ok(true), "the caches fill although some objects do not decode");
    wait_until("the readable objects to be served", CONVERGE, || async {
        match (view.agency(&good), view.item(&good), view.instance(&good, "served")) {
            (Some(_), Some(_), Some(_)) => Ok(()),
            seen => Err(format!("{:?}", (seen.0.is_some(), seen.1.is_some(), seen.2.is_some()))),
        }
    })
    .await;
    assert!(view.agency(&bad).is_none() && view.item(&bad).is_none() && view.instance(&good, "exploded").is_none());
    let listed =
        |kind: &str, name: &str| view.undecodable().iter().any(|(key, _)| key.kind == kind && key.name == name);
    assert!(listed("Agency", &bad) && listed("CatalogItem", &bad) && listed("ServiceInstance", "exploded"));

    // An instance that stops decoding leaves the view; fixed, it comes back.
    set_phase(&namespace, "served", "Exploded").await;
    wait_until("the instance that no longer decodes to leave the view", CONVERGE, || async {
        if view.instance(&good, "served").is_none() && listed("ServiceInstance", "served") {
            Ok(())
        } else {
            Err("still served".to_string())
        }
    })
    .await;
    set_phase(&namespace, "served", "Ready").await;
    wait_until("the fixed instance to be served again", CONVERGE, || async {
        view.instance(&good, "served").map(|_| ()).ok_or_else(|| "not yet".to_string())
    })
    .await;

    // The portal counts them for its operators, on its metrics listener.
    let dir = std::env::temp_dir().join(format!("makonis-portal-undecodable-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/portal.db", dir.display())).await.unwrap();
    let context = Arc::new(Context::new(store, view.clone(), None, PortalConfig::default()));
    let state = AppState {
        context,
        templates: Arc::new(Templates::embedded().unwrap()),
        metrics: Arc::new(Metrics::new().unwrap()),
    };
    let response = metrics_app(state).oneshot(Request::get("/metrics").body(Body::empty()).unwrap()).await.unwrap();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let text = String::from_utf8_lossy(&body);
    let counted = |kind: &str| {
        let series = format!(r#"makonis_portal_undecodable_objects{{kind="{kind}"}} "#);
        text.lines().find_map(|line| line.strip_prefix(&series)?.parse::<f64>().ok()).unwrap_or_default()
    };
    for kind in ["Agency", "CatalogItem", "ServiceInstance"] {
        assert!(counted(kind) >= 1.0, "{kind} counted: {text}");
    }

    // Restore the real schemas and remove what this test made.
    install_platform(&admin).await;
    namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
    let untyped = |resource: ApiResource| Api::<DynamicObject>::all_with(admin.clone(), &resource);
    for name in [&good, &bad] {
        untyped(ApiResource::erase::<Agency>(&())).delete(name, &DeleteParams::default()).await.unwrap();
        untyped(ApiResource::erase::<CatalogItem>(&())).delete(name, &DeleteParams::default()).await.unwrap();
    }
    driver.abort();
}
