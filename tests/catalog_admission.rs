//! Refusals: the webhook (called by the real API server) and the API server's own schema
//! refuse invalid orders and items with the field named; the controller, which sees
//! orders the webhook did not, says the same words.

mod support;

use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use makonis_api::catalog::{CatalogItem, Phase, ServiceInstance};
use serde_json::json;
use support::{
    CONVERGE,
    catalog::{CatalogRun, condition, test_item, wait_phase},
};

/// The message of a refused request.
fn refusal<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(status)) => status.message.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_orders_and_items_are_refused_with_the_field_named() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("adm").await;
    let item = run.item_name("web");
    run.publish(test_item(&item)).await.expect("publish");
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let order = |name: &str, plan: &str, parameters| run.instance(&namespace, name, &item, plan, parameters);
    let create = |instance: ServiceInstance| {
        let instances = instances.clone();
        async move { instances.create(&PostParams::default(), &instance).await }
    };

    // Parameters that break the schema: every problem, each with its JSON pointer.
    let message = refusal(create(order("bad", "small", json!({"greeting": "Sveiki 123", "colour": "red"}))).await);
    assert!(message.contains("admission webhook"), "{message}");
    assert!(message.contains("InvalidOrder: "), "{message}");
    assert!(
        message.contains("/spec/parameters/colour: is not a known parameter (known: greeting, replicasNote)"),
        "{message}"
    );
    assert!(message.contains("/spec/parameters/greeting: must match the pattern"), "{message}");
    let message = refusal(create(order("bad", "small", json!({"replicasNote": 11}))).await);
    assert!(message.contains("/spec/parameters/replicasNote: must be at most 10"), "{message}");

    // A plan the item does not have, an item that is not published.
    let message = refusal(create(order("bad", "xl", json!({}))).await);
    assert!(
        message.contains(&format!("/spec/plan: catalog item `{item}` has no plan `xl` (plans: small, large, huge)")),
        "{message}"
    );
    let mut missing = order("bad", "small", json!({}));
    missing.spec.catalog_item = "no-such-item".into();
    let message = refusal(create(missing).await);
    assert!(
        message.contains("NoSuchCatalogItem: /spec/catalogItem: no catalog item `no-such-item` is published"),
        "{message}"
    );

    // Over quota: the agency has 8 CPUs; with one large instance (1 CPU) 7 are left.
    create(order("first", "large", json!({}))).await.expect("a large instance fits");
    wait_phase(&instances, "first", Phase::Ready, CONVERGE).await;
    let message = refusal(create(order("greedy", "huge", json!({}))).await);
    assert!(
        message.contains("QuotaExceeded: /spec/plan: plan `huge` does not fit in agency")
            && message.contains("the plan needs 100 cpu but only 7 of the agency's 8 is left"),
        "{message}"
    );
    // A resize over quota is refused the same way; the instance keeps running.
    let resize = json!({"spec": {"plan": "huge"}});
    let message = refusal(instances.patch("first", &PatchParams::default(), &Patch::Merge(&resize)).await);
    assert!(message.contains("only 8 of the agency's 8 is left"), "{message}");

    // Items: broken templates and schemas are refused by the webhook, out-of-range SLAs
    // and duplicate plans by the API server's schema.
    let items: Api<CatalogItem> = Api::all(run.admin.clone());
    let mut broken = test_item(&run.item_name("broken"));
    broken.spec.templates[0].template = "{% if parameters.greeting %}unclosed".into();
    let message = refusal(run.publish(broken).await);
    assert!(message.contains("InvalidCatalogItem: /spec/templates/0/template: `config` does not parse"), "{message}");
    let mut unknown_variable = test_item(&run.item_name("typo"));
    unknown_variable.spec.templates[2].template =
        unknown_variable.spec.templates[2].template.replace("instance.name", "instance.nmae");
    let message = refusal(run.publish(unknown_variable).await);
    assert!(
        message.contains("/spec/templates/2/template: plan `small` does not render: template `app` failed to render"),
        "{message}"
    );
    assert!(message.contains("instance.nmae"), "{message}");
    let mut bad_schema = test_item(&run.item_name("schema"));
    bad_schema.spec.parameters["properties"]["replicasNote"]["minimum"] = json!("1");
    let message = refusal(run.publish(bad_schema).await);
    assert!(message.contains("/spec/parameters/properties/replicasNote/minimum"), "{message}");
    let mut bad_sla = test_item(&run.item_name("sla"));
    bad_sla.spec.plans[0].sla.availability_percent = 100.5;
    let message = refusal(run.publish(bad_sla).await);
    assert!(message.contains("spec.plans[0].sla.availabilityPercent"), "{message}");
    let mut duplicate = test_item(&run.item_name("dup"));
    duplicate.spec.plans[1].name = "small".into();
    let message = refusal(run.publish(duplicate).await);
    assert!(message.contains("spec.plans[1]: Duplicate value"), "{message}");

    // The controller says what the webhook says: with the item withdrawn, the running
    // instance reports the webhook's refusal text (and keeps running).
    items.delete(&item, &DeleteParams::default()).await.expect("withdraw the item");
    let failed = wait_phase(&instances, "first", Phase::Degraded, CONVERGE).await;
    let (status, reason, message) = condition(&failed, "Ready").unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("False", "NoSuchCatalogItem"));
    assert!(
        message.ends_with(&format!(
            "/spec/catalogItem: no catalog item `{item}` is published (see kubectl get catalogitems)"
        )),
        "{message}"
    );
    run.finish().await;
}
