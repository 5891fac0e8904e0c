//! The portal's pages through its real router: sign-in, sessions and CSRF, the catalog,
//! ordering with review and quota reservation, approvals and the audit trail. The order
//! flow and the quota reservation run on SQLite and on PostgreSQL.

mod support;

use axum::http::StatusCode;
use support::{
    both_stores,
    portal::{PASSWORD, TestPortal},
    sqlite_store,
};

async fn portal() -> TestPortal {
    TestPortal::new(sqlite_store().await, Vec::new()).await
}

#[tokio::test]
async fn signing_in_sets_a_secure_session_cookie_and_wrong_passwords_keep_the_username() {
    let portal = portal().await;
    let wrong = portal.try_sign_in("anna", "nepareizi").await.unwrap_err();
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains(r#"value="anna""#), "the username is kept");
    assert!(
        wrong.body.contains("Nepareizs lietotājvārds vai parole") || wrong.body.contains("Wrong username"),
        "{}",
        wrong.body
    );

    let form = portal.get(None, "/login").await;
    let csrf = support::portal::cookie_value(&form.headers, "__Host-makonis_login").unwrap();
    let body =
        serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("username", "Anna"), ("password", PASSWORD)]).unwrap();
    let answer = portal.post_raw(Some(&format!("__Host-makonis_login={csrf}")), "/login", &body).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let cookie = answer
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-makonis_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
}

#[tokio::test]
async fn pages_need_a_session_and_send_the_browser_to_sign_in_and_back() {
    let portal = portal().await;
    let answer = portal.get(None, "/requests?scope=mine").await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/login?next=%2Frequests%3Fscope%3Dmine");
    let api = portal.get(None, "/api/v1/requests").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.json()["code"], "unauthenticated");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_rate_limited() {
    let portal = portal().await;
    for _ in 0..5 {
        assert_eq!(portal.try_sign_in("janis", "x").await.unwrap_err().status, StatusCode::UNAUTHORIZED);
    }
    let limited = portal.try_sign_in("janis", PASSWORD).await.unwrap_err();
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let portal = portal().await;
    let anna = portal.sign_in("anna").await;
    let missing = portal.post_raw(Some(&anna.cookie), "/tokens", "name=x&days=5").await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = portal.post_raw(Some(&anna.cookie), "/tokens", "_csrf=0000&name=x&days=5").await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let login_without_cookie = portal.post_raw(None, "/login", "_csrf=abc&username=anna&password=x").await;
    assert_eq!(login_without_cookie.status, StatusCode::FORBIDDEN, "the sign-in form is protected too");
    let right = portal.post(&anna, "/tokens", &[("name", "x"), ("days", "5")]).await;
    assert_eq!(right.status, StatusCode::OK);
}

#[tokio::test]
async fn the_catalog_lists_searches_and_compares_plans_in_both_languages() {
    let portal = portal().await;
    let anna = portal.sign_in("anna").await;
    let page = portal.get(Some(&anna), "/catalog").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"<html lang="lv">"#));
    assert!(page.body.contains("/catalog/dms") && page.body.contains("/catalog/open-data"));
    let search = portal.get(Some(&anna), "/catalog?q=atvērtie+dati").await;
    assert!(search.body.contains("/catalog/open-data") && !search.body.contains("/catalog/dms\""), "{}", search.body);

    let english = portal.post(&anna, "/language", &[("lang", "en"), ("next", "/catalog/dms")]).await;
    assert_eq!(english.status, StatusCode::SEE_OTHER);
    let cookie = format!("{}; __Host-makonis_lang=en", anna.cookie);
    let item = portal.get(Some(&support::portal::Browser { cookie, csrf: anna.csrf.clone() }), "/catalog/dms").await;
    assert_eq!(item.status, StatusCode::OK);
    assert!(item.body.contains(r#"<html lang="en">"#));
    assert!(item.body.contains("Plans side by side"));
    assert_eq!(portal.context.store.language("anna").await.unwrap().as_deref(), Some("en"), "the choice is remembered");
}

#[tokio::test]
async fn an_order_is_reviewed_submitted_approved_in_two_stages_and_audited() {
    for (db, store) in both_stores().await {
        let portal = TestPortal::new(store, Vec::new()).await;
        eprintln!("on {db}");
        let anna = portal.sign_in("anna").await;
        let form = portal.get(Some(&anna), "/catalog/dms/order?plan=small").await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        assert!(form.body.contains(r#"name="instance""#) && form.body.contains(r#"value="dms""#));

        let bad = portal
            .order(&anna, "dms", &[("agency", "vdi"), ("plan", "small"), ("instance", "Ne Derīgs")], "review")
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains(r#"aria-invalid="true""#) && bad.body.contains("mazos burtus"), "{}", bad.body);

        let order = [("agency", "vdi"), ("plan", "small"), ("instance", "lietvediba")];
        let review = portal.order(&anna, "dms", &order, "review").await;
        assert_eq!(review.status, StatusCode::OK, "{}", review.body);
        assert!(
            review.body.contains("1350m") && review.body.contains(r#"value="submit""#),
            "the quota impact and a submit button"
        );

        let submitted = portal.order(&anna, "dms", &order, "submit").await;
        assert_eq!(submitted.status, StatusCode::SEE_OTHER, "{}", submitted.body);
        assert_eq!(submitted.location(), "/requests/vdi-1");

        let own = portal.post(&anna, "/requests/vdi-1/approve", &[("comment", "")]).await;
        assert_eq!(own.status, StatusCode::FORBIDDEN);

        let janis = portal.sign_in("janis").await;
        let inbox = portal.get(Some(&janis), "/approvals").await;
        assert!(inbox.body.contains("/requests/vdi-1"));
        let no_reason = portal.post(&janis, "/requests/vdi-1/reject", &[("comment", " ")]).await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY, "a rejection says why");
        let approved = portal.post(&janis, "/requests/vdi-1/approve", &[("comment", "Atbalstu")]).await;
        assert_eq!(approved.status, StatusCode::SEE_OTHER);
        let request = portal.context.store.request("vdi-1").await.unwrap().unwrap();
        assert_eq!(request.state.as_str(), "awaiting_platform", "dms needs the platform's approval too");

        let janis_again = portal.post(&janis, "/requests/vdi-1/approve", &[("comment", "")]).await;
        assert_eq!(janis_again.status, StatusCode::FORBIDDEN, "the agency stage is done");
        let operator = portal.sign_in("operator").await;
        let done = portal.post(&operator, "/requests/vdi-1/approve", &[("comment", "")]).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
        let request = portal.context.store.request("vdi-1").await.unwrap().unwrap();
        assert_eq!(request.state.as_str(), "approved");

        let page = portal.get(Some(&anna), "/requests/vdi-1").await;
        for text in ["Atbalstu", "Jānis Kalniņš", "Oskars Operators"] {
            assert!(page.body.contains(text), "the timeline shows {text}");
        }
        let admin = portal.sign_in("admin").await;
        let audit = portal.get(Some(&admin), "/audit?agency=vdi").await;
        for action in ["order", "approve"] {
            assert!(audit.body.contains(&format!("<td>{action}</td>")), "audited: {action}");
        }
        assert!(audit.body.contains("192.0.2.7"), "with the source address");
    }
}

#[tokio::test]
async fn pending_orders_reserve_quota_so_together_they_cannot_exceed_it() {
    for (db, store) in both_stores().await {
        let portal = TestPortal::new(store, Vec::new()).await;
        eprintln!("on {db}");
        let anna = portal.sign_in("anna").await;
        // VDI's quota has 12Ti of storage; a large DMS needs 2848Gi.
        for n in 1..=4 {
            let name = format!("dms-{n}");
            let answer = portal
                .order(&anna, "dms", &[("agency", "vdi"), ("plan", "large"), ("instance", &name)], "submit")
                .await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "order {n}: {}", answer.body);
        }
        let fifth =
            portal.order(&anna, "dms", &[("agency", "vdi"), ("plan", "large"), ("instance", "dms-5")], "submit").await;
        assert_eq!(fifth.status, StatusCode::CONFLICT);
        let message = "the plan needs 2848Gi storage but only 896Gi of the agency&#x27;s 12Ti is left";
        assert!(fifth.body.contains(message), "{}", fifth.body);
        let taken =
            portal.order(&anna, "dms", &[("agency", "vdi"), ("plan", "small"), ("instance", "dms-1")], "review").await;
        assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY, "a pending order's name is taken");
    }
}

fn ready_instance(agency: &str, name: &str, plan: &str) -> makonis_api::catalog::ServiceInstance {
    use makonis_api::catalog::{
        AdmittedPlan, OutputValue, Phase, ServiceInstance, ServiceInstanceSpec, ServiceInstanceStatus,
    };
    let item = support::portal::items().into_iter().find(|i| i.metadata.name.as_deref() == Some("postgresql")).unwrap();
    let resources = item.spec.plans.iter().find(|p| p.name == plan).unwrap().resources.clone();
    let mut instance = ServiceInstance::new(
        name,
        ServiceInstanceSpec { catalog_item: "postgresql".into(), plan: plan.into(), parameters: serde_json::json!({}) },
    );
    instance.metadata.namespace = Some(format!("agency-{agency}"));
    instance.metadata.generation = Some(1);
    instance.status = Some(ServiceInstanceStatus {
        phase: Some(Phase::Ready),
        observed_generation: Some(1),
        admitted: Some(AdmittedPlan { plan: plan.into(), resources }),
        outputs: vec![OutputValue {
            name: "host".into(),
            title: makonis_api::catalog::LocalizedTitle { lv: "Servera adrese".into(), en: "Host".into() },
            value: format!("{name}.agency-{agency}.svc"),
        }],
        ..Default::default()
    });
    instance
}

#[tokio::test]
async fn my_services_show_status_and_outputs_and_offer_resize_and_retire() {
    let portal = TestPortal::new(sqlite_store().await, vec![ready_instance("vdi", "pensijas", "small")]).await;
    let anna = portal.sign_in("anna").await;
    let list = portal.get(Some(&anna), "/services").await;
    assert!(list.body.contains("/services/vdi/pensijas") && list.body.contains("phase-Ready"), "{}", list.body);
    assert!(
        list.body.contains("Jūsu iestādes kvota") && list.body.contains("1 no 25"),
        "the agency's quota and use: {}",
        list.body
    );
    let page = portal.get(Some(&anna), "/services/vdi/pensijas").await;
    assert_eq!(page.status, StatusCode::OK);
    for text in ["pensijas.agency-vdi.svc", "Servera adrese", r#"action="/services/vdi/pensijas/resize""#, "data"] {
        assert!(page.body.contains(text), "the service page shows {text}");
    }

    let resize =
        portal.post(&anna, "/services/vdi/pensijas/resize", &[("plan", "standard"), ("action", "submit")]).await;
    assert_eq!(resize.status, StatusCode::SEE_OTHER, "{}", resize.body);
    let request = portal.context.store.request("vdi-1").await.unwrap().unwrap();
    assert_eq!(
        (request.kind.as_str(), request.plan.as_str(), request.state.as_str()),
        ("resize", "standard", "awaiting_agency")
    );
    assert!(request.reservation.cpu > 0, "a resize reserves what it adds");

    let unconfirmed = portal.post(&anna, "/services/vdi/pensijas/retire", &[("confirmation", "pensija")]).await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let retire = portal.post(&anna, "/services/vdi/pensijas/retire", &[("confirmation", "pensijas")]).await;
    assert_eq!(retire.location(), "/requests/vdi-2");
    let request = portal.context.store.request("vdi-2").await.unwrap().unwrap();
    assert_eq!(
        (request.kind.as_str(), request.state.as_str()),
        ("retire", "approved"),
        "a retirement needs no approval"
    );
    let twice = portal.post(&anna, "/services/vdi/pensijas/retire", &[("confirmation", "pensijas")]).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);

    let janis = portal.sign_in("janis").await;
    let viewer_page = portal.get(Some(&janis), "/services/vdi/pensijas").await;
    assert!(!viewer_page.body.contains("/retire\""), "an approver does not get the retire form");
}

#[tokio::test]
async fn unknown_addresses_get_the_portals_404_page_and_every_answer_has_security_headers() {
    let portal = portal().await;
    let anna = portal.sign_in("anna").await;
    let page = portal.get(Some(&anna), "/no-such-page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("<h1>Nav atrasts</h1>"), "{}", page.body);
    let api = portal.get(Some(&anna), "/api/v1/no-such-thing").await;
    assert_eq!((api.status, api.json()["code"].clone()), (StatusCode::NOT_FOUND, serde_json::json!("not_found")));
    for answer in [&page, &api] {
        let csp = answer.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(answer.headers.get("x-content-type-options").unwrap(), "nosniff");
    }
}
