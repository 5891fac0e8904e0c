//! Tenant isolation through every route: a user of one agency gets 404 (or 403 where the
//! route is not about one object) for another agency's requests, services, audit entries,
//! SLA reports and security logs, through the pages and the API, both ways (VDI ↔ LM). A last test
//! checks that this file names every route the router has, so a new route cannot skip
//! the check.

mod support;

use axum::http::{Method, StatusCode};
use makonis_api::catalog::{ServiceInstance, ServiceInstanceSpec};
use serde_json::json;
use support::{portal::TestPortal, sqlite_store};

fn instance(agency: &str, name: &str) -> ServiceInstance {
    let mut instance = ServiceInstance::new(
        name,
        ServiceInstanceSpec { catalog_item: "postgresql".into(), plan: "small".into(), parameters: json!({}) },
    );
    instance.metadata.namespace = Some(format!("agency-{agency}"));
    instance.metadata.generation = Some(1);
    instance
}

/// Agency `a`'s side of the test: its request id, its instance, and its users.
struct Side {
    agency: &'static str,
    request: String,
    instance: &'static str,
    requester: &'static str,
    admin: &'static str,
}

async fn setup() -> (TestPortal, Side, Side) {
    let portal = TestPortal::new(sqlite_store().await, vec![instance("vdi", "vdi-db"), instance("lm", "lm-db")]).await;
    let mut sides = Vec::new();
    for (agency, requester, admin, instance, name) in
        [("vdi", "anna", "vdi-admin", "vdi-db", "vdi-new"), ("lm", "liga", "lm-approver", "lm-db", "lm-new")]
    {
        let browser = portal.sign_in(requester).await;
        let answer = portal
            .order(&browser, "postgresql", &[("agency", agency), ("plan", "small"), ("instance", name)], "submit")
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let request = answer.location().trim_start_matches("/requests/").to_string();
        sides.push(Side { agency, request, instance, requester, admin });
    }
    let lm = sides.pop().unwrap();
    let vdi = sides.pop().unwrap();
    (portal, vdi, lm)
}

/// Every page and API route that names one object of an agency, with `{request}`,
/// `{agency}` and `{instance}` to fill in: (method, path, form or JSON body).
const OBJECT_ROUTES: [(&str, &str, &str); 33] = [
    ("GET", "/requests/{request}", ""),
    ("POST", "/requests/{request}/approve", "comment=x"),
    ("POST", "/requests/{request}/reject", "comment=x"),
    ("POST", "/requests/{request}/cancel", ""),
    ("GET", "/services/{agency}/{instance}", ""),
    ("POST", "/services/{agency}/{instance}/resize", "plan=medium&action=submit"),
    ("POST", "/services/{agency}/{instance}/retire", "confirmation={instance}"),
    ("GET", "/services/{agency}/{instance}/events", ""),
    ("GET", "/audit?agency={agency}", ""),
    ("GET", "/audit.csv?agency={agency}", ""),
    ("GET", "/reports/sla?agency={agency}", ""),
    ("GET", "/reports/sla.csv?agency={agency}", ""),
    ("GET", "/security?agency={agency}", ""),
    ("GET", "/security/events.csv?agency={agency}", ""),
    ("GET", "/security/report?agency={agency}", ""),
    ("GET", "/security/alerts?agency={agency}", ""),
    ("GET", "/api/v1/requests/{request}", ""),
    ("POST", "/api/v1/requests/{request}/approve", r#"{"comment":"x"}"#),
    ("POST", "/api/v1/requests/{request}/reject", r#"{"comment":"x"}"#),
    ("POST", "/api/v1/requests/{request}/cancel", ""),
    ("GET", "/api/v1/services/{agency}/{instance}", ""),
    ("POST", "/api/v1/services/{agency}/{instance}/retire", r#"{"confirmation":"{instance}"}"#),
    ("GET", "/api/v1/audit?agency={agency}", ""),
    ("GET", "/agencies/{agency}/tokens", ""),
    ("GET", "/agencies/{agency}/people", ""),
    ("POST", "/agencies/{agency}/people", "username=sneaky&given_name=A&surname=B"),
    ("GET", "/agencies/{agency}/new-person", ""),
    ("GET", "/agencies/{agency}/people/{instance}", ""),
    ("POST", "/agencies/{agency}/people/{instance}", "given_name=A&surname=B"),
    ("POST", "/agencies/{agency}/groups", "name=sneaky"),
    ("POST", "/agencies/{agency}/tokens/{request}/revoke", ""),
    ("GET", "/api/v1/agencies/{agency}/tokens", ""),
    ("POST", "/api/v1/agencies/{agency}/tokens/{request}/revoke", ""),
];

fn fill(text: &str, side: &Side) -> String {
    text.replace("{request}", &side.request).replace("{agency}", side.agency).replace("{instance}", side.instance)
}

async fn assert_sealed(portal: &TestPortal, user: &str, other: &Side) {
    let browser = portal.sign_in(user).await;
    let token = portal.token(&browser).await;
    let echo = regex::Regex::new(r#"name="next" value="[^"]*""#).unwrap();
    for (method, path, body) in OBJECT_ROUTES {
        let path = fill(path, other);
        let body = fill(body, other);
        let answer = match (method, path.starts_with("/api/")) {
            ("GET", false) => portal.get(Some(&browser), &path).await,
            ("GET", true) => portal.api(Some(&token), Method::GET, &path, None).await,
            (_, false) => {
                let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
                pairs.insert(0, ("_csrf".into(), browser.csrf.clone()));
                portal.post_raw(Some(&browser.cookie), &path, &serde_urlencoded::to_string(&pairs).unwrap()).await
            }
            (_, true) => {
                let json = (!body.is_empty()).then(|| serde_json::from_str(&body).unwrap()).or(Some(json!({})));
                portal.api(Some(&token), Method::POST, &path, json).await
            }
        };
        assert!(
            matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
            "{user} reached {method} {path} of agency {}: {} {}",
            other.agency,
            answer.status,
            answer.body.chars().take(300).collect::<String>()
        );
        // The page's own address comes back in the language switch; nothing else may.
        let body = echo.replace_all(&answer.body, "");
        assert!(
            !body.contains(&other.request) && !body.contains(other.instance),
            "{user}: the refusal of {path} names the other agency's objects"
        );
    }
    // Lists show only the user's own agency.
    for path in ["/requests", "/services", "/services?agency={agency}", "/approvals"] {
        let page = portal.get(Some(&browser), &fill(path, other)).await;
        assert!(
            !page.body.contains(&format!("/requests/{}", other.request)),
            "{user}: {path} lists the other agency's request"
        );
        assert!(
            !page.body.contains(&format!("/services/{}/", other.agency)),
            "{user}: {path} lists the other agency's services"
        );
    }
    for path in ["/api/v1/requests", "/api/v1/services", "/api/v1/agencies", "/api/v1/services?agency={agency}"] {
        let answer = portal.api(Some(&token), Method::GET, &fill(path, other), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        let text = answer.body;
        assert!(
            !text.contains(&other.request) && !text.contains(other.instance),
            "{user}: {path} shows the other agency: {text}"
        );
    }
    // Ordering for the other agency is refused, through the page and the API.
    let order = portal
        .order(&browser, "postgresql", &[("agency", other.agency), ("plan", "small"), ("instance", "sneaky")], "submit")
        .await;
    assert!(
        matches!(order.status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
        "{user} ordered for {}: {}",
        other.agency,
        order.status
    );
    let body = json!({"agency": other.agency, "catalogItem": "postgresql", "plan": "small", "instance": "sneaky"});
    let api = portal.api(Some(&token), Method::POST, "/api/v1/requests", Some(body)).await;
    assert_eq!(api.status, StatusCode::NOT_FOUND, "{}", api.body);
    // Platform pages are closed to agency users.
    for path in ["/admin/agencies", "/admin/items"] {
        assert_eq!(portal.get(Some(&browser), path).await.status, StatusCode::FORBIDDEN, "{user}: {path}");
    }
}

#[tokio::test]
async fn a_vdi_user_cannot_reach_lm_and_an_lm_user_cannot_reach_vdi() {
    let (portal, vdi, lm) = setup().await;
    for (user, other) in [(vdi.requester, &lm), (vdi.admin, &lm), (lm.requester, &vdi), (lm.admin, &vdi)] {
        assert_sealed(&portal, user, other).await;
    }
    // Both requests are still where they were: nothing was decided, cancelled or retired.
    for side in [&vdi, &lm] {
        let request = portal.context.store.request(&side.request).await.unwrap().unwrap();
        assert_eq!(request.state.as_str(), "awaiting_agency", "{}", side.request);
    }
}

#[tokio::test]
async fn each_agency_still_reaches_its_own() {
    let (portal, vdi, lm) = setup().await;
    for side in [&vdi, &lm] {
        let browser = portal.sign_in(side.requester).await;
        assert_eq!(portal.get(Some(&browser), &format!("/requests/{}", side.request)).await.status, StatusCode::OK);
        let service = portal.get(Some(&browser), &format!("/services/{}/{}", side.agency, side.instance)).await;
        assert_eq!(service.status, StatusCode::OK);
        let admin = portal.sign_in(side.admin).await;
        assert_eq!(portal.get(Some(&admin), &format!("/audit?agency={}", side.agency)).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_user_without_roles_sees_nothing_and_platform_staff_see_everything() {
    let (portal, vdi, lm) = setup().await;
    let nobody = portal.sign_in("nobody").await;
    for side in [&vdi, &lm] {
        assert_eq!(
            portal.get(Some(&nobody), &format!("/requests/{}", side.request)).await.status,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(portal.get(Some(&nobody), "/audit").await.status, StatusCode::FORBIDDEN);
    let security_pages = [
        "/security",
        "/security/sources",
        "/security/report",
        "/security/events.csv",
        "/security/alerts",
        "/security/incidents",
        "/security/alerts/{alert}",
    ];
    for path in security_pages.map(|path| path.replace("{alert}", "a1")) {
        assert_eq!(portal.get(Some(&nobody), &path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let acted = portal.post(&nobody, "/security/alerts/a1", &[("action", "acknowledge")]).await;
    assert_eq!(acted.status, StatusCode::FORBIDDEN, "working an alert needs a security role");
    let operator = portal.sign_in("operator").await;
    for side in [&vdi, &lm] {
        assert_eq!(portal.get(Some(&operator), &format!("/requests/{}", side.request)).await.status, StatusCode::OK);
    }
    assert_eq!(
        portal.get(Some(&operator), "/audit").await.status,
        StatusCode::FORBIDDEN,
        "only platform admins read every agency's trail"
    );
    let admin = portal.sign_in("admin").await;
    let audit = portal.get(Some(&admin), "/audit").await;
    assert!(audit.body.contains(">vdi<") && audit.body.contains(">lm<"));
}

#[test]
fn this_file_covers_every_route_of_the_router() {
    let sources = [(include_str!("../src/web/mod.rs"), ""), (include_str!("../src/web/api/mod.rs"), "/api")];
    let covered = include_str!("isolation.rs");
    let route = regex::Regex::new(r#"\.route\("([^"]+)""#).unwrap();
    let placeholder = regex::Regex::new(r"\{[a-z]+\}").unwrap();
    let open = [
        "/",
        "/login",
        "/logout",
        "/language",
        // Only one's own password: the signed-in person's name, never the form's (tested
        // in directory.rs against Samba).
        "/password",
        // Lists only the agencies the viewer administers (each one's pages are above).
        "/people",
        "/catalog",
        "/catalog/{item}",
        "/catalog/{item}/order",
        "/tokens",
        "/tokens/{id}/revoke",
        "/static/{file}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/api/openapi.json",
        "/api/v1/catalog",
        "/api/v1/catalog/{item}",
    ];
    for (source, prefix) in sources {
        for captures in route.captures_iter(source) {
            let path = format!("{prefix}{}", &captures[1]);
            if open.contains(&path.as_str()) {
                continue;
            }
            let pattern = placeholder.replace_all(&path, "{");
            let named =
                covered.lines().any(|line| placeholder.replace_all(line, "{").contains(&format!("\"{pattern}")));
            assert!(named, "route {path} is not in the isolation tests");
        }
    }
}
