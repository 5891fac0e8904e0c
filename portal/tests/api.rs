//! The JSON API: its OpenAPI document matches the router, tokens authenticate (and stop
//! when revoked), and bad input of every kind is answered with a clear JSON error, never
//! a 5xx. Forms get the same treatment at the end.

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{portal::TestPortal, sqlite_store};

async fn portal() -> TestPortal {
    TestPortal::new(sqlite_store().await, Vec::new()).await
}

async fn token_of(portal: &TestPortal, user: &str) -> String {
    let browser = portal.sign_in(user).await;
    portal.token(&browser).await
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes_the_router_has() {
    let portal = portal().await;
    let answer = portal.get(None, "/api/openapi.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc = answer.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            let concrete = path
                .replace("{item}", "dms")
                .replace("{id}", "vdi-1")
                .replace("{agency}", "vdi")
                .replace("{name}", "x");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = portal.api(None, method.clone(), &format!("/api{concrete}"), None).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} is documented but answered {}",
                answer.status
            );
        }
    }
    let router = include_str!("../src/web/api/mod.rs");
    let route = regex::Regex::new(r#"\.route\("([^"]+)""#).unwrap();
    for captures in route.captures_iter(router) {
        let path = &captures[1];
        assert!(path == "/openapi.json" || paths.contains_key(path), "route {path} is not in the OpenAPI document");
    }
}

#[tokio::test]
async fn tokens_authenticate_until_revoked_and_bad_tokens_get_a_json_401() {
    let portal = portal().await;
    let anna = portal.sign_in("anna").await;
    let token = portal.token(&anna).await;
    let ok = portal.api(Some(&token), Method::GET, "/api/v1/catalog", None).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok.json()["items"].as_array().unwrap().len() >= 6);
    let bad = portal.api(Some("mkt_nonsense.0000"), Method::GET, "/api/v1/catalog", None).await;
    assert_eq!((bad.status, bad.json()["code"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_token")));
    let id = token.trim_start_matches("mkt_").split('.').next().unwrap().to_string();
    let revoked = portal.post(&anna, &format!("/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert_eq!(portal.api(Some(&token), Method::GET, "/api/v1/catalog", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_order_through_the_api_is_checked_like_the_forms_with_json_pointer_paths() {
    let portal = portal().await;
    let token = token_of(&portal, "anna").await;
    let order = |body: Value| portal.api(Some(&token), Method::POST, "/api/v1/requests", Some(body));

    let bad_parameter = order(json!({"agency": "vdi", "catalogItem": "postgresql", "plan": "small", "instance": "db", "parameters": {"maxConnections": "many"}})).await;
    assert_eq!(bad_parameter.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = bad_parameter.json()["errors"].clone();
    assert_eq!(errors[0]["path"], "/parameters/maxConnections", "{errors}");

    let bad_plan = order(json!({"agency": "vdi", "catalogItem": "postgresql", "plan": "huge", "instance": "db"})).await;
    assert_eq!(bad_plan.json()["errors"][0]["path"], "/plan");
    let bad_name =
        order(json!({"agency": "vdi", "catalogItem": "postgresql", "plan": "small", "instance": "Nav Derīgs"})).await;
    assert_eq!(bad_name.json()["errors"][0]["path"], "/instance");
    let unknown_item = order(json!({"agency": "vdi", "catalogItem": "nav", "plan": "small", "instance": "db"})).await;
    assert_eq!(unknown_item.status, StatusCode::NOT_FOUND);

    let good = order(json!({"agency": "vdi", "catalogItem": "postgresql", "plan": "small", "instance": "db"})).await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.body);
    let request = &good.json()["request"];
    assert_eq!(
        (request["state"].as_str(), request["parameters"]["databaseName"].as_str()),
        (Some("awaiting_agency"), Some("app")),
        "defaults applied"
    );
    let again = order(json!({"agency": "vdi", "catalogItem": "postgresql", "plan": "small", "instance": "db"})).await;
    assert_eq!(again.json()["errors"][0]["path"], "/instance", "the name is taken by the pending order");
}

#[tokio::test]
async fn malformed_bodies_get_clear_json_errors_and_never_a_5xx() {
    let portal = portal().await;
    let token = token_of(&portal, "anna").await;
    let cases: [(&str, Option<&str>, StatusCode, &str); 6] = [
        (
            r#"{"agency": 5, "catalogItem": "dms", "plan": "small", "instance": "x"}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "agency",
        ),
        (
            r#"{"agency": "vdi", "catalogItem": "dms", "plan": "small", "instance": "x", "colour": "red"}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "colour",
        ),
        (r#"{"agency": "vdi""#, Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "EOF"),
        (
            r#"agency=vdi"#,
            Some("application/x-www-form-urlencoded"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "application/json",
        ),
        (
            r#"{"agency": "vdi", "catalogItem": "dms", "plan": "small", "instance": "x", "kind": "explode"}"#,
            Some("application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "order or resize",
        ),
        ("[]", Some("application/json"), StatusCode::UNPROCESSABLE_ENTITY, "struct"),
    ];
    for (body, content_type, status, mention) in cases {
        let mut request =
            axum::http::Request::post("/api/v1/requests").header("authorization", format!("Bearer {token}"));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let answer = portal.send(request.body(axum::body::Body::from(body.to_string())).unwrap()).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        let json = answer.json();
        assert_eq!(json["code"], "invalid", "{body}");
        assert!(answer.body.contains(mention), "{body}: the error should mention {mention}: {}", answer.body);
    }
    let huge = json!({"agency": "vdi", "catalogItem": "dms", "plan": "small", "instance": "x", "parameters": {"title": "x".repeat(400_000)}});
    let answer = portal.api(Some(&token), Method::POST, "/api/v1/requests", Some(huge)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    let decision =
        portal.api(Some(&token), Method::POST, "/api/v1/requests/vdi-1/approve", Some(json!({"comment": 7}))).await;
    assert_eq!(decision.status, StatusCode::UNPROCESSABLE_ENTITY);
    let state = portal.api(Some(&token), Method::GET, "/api/v1/requests?state=done", None).await;
    assert_eq!(state.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", state.body);
}

#[tokio::test]
async fn bad_form_input_is_answered_with_the_form_again_or_a_clear_page_never_a_5xx() {
    let portal = portal().await;
    let anna = portal.sign_in("anna").await;
    let long = "ā".repeat(3000);
    let cases: [(&str, Vec<(&str, &str)>); 8] = [
        ("/tokens", vec![("name", "x"), ("days", "abc")]),
        ("/tokens", vec![("name", ""), ("days", "5")]),
        ("/tokens", vec![("name", long.as_str()), ("days", "5")]),
        ("/language", vec![("lang", "de")]),
        (
            "/catalog/dms/order",
            vec![
                ("agency", "vdi"),
                ("plan", "small"),
                ("instance", "x"),
                ("/retentionYears", "many"),
                ("action", "review"),
            ],
        ),
        (
            "/catalog/dms/order",
            vec![("agency", "vdi"), ("plan", "nav"), ("instance", long.as_str()), ("action", "submit")],
        ),
        ("/catalog/nav/order", vec![("agency", "vdi"), ("plan", "small")]),
        ("/requests/vdi-99/approve", vec![("comment", long.as_str())]),
    ];
    for (path, pairs) in cases {
        let answer = portal.post(&anna, path, &pairs).await;
        assert!(answer.status.is_client_error(), "{path} {pairs:?}: {}", answer.status);
        assert!(
            answer.body.contains("<html") || answer.body.contains("\"code\""),
            "{path}: a page or JSON, not a bare text"
        );
    }
    let order = portal
        .post(
            &anna,
            "/catalog/dms/order",
            &[
                ("agency", "vdi"),
                ("plan", "small"),
                ("instance", "x"),
                ("/retentionYears", "many"),
                ("action", "review"),
            ],
        )
        .await;
    assert_eq!(order.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(order.body.contains(r#"value="many""#), "what the user typed is kept");
    let oversized = format!("_csrf={}&name={}", anna.csrf, "x".repeat(300_000));
    assert_eq!(portal.post_raw(Some(&anna.cookie), "/tokens", &oversized).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}
