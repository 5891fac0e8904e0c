//! The portal's storage on both databases it supports: SQLite (the embedded default) and
//! a real PostgreSQL server. Every test runs the same steps on each.

mod support;

use std::sync::Arc;

use makonis_api::catalog::Approval;
use makonis_portal::{
    identity::{Identity, IdentitySource},
    store::{
        Backend, Store, StoreError,
        accounts::Account,
        audit::{AuditEvent, AuditQuery},
        requests::{NewEvent, NewRequest, RequestFilter},
        sessions::Session,
    },
    workflow::{RequestKind, RequestState, Reservation},
};
use serde_json::json;
use support::{both_stores, postgres_database};

fn new_request(instance: &str, cpu: i64) -> NewRequest {
    NewRequest {
        kind: RequestKind::Order,
        catalog_item: "dms".into(),
        plan: "small".into(),
        parameters: json!({"title": "Lietvedība"}),
        instance: instance.into(),
        requester: "anna".into(),
        requester_name: "Anna Bērziņa".into(),
        approval: Approval::AgencyApproverThenPlatform,
        state: RequestState::AwaitingAgency,
        reservation: Reservation { cpu, memory: 0, storage: 0 },
        monthly_price: "120.00".into(),
    }
}

/// The audit record the tests' actions commit with.
fn note(action: &str) -> AuditEvent {
    AuditEvent {
        at: 0,
        actor: "anna".into(),
        agency: Some("vdi".into()),
        action: action.into(),
        object: "request".into(),
        outcome: "success".into(),
        source_ip: "127.0.0.1".into(),
        session_id: "s-1".into(),
        user_agent: "test".into(),
        detail: String::new(),
    }
}

/// Creates the request `build` makes in its own audited transaction.
async fn create<E>(
    store: &Store,
    agency: &str,
    at: i64,
    build: impl FnOnce(&[makonis_portal::store::requests::PendingReservation]) -> Result<NewRequest, E>,
) -> Result<Result<makonis_portal::store::requests::Request, E>, StoreError> {
    let mut tx = store.begin().await?;
    let created = tx.create_request(agency, at, build).await?;
    match &created {
        Ok(_) => tx.commit(&note("order")).await?,
        Err(_) => tx.rollback().await?,
    }
    Ok(created)
}

fn identity(username: &str) -> Identity {
    Identity {
        username: username.into(),
        display_name: "Jānis".into(),
        email: None,
        groups: vec!["VDI-Approvers".into()],
        source: IdentitySource::Local,
    }
}

#[tokio::test]
async fn a_request_is_numbered_per_agency_and_keeps_its_timeline() {
    for (db, store) in both_stores().await {
        let first = create(&store, "vdi", 10, |_| Ok::<_, ()>(new_request("dms-1", 1000))).await.unwrap().unwrap();
        let second = create(&store, "vdi", 11, |_| Ok::<_, ()>(new_request("dms-2", 1000))).await.unwrap().unwrap();
        let other = create(&store, "lm", 12, |_| Ok::<_, ()>(new_request("dms-1", 1000))).await.unwrap().unwrap();
        assert_eq!((first.id.as_str(), second.id.as_str(), other.id.as_str()), ("vdi-1", "vdi-2", "lm-1"), "{db}");
        assert_eq!(first.parameters, json!({"title": "Lietvedība"}), "{db}");
        assert_eq!(first.approval, Approval::AgencyApproverThenPlatform, "{db}");

        let approve = NewEvent { actor: "janis", actor_name: "Jānis", event: "approved", comment: "labi" };
        let mut tx = store.begin().await.unwrap();
        let moved = tx
            .transition("vdi-1", &[RequestState::AwaitingAgency], RequestState::AwaitingPlatform, &approve, "", 20)
            .await
            .unwrap()
            .expect("moved");
        tx.commit(&note("approve")).await.unwrap();
        assert_eq!(moved.state, RequestState::AwaitingPlatform, "{db}");
        let mut tx = store.begin().await.unwrap();
        let again = tx
            .transition("vdi-1", &[RequestState::AwaitingAgency], RequestState::Rejected, &approve, "", 21)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(again, None, "{db}: a request moves on only from the states named");

        let timeline = store.request_events("vdi-1").await.unwrap();
        let events: Vec<_> = timeline.iter().map(|e| (e.seq, e.event.as_str(), e.comment.as_str())).collect();
        assert_eq!(events, [(1, "submitted", ""), (2, "approved", "labi")], "{db}");

        let mine = store
            .requests(&RequestFilter { agencies: Some(vec!["vdi".into()]), limit: 50, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(mine.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["vdi-2", "vdi-1"], "{db}");
        let waiting = store
            .requests(&RequestFilter {
                states: Some(vec![RequestState::AwaitingPlatform]),
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(waiting.len(), 1, "{db}");
        let none = store.requests(&RequestFilter { agencies: Some(vec![]), limit: 50, ..Default::default() }).await;
        assert!(none.unwrap().is_empty(), "{db}: no agencies means no requests, not all of them");
    }
}

#[tokio::test]
async fn concurrent_requests_cannot_together_take_more_than_the_quota() {
    for (db, store) in both_stores().await {
        let store = Arc::new(store);
        // The quota holds 4 cores; 12 simultaneous orders of 1 core each.
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let request = new_request(&format!("web-{i}"), 1000);
                    create(&store, "vdi", 100 + i, |pending| {
                        let used: i64 = pending.iter().map(|p| p.reservation.cpu).sum();
                        if used + 1000 <= 4000 { Ok(request) } else { Err(used) }
                    })
                    .await
                    .expect("storage works")
                })
            })
            .collect();
        let mut granted = 0;
        for task in tasks {
            if task.await.unwrap().is_ok() {
                granted += 1;
            }
        }
        assert_eq!(granted, 4, "{db}: exactly the quota's worth of orders is granted");
        let all = store.requests(&RequestFilter { limit: 100, ..Default::default() }).await.unwrap();
        assert_eq!(all.len(), 4, "{db}: refused orders leave no rows");
    }
}

#[tokio::test]
async fn sessions_expire_and_end() {
    for (db, store) in both_stores().await {
        let session = Session {
            id: "s1".into(),
            identity: identity("janis"),
            csrf_token: "csrf".into(),
            expires_at: 1_000,
            checked_at: 0,
        };
        let mut tx = store.begin().await.unwrap();
        tx.create_session("token-1", &session, "127.0.0.1", "test", 0).await.unwrap();
        tx.commit(&note("sign_in")).await.unwrap();
        assert_eq!(store.session("token-1", 999).await.unwrap(), Some(session.clone()), "{db}");
        assert_eq!(store.session("token-1", 1_000).await.unwrap(), None, "{db}: expired");
        assert_eq!(store.session("token-2", 0).await.unwrap(), None, "{db}: unknown");
        assert_eq!(store.purge_sessions(1_000).await.unwrap(), 1, "{db}");
        let mut tx = store.begin().await.unwrap();
        tx.create_session("token-3", &session, "127.0.0.1", "test", 0).await.unwrap();
        tx.commit(&note("sign_in")).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.delete_session("token-3").await.unwrap();
        tx.commit(&note("sign_out")).await.unwrap();
        assert_eq!(store.session("token-3", 0).await.unwrap(), None, "{db}: signed out");
    }
}

#[tokio::test]
async fn tokens_act_for_their_owner_until_revoked_or_expired() {
    for (db, store) in both_stores().await {
        let agencies = ["vdi".to_string()];
        let mut tx = store.begin().await.unwrap();
        let (info, secret) = tx.create_token(&identity("janis"), &agencies, "ci", 0, 1_000).await.unwrap();
        tx.commit(&note("create_token")).await.unwrap();
        assert!(secret.starts_with("mkt_") && secret.contains(&info.id), "{db}");
        let acting = store.token(&secret, 10).await.unwrap().expect("a live token");
        assert_eq!((acting.username.as_str(), acting.checked_at), ("janis", 0), "{db}");
        assert!(acting.use_is_news("192.0.2.7", 15), "{db}: never used");
        assert_eq!(acting.identity.map(|i| i.source), Some(IdentitySource::Local), "{db}");
        assert_eq!(store.token(&secret, 1_000).await.unwrap(), None, "{db}: expired");
        assert_eq!(store.token("mkt_x.y", 10).await.unwrap(), None, "{db}: unknown");
        store.token_used(&info.id, "192.0.2.7", 15).await.unwrap();
        let listed = &store.agency_tokens("vdi").await.unwrap()[0];
        assert_eq!((listed.last_used_at, listed.last_used_ip.as_deref()), (Some(15), Some("192.0.2.7")), "{db}");
        let used = store.token(&secret, 20).await.unwrap().unwrap();
        assert!(!used.use_is_news("192.0.2.7", 20) && used.use_is_news("192.0.2.8", 20), "{db}: a minute, one address");
        assert!(store.agency_tokens("lm").await.unwrap().is_empty(), "{db}: listed under its agencies only");
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.revoke_token("anna", &info.id, 20).await.unwrap(), "{db}: only the owner revokes");
        assert!(!tx.revoke_agency_token("lm", &info.id, "lm-admin", 20).await.unwrap(), "{db}: not lm's");
        assert!(tx.revoke_token("janis", &info.id, 20).await.unwrap(), "{db}");
        tx.commit(&note("revoke_token")).await.unwrap();
        assert_eq!(store.token(&secret, 30).await.unwrap(), None, "{db}: revoked");
        assert_eq!(store.tokens_of("janis").await.unwrap()[0].revoked_at, Some(20), "{db}");
    }
}

#[tokio::test]
async fn the_audit_trail_is_listed_per_agency_newest_first() {
    for (db, store) in both_stores().await {
        for (at, agency, action) in
            [(1, Some("vdi"), "order"), (2, Some("lm"), "order"), (3, None, "sign_in"), (4, Some("vdi"), "approve")]
        {
            let event = AuditEvent {
                at,
                actor: "anna".into(),
                agency: agency.map(Into::into),
                action: action.into(),
                object: "request".into(),
                outcome: "success".into(),
                source_ip: "127.0.0.1".into(),
                session_id: "t-1".into(),
                user_agent: "curl/8".into(),
                detail: String::new(),
            };
            store.audit(&event).await.unwrap();
        }
        let vdi = store
            .audit_events(&AuditQuery { agencies: Some(vec!["vdi".into()]), limit: 10, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(vdi.iter().map(|e| e.event.at).collect::<Vec<_>>(), [4, 1], "{db}");
        assert_eq!(vdi.iter().map(|e| e.seq).collect::<Vec<_>>(), [Some(4), Some(1)], "{db}: in the chain's order");
        assert_eq!((vdi[0].event.session_id.as_str(), vdi[0].event.user_agent.as_str()), ("t-1", "curl/8"), "{db}");
        let all = store.audit_events(&AuditQuery { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(all.len(), 4, "{db}");
        let paged = store.audit_events(&AuditQuery { before: Some(3), limit: 1, ..Default::default() }).await.unwrap();
        assert_eq!(paged.iter().map(|e| e.event.at).collect::<Vec<_>>(), [2], "{db}");
        let none = store.audit_events(&AuditQuery { agencies: Some(vec![]), limit: 10, ..Default::default() }).await;
        assert!(none.unwrap().is_empty(), "{db}");
    }
}

#[tokio::test]
async fn accounts_and_preferences_are_kept() {
    for (db, store) in both_stores().await {
        let account = Account {
            username: "admin".into(),
            password_hash: "$argon2id$…".into(),
            display_name: "Platformas administrators".into(),
            email: Some("admin@lm.test".into()),
            groups: vec!["Makonis-Platform-Admins".into()],
        };
        store.put_account(&account, 0).await.unwrap();
        store.put_account(&account, 1).await.unwrap();
        assert_eq!(store.account("admin").await.unwrap(), Some(account), "{db}");
        assert_eq!(store.account_count().await.unwrap(), 1, "{db}");
        assert_eq!(store.language("admin").await.unwrap(), None, "{db}");
        store.set_language("admin", "en").await.unwrap();
        store.set_language("admin", "lv").await.unwrap();
        assert_eq!(store.language("admin").await.unwrap().as_deref(), Some("lv"), "{db}");
    }
}

#[tokio::test]
async fn the_store_reports_its_backend_and_answers_pings() {
    for (db, store) in both_stores().await {
        store.ping().await.unwrap();
        let expected = if db == "sqlite" { Backend::Sqlite } else { Backend::Postgres };
        assert_eq!(store.backend(), expected);
    }
}

#[tokio::test]
async fn audit_rows_written_before_the_chain_are_chained_when_the_schema_is_brought_up_to_date() {
    let sqlite_dir =
        std::env::temp_dir().join(format!("makonis-portal-upgrade-{}", makonis_portal::store::random_id(6)));
    std::fs::create_dir_all(&sqlite_dir).unwrap();
    let databases = [
        ("sqlite", format!("sqlite://{}/portal.db?mode=rwc", sqlite_dir.display())),
        ("postgres", postgres_database(None).await),
    ];
    // The schema as it was before the chain: the first two migrations.
    let old = sqlite_dir.join("old-migrations");
    std::fs::create_dir_all(&old).unwrap();
    for file in ["0001_portal.sql", "0002_sla_ledger.sql"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(file);
        std::fs::copy(path, old.join(file)).unwrap();
    }
    for (db, url) in databases {
        let pool = Store::admin_connection(&url).await.unwrap();
        sqlx::migrate::Migrator::new(old.as_path()).await.unwrap().run(&pool).await.unwrap();
        for (id, at) in [("b", 2), ("a", 1), ("c", 2)] {
            sqlx::query(
                "INSERT INTO audit_events (id, at, actor, agency, action, object, outcome, source_ip, detail) \
                 VALUES ($1, $2, 'anna', 'vdi', 'order', 'request vdi-1', 'success', '127.0.0.1', '')",
            )
            .bind(id)
            .bind(at)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;

        let store = Store::connect(&url).await.unwrap();
        let summary = store.verify_audit(None).await.unwrap().unwrap_or_else(|b| panic!("{db}: {b}"));
        assert_eq!(summary.rows, 3, "{db}");
        let listed = store.audit_events(&AuditQuery { limit: 10, ..Default::default() }).await.unwrap();
        let order: Vec<_> = listed.iter().rev().map(|r| (r.seq, r.id.as_str())).collect();
        assert_eq!(order, [(Some(1), "a"), (Some(2), "b"), (Some(3), "c")], "{db}: oldest first, ties by id");
        store.audit(&note("approve")).await.unwrap();
        let again = Store::connect(&url).await.unwrap();
        assert_eq!(again.verify_audit(None).await.unwrap().map(|s| s.rows), Ok(4), "{db}: chained once, then appended");
    }
}

#[tokio::test]
async fn a_security_incident_is_opened_once_per_alert_scoped_and_resolved_with_it() {
    use makonis_portal::store::security_incidents::SecurityIncident;
    for (db, store) in both_stores().await {
        let incident = |alert: &str, agency: &str, row: i64| SecurityIncident {
            id: SecurityIncident::id_for(alert),
            agency: agency.into(),
            rule: "SSH brute force".into(),
            severity: "high".into(),
            summary: "SSH brute force (source.ip=192.0.2.7)".into(),
            opened_at: 1_000 + row,
            resolved_at: None,
            alert_id: alert.into(),
            alert_row: row,
        };
        assert_eq!(store.last_security_alert_row().await.unwrap(), 0, "{db}");
        assert!(store.open_security_incident(&incident("a1", "lm", 4)).await.unwrap(), "{db}");
        assert!(!store.open_security_incident(&incident("a1", "lm", 4)).await.unwrap(), "{db}: once per alert");
        assert!(store.open_security_incident(&incident("a2", "", 9)).await.unwrap(), "{db}");
        assert_eq!(store.last_security_alert_row().await.unwrap(), 9, "{db}");
        let lm = store.security_incidents(Some(&["lm".to_owned()]), 10).await.unwrap();
        assert_eq!(lm.iter().map(|i| i.alert_id.as_str()).collect::<Vec<_>>(), ["a1"], "{db}");
        assert!(store.security_incidents(Some(&[]), 10).await.unwrap().is_empty(), "{db}");
        assert_eq!(store.security_incidents(None, 10).await.unwrap().len(), 2, "{db}: the platform's too");
        store.resolve_security_incident("a1", Some(5_000)).await.unwrap();
        assert_eq!(store.security_incident_of("a1").await.unwrap().unwrap().resolved_at, Some(5_000), "{db}");
        store.resolve_security_incident("a1", None).await.unwrap();
        assert_eq!(store.security_incident_of("a1").await.unwrap().unwrap().resolved_at, None, "{db}: reopened");
    }
}
