//! Threats: audit (see docs/security/threat-model.md, "The audit trail"). The portal on
//! both databases (SQLite and a real PostgreSQL), through its real router; the trail's
//! check through the real `makonis` binary; the worker against the real control plane.

use std::{process::Output, sync::Arc};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api,
    api::{DeleteParams, ObjectMeta, PostParams},
};
use makonis_api::{
    catalog::{Approval, ServiceInstance, ServiceInstanceSpec},
    tenancy::namespace_for_code,
};
use makonis_portal::{
    cluster::ClusterView,
    context::{Context, PortalConfig},
    identity::{Identity, IdentitySource},
    store::{
        Backend, Store,
        audit::{AuditEvent, AuditQuery, AuditRecord},
        audit_chain::link_hash,
        requests::{NewRequest, RequestFilter},
    },
    worker,
    workflow::{RequestKind, RequestState, Reservation},
};
use serde_json::json;
use sqlx::Row;

use crate::{
    portal_support::{
        portal::{Browser, PASSWORD, TestPortal, cookie_value, hidden_csrf},
        postgres_database, postgres_store_at, sqlite_store_at,
    },
    support::{
        agencies::{TEST_LABEL, unique_id},
        cluster::{admin_client, install_platform},
    },
};

/// An instance of agency `agency` in the portal's view.
fn instance(agency: &str, name: &str) -> ServiceInstance {
    let mut instance = ServiceInstance::new(
        name,
        ServiceInstanceSpec { catalog_item: "postgresql".into(), plan: "small".into(), parameters: json!({}) },
    );
    instance.metadata.namespace = Some(namespace_for_code(agency));
    instance.metadata.generation = Some(1);
    instance
}

/// A fresh store on each database, with its URL.
async fn both_stores_at() -> Vec<(&'static str, Store, String)> {
    let (sqlite, sqlite_url) = sqlite_store_at().await;
    let (postgres, postgres_url) = postgres_store_at().await;
    vec![("sqlite", sqlite, sqlite_url), ("postgres", postgres, postgres_url)]
}

/// Makes every insert into the trail fail, as a full disk or a broken table would.
async fn refuse_audit_writes(store: &Store) {
    let statements: &[&str] = match store.backend() {
        Backend::Sqlite => &["CREATE TRIGGER audit_refused BEFORE INSERT ON audit_events \
             BEGIN SELECT RAISE(ABORT, 'the audit trail refuses writes'); END"],
        Backend::Postgres => &[
            "CREATE FUNCTION audit_refused() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'the audit trail refuses writes'; END $$",
            "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_refused()",
        ],
    };
    for statement in statements {
        sqlx::raw_sql(statement).execute(store.pool()).await.expect("refuse audit writes");
    }
}

async fn allow_audit_writes(store: &Store) {
    let statement = match store.backend() {
        Backend::Sqlite => "DROP TRIGGER audit_refused",
        Backend::Postgres => "DROP TRIGGER audit_refused ON audit_events",
    };
    sqlx::raw_sql(statement).execute(store.pool()).await.expect("allow audit writes");
}

/// How many rows the intact trail has.
async fn chained_rows(store: &Store) -> i64 {
    store.verify_audit(None).await.unwrap().expect("the trail is intact").rows
}

/// What the portal's database holds of requests, `user`'s tokens: what no refused action
/// may change.
async fn state_of(store: &Store, user: &str) -> String {
    let requests = store.requests(&RequestFilter { limit: 1000, ..Default::default() }).await.unwrap();
    let tokens = store.tokens_of(user).await.unwrap();
    format!(
        "{:?} {:?}",
        requests.iter().map(|r| (r.id.clone(), r.state)).collect::<Vec<_>>(),
        tokens.iter().map(|t| (t.id.clone(), t.revoked_at)).collect::<Vec<_>>()
    )
}

#[tokio::test]
async fn an_action_whose_audit_record_cannot_be_written_is_not_done() {
    for (db, store, _) in both_stores_at().await {
        let portal = TestPortal::new(store, vec![instance("vdi", "vdi-db")]).await;
        let store = &portal.context.store;
        let anna = portal.sign_in("anna").await;
        let janis = portal.sign_in("janis").await;
        let admin = portal.sign_in("admin").await;
        let anna_token = portal.token(&anna).await;
        let janis_token = portal.token(&janis).await;
        let admin_token = portal.token(&admin).await;
        for name in ["waits-1", "waits-2"] {
            let order = [("agency", "vdi"), ("plan", "small"), ("instance", name)];
            let answer = portal.order(&anna, "postgresql", &order, "submit").await;
            assert_eq!(answer.status, StatusCode::SEE_OTHER, "{db}: {}", answer.body);
        }
        let token_id = store.tokens_of("anna").await.unwrap()[0].id.clone();
        let before = state_of(store, "anna").await;
        let rows = chained_rows(store).await;

        refuse_audit_writes(store).await;
        let order = json!({"agency": "vdi", "catalogItem": "postgresql", "plan": "small", "instance": "api-new"});
        let retire = json!({"confirmation": "vdi-db"});
        let refused = [
            (
                "page order",
                portal.order(&anna, "postgresql", &[("agency", "vdi"), ("instance", "new")], "submit").await,
            ),
            ("api order", portal.api(Some(&anna_token), Method::POST, "/api/v1/requests", Some(order)).await),
            ("page approve", portal.post(&janis, "/requests/vdi-1/approve", &[("comment", "")]).await),
            ("api reject", {
                let body = json!({"comment": "nē"});
                portal.api(Some(&janis_token), Method::POST, "/api/v1/requests/vdi-1/reject", Some(body)).await
            }),
            ("page cancel", portal.post(&anna, "/requests/vdi-2/cancel", &[]).await),
            ("api cancel", portal.api(Some(&anna_token), Method::POST, "/api/v1/requests/vdi-2/cancel", None).await),
            ("own approval (a refusal)", portal.post(&anna, "/requests/vdi-1/approve", &[("comment", "")]).await),
            (
                "page resize",
                portal.post(&anna, "/services/vdi/vdi-db/resize", &[("plan", "medium"), ("action", "submit")]).await,
            ),
            ("page retire", portal.post(&anna, "/services/vdi/vdi-db/retire", &[("confirmation", "vdi-db")]).await),
            ("api retire", {
                portal.api(Some(&anna_token), Method::POST, "/api/v1/services/vdi/vdi-db/retire", Some(retire)).await
            }),
            ("sign in", portal.try_sign_in("janis", PASSWORD).await.expect_err("no session without its record")),
            ("failed sign-in", portal.try_sign_in("janis", "wrong").await.expect_err("refused")),
            ("sign out", portal.post(&anna, "/logout", &[]).await),
            ("new token", portal.post(&anna, "/tokens", &[("name", "x"), ("days", "3")]).await),
            ("revoke token", portal.post(&anna, &format!("/tokens/{token_id}/revoke"), &[]).await),
            ("read the trail", portal.get(Some(&admin), "/audit").await),
            ("export the trail", portal.get(Some(&admin), "/audit.csv").await),
            ("read the trail by API", portal.api(Some(&admin_token), Method::GET, "/api/v1/audit", None).await),
            ("a refused reading", portal.api(Some(&anna_token), Method::GET, "/api/v1/audit", None).await),
            ("export an SLA report", portal.get(Some(&admin), "/reports/sla.csv").await),
        ];
        allow_audit_writes(store).await;

        for (what, answer) in refused {
            assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{db}: {what}: {}", answer.body);
            if answer.headers.get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"application/json")) {
                assert_eq!(answer.json()["code"], "audit_unavailable", "{db}: {what}");
            } else {
                assert!(
                    answer.body.contains("Nekas netika izdarīts"),
                    "{db}: {what}: a clear page, not an internal error"
                );
            }
        }
        assert_eq!(state_of(store, "anna").await, before, "{db}: no request, decision or token change remains");
        assert_eq!(chained_rows(store).await, rows, "{db}: and no record of it");
        let still = portal.get(Some(&anna), "/tokens").await;
        assert_eq!(still.status, StatusCode::OK, "{db}: the session that could not be ended is still there");
        let usable = portal.api(Some(&anna_token), Method::GET, "/api/v1/requests", None).await;
        assert_eq!(usable.status, StatusCode::OK, "{db}: the token that could not be revoked still works");
    }
}

/// Signs `user` in through the form with `User-Agent: agent`, returning the session's
/// cookie header and token.
async fn sign_in_as(portal: &TestPortal, user: &str, agent: &str) -> (String, String) {
    let (login_name, session_name) = (portal.cookie_name("makonis_login"), portal.cookie_name("makonis_session"));
    let form = portal.get(None, "/login").await;
    let login = cookie_value(&form.headers, &login_name).expect("the login form's cookie");
    let body =
        serde_urlencoded::to_string([("_csrf", login.as_str()), ("username", user), ("password", PASSWORD)]).unwrap();
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("{login_name}={login}"))
        .header(header::USER_AGENT, agent)
        .body(Body::from(body))
        .unwrap();
    let answer = portal.send(request).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    let token = cookie_value(&answer.headers, &session_name).expect("a session");
    (format!("{session_name}={token}"), token)
}

async fn records(store: &Store, actor: &str) -> Vec<AuditEvent> {
    let query = AuditQuery { actor: Some(actor.into()), limit: 100, ..Default::default() };
    store.audit_events(&query).await.unwrap().into_iter().map(|r: AuditRecord| r.event).collect()
}

#[tokio::test]
async fn every_record_names_its_session_or_token_and_user_agent() {
    let (store, _) = sqlite_store_at().await;
    let portal = TestPortal::new(store, Vec::new()).await;
    let (cookie, cookie_token) = sign_in_as(&portal, "anna", "Mozilla/5.0 (X11; Linux) Firefox/128.0").await;
    let page = portal.get(Some(&Browser { cookie: cookie.clone(), csrf: String::new() }), "/tokens").await;
    let csrf = hidden_csrf(&page.body).expect("a form with a CSRF token");
    let form = serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("name", "ci"), ("days", "7")]).unwrap();
    let created = portal
        .send(
            Request::post("/tokens")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &cookie)
                .header(header::USER_AGENT, "Mozilla/5.0 (X11; Linux) Firefox/128.0")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let start = created.body.find("mkt_").expect("the secret");
    let secret: String =
        created.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect();
    let order = json!({"agency": "vdi", "catalogItem": "postgresql", "plan": "small", "instance": "ar-api"});
    let by_api = portal
        .send(
            Request::post("/api/v1/requests")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::USER_AGENT, "curl/8.5.0")
                .body(Body::from(order.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(by_api.status, StatusCode::CREATED, "{}", by_api.body);

    let trail = records(&portal.context.store, "anna").await;
    let find = |action: &str| {
        trail.iter().find(|e| e.action == action).unwrap_or_else(|| panic!("{action} is recorded: {trail:?}"))
    };
    let opened = portal
        .context
        .store
        .session(&cookie_token, makonis_portal::store::now_ms())
        .await
        .unwrap()
        .expect("a live session");
    let session = format!("s-{}", opened.id);
    let signed_in = find("sign_in");
    assert_eq!(
        (signed_in.session_id.as_str(), signed_in.user_agent.as_str()),
        (session.as_str(), "Mozilla/5.0 (X11; Linux) Firefox/128.0")
    );
    assert_eq!(find("create_token").session_id, session, "the action names the session it came through");
    let ordered = find("order");
    assert_eq!((ordered.session_id.as_str(), ordered.user_agent.as_str()), (token_id(&secret).as_str(), "curl/8.5.0"));
    assert_eq!(ordered.source_ip, "192.0.2.7");
    assert!(
        !trail.iter().any(|e| e.session_id.contains(&cookie_token) || e.session_id.contains(&secret)),
        "never a secret"
    );
}

#[tokio::test]
async fn reading_the_audit_trail_is_itself_recorded() {
    for (db, store, _) in both_stores_at().await {
        let portal = TestPortal::new(store, Vec::new()).await;
        let admin = portal.sign_in("admin").await;
        let officer = portal.sign_in("vdi-admin").await;
        let nobody = portal.sign_in("nobody").await;
        let token = portal.token(&admin).await;

        let page = portal.get(Some(&admin), "/audit?actor=admin").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("<td>read_audit</td>"), "{db}: the page shows its own reading");
        assert_eq!(portal.get(Some(&admin), "/audit.csv").await.status, StatusCode::OK);
        assert_eq!(portal.api(Some(&token), Method::GET, "/api/v1/audit", None).await.status, StatusCode::OK);
        assert_eq!(portal.get(Some(&officer), "/audit?agency=vdi").await.status, StatusCode::OK);
        assert_eq!(portal.get(Some(&nobody), "/audit").await.status, StatusCode::FORBIDDEN);

        let admin_reads: Vec<_> = records(&portal.context.store, "admin")
            .await
            .into_iter()
            .filter(|e| e.action.ends_with("_audit"))
            .map(|e| (e.action, e.object, e.outcome, e.detail))
            .collect();
        for expected in [
            ("read_audit", "audit all", "success", "page actor=admin"),
            ("export_audit", "audit all", "success", "csv"),
            ("read_audit", "audit all", "success", "api"),
        ] {
            let expected =
                (expected.0.to_string(), expected.1.to_string(), expected.2.to_string(), expected.3.to_string());
            assert!(admin_reads.contains(&expected), "{db}: {expected:?} in {admin_reads:?}");
        }
        let officer_read = &records(&portal.context.store, "vdi-admin").await[0];
        assert_eq!(
            (officer_read.action.as_str(), officer_read.agency.as_deref(), officer_read.outcome.as_str()),
            ("read_audit", Some("vdi"), "success"),
            "{db}: recorded under the agency read, for its own officers to see"
        );
        let refused = &records(&portal.context.store, "nobody").await[0];
        assert_eq!((refused.action.as_str(), refused.outcome.as_str()), ("read_audit", "denied"), "{db}");
    }
}

/// Runs `makonis portal verify-audit` against `url`.
fn verify_audit(url: &str, anchor: Option<&str>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_makonis"));
    command.args(["portal", "verify-audit", "--database-url", url]).env_remove("MAKONIS_DATABASE_URL");
    if let Some(anchor) = anchor {
        command.args(["--anchor", anchor]);
    }
    command.output().expect("makonis runs")
}

fn event(n: usize) -> AuditEvent {
    AuditEvent {
        at: 1_700_000_000_000 + n as i64,
        actor: format!("user{n}"),
        agency: Some("vdi".into()),
        action: "approve".into(),
        object: format!("request vdi-{n}"),
        outcome: "success".into(),
        source_ip: "192.0.2.7".into(),
        session_id: format!("s-{n:016}"),
        user_agent: "Firefox".into(),
        detail: String::new(),
    }
}

/// The stored rows, by seq: (seq, id, hash).
async fn rows(store: &Store) -> Vec<(i64, String, String)> {
    let rows =
        sqlx::query("SELECT seq, id, hash FROM audit_events ORDER BY seq").fetch_all(store.pool()).await.unwrap();
    rows.iter().map(|r| (r.get("seq"), r.get("id"), r.get("hash"))).collect()
}

#[tokio::test]
async fn edited_deleted_reordered_or_added_audit_rows_are_named_by_verify_audit() {
    // (what is done directly in SQL, the statements, what the check must say)
    let cases: [(&str, &[&str], &str); 7] = [
        ("an edited actor", &["UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"], "row 3 (id"),
        ("an earlier time", &["UPDATE audit_events SET at = at - 60000 WHERE seq = 5"], "row 5 (id"),
        ("a deleted row", &["DELETE FROM audit_events WHERE seq = 4"], "row 4 is missing"),
        ("the deleted last row", &["DELETE FROM audit_events WHERE seq = 6"], "row 6 is missing"),
        (
            "two rows swapped",
            &[
                "UPDATE audit_events SET seq = -2 WHERE seq = 2",
                "UPDATE audit_events SET seq = 2 WHERE seq = 5",
                "UPDATE audit_events SET seq = 5 WHERE seq = -2",
            ],
            "row 2 (id",
        ),
        (
            "a row added around the chain",
            &["INSERT INTO audit_events (id, at, actor, agency, action, object, outcome, source_ip, detail) \
               VALUES ('forged', 1, 'admin', 'vdi', 'approve', 'request vdi-9', 'success', '10.0.0.1', '')"],
            "row id forged",
        ),
        (
            "a row added beyond the head",
            &[
                "INSERT INTO audit_events (seq, id, at, actor, agency, action, object, outcome, source_ip, detail, hash) \
               VALUES (9, 'later', 1, 'admin', 'vdi', 'approve', 'request vdi-9', 'success', '10.0.0.1', '', 'x')",
            ],
            "row 9 (id later) lies beyond",
        ),
    ];
    for (what, statements, named) in cases {
        for (db, store, url) in both_stores_at().await {
            for n in 1..=6 {
                store.audit(&event(n)).await.unwrap();
            }
            let intact = verify_audit(&url, None);
            assert!(intact.status.success(), "{db}: {}", String::from_utf8_lossy(&intact.stderr));
            assert!(String::from_utf8_lossy(&intact.stdout).contains("intact: 6 rows"), "{db}");
            for statement in statements {
                sqlx::query(statement).execute(store.pool()).await.unwrap_or_else(|e| panic!("{db}: {statement}: {e}"));
            }
            let broken = verify_audit(&url, None);
            let said = String::from_utf8_lossy(&broken.stderr);
            assert_eq!(broken.status.code(), Some(2), "{db}: {what}: {said}");
            assert!(said.contains(named), "{db}: {what}: the check names the row: {said}");
        }
    }
}

#[tokio::test]
async fn a_trail_rewritten_with_recomputed_hashes_is_caught() {
    for (db, store, url) in both_stores_at().await {
        for n in 1..=5 {
            store.audit(&event(n)).await.unwrap();
        }
        let chain = rows(&store).await;
        let anchor = format!("{}:{}", chain[1].0, chain[1].2);

        // One row rewritten by someone who knows the encoding: the next row no longer follows.
        let mut forged = event(3);
        forged.outcome = "denied".into();
        let hash = link_hash(&chain[1].2, 3, &chain[2].1, &forged);
        sqlx::query("UPDATE audit_events SET outcome = 'denied', hash = $1 WHERE seq = 3")
            .bind(&hash)
            .execute(store.pool())
            .await
            .unwrap();
        let broken = verify_audit(&url, None);
        let said = String::from_utf8_lossy(&broken.stderr);
        assert_eq!(broken.status.code(), Some(2), "{db}: {said}");
        assert!(said.contains("row 4 (id") && said.contains("row 3 was rewritten"), "{db}: {said}");

        // Every row from 2 on rewritten, the head moved along: consistent in itself, but
        // not with the anchor an earlier check printed.
        let mut previous = chain[0].2.clone();
        for (seq, id, _) in &chain[1..] {
            let mut rewritten = event(*seq as usize);
            rewritten.actor = "mallory".into();
            let hash = link_hash(&previous, *seq, id, &rewritten);
            sqlx::query("UPDATE audit_events SET actor = 'mallory', outcome = 'success', hash = $1 WHERE seq = $2")
                .bind(&hash)
                .bind(seq)
                .execute(store.pool())
                .await
                .unwrap();
            previous = hash;
        }
        sqlx::query("UPDATE audit_chain SET hash = $1").bind(&previous).execute(store.pool()).await.unwrap();
        assert!(verify_audit(&url, None).status.success(), "{db}: a full rewrite is consistent in itself");
        let anchored = verify_audit(&url, Some(&anchor));
        let said = String::from_utf8_lossy(&anchored.stderr);
        assert_eq!(anchored.status.code(), Some(2), "{db}: {said}");
        assert!(said.contains("row 2 no longer has the anchored hash"), "{db}: {said}");
    }
}

#[tokio::test]
async fn concurrent_replicas_cannot_fork_the_chain() {
    for (db, store, url) in both_stores_at().await {
        // Two replicas: two pools on the same database, appending at once.
        let replicas = [Arc::new(store), Arc::new(Store::connect(&url).await.unwrap())];
        let tasks: Vec<_> = (0..40)
            .map(|n| {
                let store = Arc::clone(&replicas[n % 2]);
                tokio::spawn(async move {
                    if n % 4 == 0 {
                        store.audit(&event(n)).await
                    } else {
                        let mut tx = store.begin().await?;
                        let new = NewRequest {
                            kind: RequestKind::Order,
                            catalog_item: "postgresql".into(),
                            plan: "small".into(),
                            parameters: json!({}),
                            instance: format!("db-{n}"),
                            requester: "anna".into(),
                            requester_name: "Anna".into(),
                            approval: Approval::AgencyApprover,
                            state: RequestState::AwaitingAgency,
                            reservation: Reservation::default(),
                            monthly_price: "0".into(),
                        };
                        tx.create_request(if n % 3 == 0 { "vdi" } else { "lm" }, 0, |_| Ok::<_, ()>(new))
                            .await?
                            .expect("created");
                        tx.commit(&event(n)).await
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap_or_else(|e| panic!("{db}: every append succeeds: {e}"));
        }
        let summary = replicas[1].verify_audit(None).await.unwrap().unwrap_or_else(|b| panic!("{db}: {b}"));
        assert_eq!(summary.rows, 40, "{db}");
        let seqs: Vec<i64> = rows(&replicas[0]).await.iter().map(|r| r.0).collect();
        assert_eq!(seqs, (1..=40).collect::<Vec<_>>(), "{db}: one order, no gaps");
    }
}

#[tokio::test]
async fn the_portals_database_role_cannot_change_or_remove_audit_rows() {
    let admin = Store::admin_connection(&crate::portal_support::postgres_url()).await.unwrap();
    for role in ["makonis_owner", "makonis_portal", "makonis_auditor"] {
        let exists = sqlx::query("SELECT 1 FROM pg_roles WHERE rolname = $1").bind(role).fetch_optional(&admin).await;
        if exists.unwrap().is_none() {
            sqlx::query(&format!("CREATE ROLE {role} LOGIN")).execute(&admin).await.unwrap();
        }
    }
    let url = postgres_database(Some("makonis_owner")).await;
    let as_role = |role: &str| url.replacen("://postgres@", &format!("://{role}@"), 1);
    let owner = Store::connect(&as_role("makonis_owner")).await.expect("the owner migrates");
    let grants = include_str!("../../portal/grants/postgres.sql");
    sqlx::raw_sql(grants).execute(owner.pool()).await.expect("the documented grants apply");

    // The portal starts without schema rights and appends to the trail.
    let portal = Store::connect(&as_role("makonis_portal")).await.expect("the portal's role starts");
    portal.audit(&event(1)).await.expect("the portal appends");
    let mut tx = portal.begin().await.unwrap();
    tx.create_token(&anna(), &[], "ci", 0, 1).await.unwrap();
    tx.commit(&event(2)).await.expect("an action with its record");

    for statement in [
        "UPDATE audit_events SET actor = 'mallory'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "DELETE FROM audit_chain",
        "ALTER TABLE audit_events DROP COLUMN hash",
        "CREATE TRIGGER rewrite BEFORE INSERT ON audit_events FOR EACH ROW \
         EXECUTE FUNCTION suppress_redundant_updates_trigger()",
        "CREATE TABLE audit_copy (id TEXT)",
    ] {
        let error = sqlx::query(statement).execute(portal.pool()).await.expect_err(statement).to_string();
        assert!(error.contains("permission denied") || error.contains("must be owner"), "{statement}: {error}");
    }
    // Every table of the schema is granted to the portal (a migration's new table too).
    let tables = sqlx::query(
        "SELECT c.relname::text AS tablename FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT has_table_privilege('makonis_portal', c.oid, 'SELECT')",
    )
    .fetch_all(owner.pool())
    .await
    .unwrap();
    let missing: Vec<String> = tables.iter().map(|r| r.get("tablename")).collect();
    assert!(missing.is_empty(), "tables without a grant in portal/grants/postgres.sql: {missing:?}");

    // The auditor checks the trail and can do nothing else.
    let checked = verify_audit(&as_role("makonis_auditor"), None);
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    let auditor = Store::open(&as_role("makonis_auditor")).await.unwrap();
    let error = auditor.audit(&event(3)).await.expect_err("an auditor appends nothing").to_string();
    assert!(error.contains("permission denied"), "{error}");
}

fn anna() -> Identity {
    Identity {
        username: "anna".into(),
        display_name: "Anna".into(),
        email: None,
        groups: vec![],
        source: IdentitySource::Local,
    }
}

#[tokio::test]
async fn the_worker_changes_nothing_in_the_cluster_it_cannot_record() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let code = format!("aud{}", unique_id());
    let namespace = namespace_for_code(&code);
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    let meta = ObjectMeta {
        name: Some(namespace.clone()),
        labels: Some([(TEST_LABEL.to_string(), unique_id())].into()),
        ..Default::default()
    };
    namespaces.create(&PostParams::default(), &Namespace { metadata: meta, ..Default::default() }).await.unwrap();

    let (store, _) = sqlite_store_at().await;
    let context = Context::new(
        store,
        ClusterView::of_objects(vec![], vec![], vec![]),
        Some(admin.clone()),
        PortalConfig::default(),
    );
    let new = NewRequest {
        kind: RequestKind::Order,
        catalog_item: "web".into(),
        plan: "small".into(),
        parameters: json!({}),
        instance: "granted".into(),
        requester: "anna".into(),
        requester_name: "Anna".into(),
        approval: Approval::None,
        state: RequestState::Approved,
        reservation: Reservation::default(),
        monthly_price: "0".into(),
    };
    let mut tx = context.store.begin().await.unwrap();
    let request = tx.create_request(&code, 0, |_| Ok::<_, ()>(new)).await.unwrap().unwrap();
    tx.commit(&event(1)).await.unwrap();
    let instances: Api<ServiceInstance> = Api::namespaced(admin.clone(), &namespace);

    refuse_audit_writes(&context.store).await;
    let swept = worker::sweep(&context).await;
    assert!(swept.is_err(), "the sweep stops at the intent it cannot record");
    assert!(instances.get_opt("granted").await.unwrap().is_none(), "nothing was applied without its record");
    assert_eq!(context.store.request(&request.id).await.unwrap().unwrap().state, RequestState::Approved);

    allow_audit_writes(&context.store).await;
    worker::sweep(&context).await.expect("a sweep");
    assert!(instances.get_opt("granted").await.unwrap().is_some(), "applied once recorded");
    let trail: Vec<_> =
        records(&context.store, "makonis").await.into_iter().map(|e| (e.action, e.outcome)).rev().collect();
    assert_eq!(
        trail,
        [("apply_instance".to_string(), "started".to_string()), ("apply_instance".into(), "success".into())],
        "the intent before, the outcome after"
    );
    namespaces.delete(&namespace, &DeleteParams::default()).await.unwrap();
}

/// The id the trail gives the API token `secret` (`mkt_<id>.<random>`): `t-<id>`, the id
/// its owner sees on the tokens page, never the secret.
fn token_id(secret: &str) -> String {
    let id = secret.strip_prefix("mkt_").and_then(|rest| rest.split_once('.')).map_or("", |(id, _)| id);
    format!("t-{id}")
}
