//! The portal against the real control plane: a granted order is applied by the portal's
//! worker (as the portal's own ServiceAccount) and followed until Ready; an order the
//! catalog's webhook refuses at apply time fails with the webhook's words; an instance
//! created with kubectl appears in the portal's view; a retirement removes the instance;
//! a replica whose cache lags moves a request on only when the API server confirms it.

mod support;

use std::time::Duration;

use k8s_openapi::{api::core::v1::Namespace, apimachinery::pkg::api::resource::Quantity};
use kube::{
    Api,
    api::{DeleteParams, ObjectMeta, Patch, PatchParams, PostParams},
};
use makonis_api::{
    catalog::{Approval, ServiceInstance, ServiceInstanceSpec},
    tenancy::{Agency, namespace_for_code},
};
use makonis_portal::{
    actions::{
        decide::{Verdict, decide},
        order::{OrderInput, submit},
        retire::retire,
    },
    cluster::ClusterView,
    context::{Context, PortalConfig},
    store::{
        Store,
        audit::{AuditEvent, AuditQuery},
        random_id,
        requests::NewRequest,
    },
    worker,
    workflow::{RequestKind, RequestState, Reservation},
};
use serde_json::json;
use support::{
    CONVERGE,
    agencies::{TEST_LABEL, unique_id},
    catalog::{CatalogRun, test_item},
    cluster::{admin_client, install_platform},
    cluster_portal::ClusterPortal,
    wait_until,
};

async fn wait_state(context: &Context, id: &str, state: &str) -> makonis_portal::store::requests::Request {
    wait_until(&format!("request {id} to be {state}"), CONVERGE, || async {
        let request = context.store.request(id).await.map_err(|e| e.to_string())?.ok_or("no request")?;
        if request.state.as_str() == state {
            Ok(request)
        } else {
            Err(format!("{} ({})", request.state, request.message))
        }
    })
    .await
}

#[tokio::test]
async fn granted_orders_are_applied_followed_and_retired_by_the_portal() {
    let run = CatalogRun::start(300).await;
    let namespace = run.agency("portal").await;
    let code = namespace.trim_start_matches("agency-").to_string();
    let item = run.item_name("web");
    let mut published = test_item(&item);
    published.spec.approval = Approval::AgencyApprover;
    run.publish(published).await.expect("publish the test item");

    let portal = ClusterPortal::start(&run, true).await;
    let context = &portal.context;
    portal.wait_for_item(&code, &item).await;
    let group = code.to_uppercase();
    let requester = portal.actor("anna", format!("{group}-Requesters"));
    let approver = portal.actor("janis", format!("{group}-Approvers"));

    // Ordered, approved, applied by the worker as the portal's ServiceAccount, Ready.
    let input = OrderInput {
        agency: code.clone(),
        catalog_item: item.clone(),
        plan: "small".into(),
        instance: "vietne".into(),
        parameters: json!({"greeting": "Sveiki"}),
    };
    let request =
        submit(context, &requester, &input, makonis_portal::workflow::RequestKind::Order).await.expect("submitted");
    decide(context, &approver, &request.id, Verdict::Approve, "").await.expect("approved");
    let ready = wait_state(context, &request.id, "ready").await;
    assert!(ready.message.contains("ready"), "{}", ready.message);
    let instances: Api<ServiceInstance> = Api::namespaced(run.admin.clone(), &namespace);
    let applied = instances.get("vietne").await.unwrap();
    let managers: Vec<_> = applied.metadata.managed_fields.iter().flatten().filter_map(|m| m.manager.clone()).collect();
    assert!(managers.contains(&"makonis-portal".to_string()), "applied with the portal's field manager: {managers:?}");
    assert_eq!(applied.metadata.annotations.as_ref().unwrap()["portal.makonis.lv/request"], request.id);

    // An instance created with kubectl shows up in the portal's view.
    let by_hand = run.instance(&namespace, "ar-roku", &item, "small", json!({}));
    instances.create(&PostParams::default(), &by_hand).await.expect("kubectl-style order");
    wait_until("the portal to see the kubectl-made instance", CONVERGE, || async {
        context.view.instance(&code, "ar-roku").map(|_| ()).ok_or_else(|| "not yet".to_string())
    })
    .await;

    // The quota shrinks after approval was asked: the webhook refuses the apply, and
    // the request fails with its words instead of hanging.
    let second = OrderInput { instance: "otra".into(), plan: "large".into(), ..input.clone() };
    let waiting =
        submit(context, &requester, &second, makonis_portal::workflow::RequestKind::Order).await.expect("submitted");
    let agencies: Api<Agency> = Api::all(run.admin.clone());
    let shrink = json!({"spec": {"quota": {"cpu": Quantity("1".into())}}});
    agencies.patch(&code, &PatchParams::default(), &Patch::Merge(&shrink)).await.unwrap();
    wait_until("the catalog to see the smaller quota", Duration::from_secs(30), || async {
        let cpu = context.view.agency(&code).map(|a| a.spec.quota.cpu.0.clone()).unwrap_or_default();
        if cpu == "1" { Ok(()) } else { Err(cpu) }
    })
    .await;
    decide(context, &approver, &waiting.id, Verdict::Approve, "").await.expect("approved");
    let failed = wait_state(context, &waiting.id, "failed").await;
    // Refused by the admission webhook when its view of the quota is already the smaller
    // one, or else failed by the catalog operator (`QuotaExceeded`): the quota either way.
    assert!(
        failed.message.contains("QuotaExceeded") || failed.message.contains("does not fit in agency"),
        "refused for the quota: {}",
        failed.message
    );

    // Retired: the worker deletes the instance and the request ends when it is gone.
    let gone = retire(context, &requester, &code, "vietne", "vietne").await.expect("retire");
    wait_state(context, &gone.id, "retired").await;
    assert!(instances.get_opt("vietne").await.unwrap().is_none());

    drop(portal);
    run.finish().await;
}

/// A request of `kind` in `state` for `instance`, written as the worker would find it.
async fn in_flight(store: &Store, agency: &str, kind: RequestKind, state: RequestState, instance: &str) -> String {
    let new = NewRequest {
        kind,
        catalog_item: "web".into(),
        plan: "small".into(),
        parameters: json!({}),
        instance: instance.into(),
        requester: "anna".into(),
        requester_name: "Anna".into(),
        approval: Approval::None,
        state,
        reservation: Reservation::default(),
        monthly_price: "0".into(),
    };
    let mut tx = store.begin().await.unwrap();
    let request = tx.create_request(agency, 0, |_| Ok::<_, ()>(new)).await.unwrap().unwrap();
    let event = AuditEvent {
        at: 0,
        actor: "anna".into(),
        agency: Some(agency.into()),
        action: kind.as_str().into(),
        object: format!("request {}", request.id),
        outcome: "success".into(),
        source_ip: "127.0.0.1".into(),
        session_id: "s-test".into(),
        user_agent: "portal_cluster".into(),
        detail: String::new(),
    };
    tx.commit(&event).await.unwrap();
    request.id
}

#[tokio::test]
async fn a_lagging_cache_moves_no_request_until_the_api_server_confirms() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let code = format!("lag{}", unique_id());
    let namespace = namespace_for_code(&code);
    let run = unique_id();
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let labelled = ObjectMeta {
        name: Some(namespace.clone()),
        labels: Some([(TEST_LABEL.to_string(), run.clone())].into()),
        ..Default::default()
    };
    namespaces.create(&PostParams::default(), &Namespace { metadata: labelled, ..Default::default() }).await.unwrap();
    let instances: Api<ServiceInstance> = Api::namespaced(admin.clone(), &namespace);
    for name in ["ordered", "retiring"] {
        let instance = ServiceInstance {
            metadata: ObjectMeta { name: Some(name.into()), ..Default::default() },
            spec: ServiceInstanceSpec { catalog_item: "web".into(), plan: "small".into(), parameters: json!({}) },
            status: None,
        };
        instances.create(&PostParams::default(), &instance).await.expect("the instance exists in the cluster");
    }

    // This replica's cache has not seen either instance yet (another replica applied them).
    let dir = std::env::temp_dir().join(format!("makonis-portal-lag-{}", random_id(4)));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/portal.db", dir.display())).await.unwrap();
    let view = ClusterView::of_objects(vec![], vec![], vec![]);
    let context = Context::new(store, view, Some(admin.clone()), PortalConfig::default());
    let ordered = in_flight(&context.store, &code, RequestKind::Order, RequestState::Provisioning, "ordered").await;
    let retiring = in_flight(&context.store, &code, RequestKind::Retire, RequestState::Retiring, "retiring").await;
    let state = |id: String| {
        let store = &context.store;
        async move { store.request(&id).await.unwrap().unwrap().state }
    };

    worker::sweep(&context).await.expect("a sweep");
    assert_eq!(state(ordered.clone()).await, RequestState::Provisioning, "the instance exists: not failed");
    assert_eq!(state(retiring.clone()).await, RequestState::Retiring, "the instance exists: not retired");

    // Once the API server no longer has them, the same sweep moves both on, and says so.
    for name in ["ordered", "retiring"] {
        instances.delete(name, &DeleteParams::default()).await.unwrap();
    }
    wait_until("the instances to be gone", CONVERGE, || async {
        let left = instances.list(&Default::default()).await.map_err(|e| e.to_string())?.items.len();
        if left == 0 { Ok(()) } else { Err(format!("{left} left")) }
    })
    .await;
    worker::sweep(&context).await.expect("a sweep");
    let failed = context.store.request(&ordered).await.unwrap().unwrap();
    assert_eq!(failed.state, RequestState::Failed);
    assert!(failed.message.contains("deleted before it became ready"), "{}", failed.message);
    assert_eq!(state(retiring.clone()).await, RequestState::Retired);
    let query = AuditQuery { actor: Some("makonis".into()), limit: 10, ..Default::default() };
    let followed: Vec<_> = context.store.audit_events(&query).await.unwrap().into_iter().map(|r| r.event).collect();
    let outcomes: Vec<_> =
        followed.iter().map(|e| (e.action.as_str(), e.outcome.as_str(), e.object.as_str())).collect();
    assert!(outcomes.contains(&("follow_instance", "failure", "instance ordered")), "{outcomes:?}");
    assert!(outcomes.contains(&("follow_instance", "success", "instance retiring")), "{outcomes:?}");

    namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
}
