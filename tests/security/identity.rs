//! Threats: identity, sessions and tokens (see docs/security/threat-model.md).
//!
//! The portal runs in-process on its real router, templates and stores (SQLite, and
//! PostgreSQL where replicas share state); sign-ins go to the real Samba AD and OpenLDAP of
//! `tests/directory/` where the directory is the point.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use makonis_api::tenancy::Agency;
use makonis_portal::{
    context::PortalConfig,
    identity::ldap::DirectoryConfig,
    store::{accounts::Account, audit::AuditQuery},
    web::client_address::{ForwardedHeader, TrustedProxies},
};
use serde_json::json;
use tower::ServiceExt;

use crate::{
    portal_support::{
        both_stores,
        portal::{self as harness, Browser, PASSWORD, TestPortal, cookie_value},
        sqlite_store,
    },
    support::directory,
};

/// The demo agencies, with VDI's organisational unit moved to where the test directory
/// keeps it.
fn agencies_in(vdi_ou: &str) -> Vec<Agency> {
    let mut agencies = harness::agencies();
    let vdi = agencies.iter_mut().find(|a| a.spec.code == "vdi").expect("the demo agencies have VDI");
    vdi.spec.directory.organizational_unit = vdi_ou.into();
    agencies
}

async fn directory_portal(directory: DirectoryConfig, vdi_ou: &str, platform_admins: &str) -> TestPortal {
    let mut config = PortalConfig { directory: Some(directory), ..PortalConfig::default() };
    config.platform_groups.admins = platform_admins.into();
    TestPortal::with_agencies(sqlite_store().await, agencies_in(vdi_ou), Vec::new(), config).await
}

/// What `browser` may do, as the portal answers: (platform staff, VDI admin, sees VDI).
async fn powers(portal: &TestPortal, browser: &Browser) -> (bool, bool, bool) {
    let agencies = portal.get(Some(browser), "/api/v1/agencies").await.json();
    let sees_vdi = agencies["agencies"].as_array().unwrap().iter().any(|a| a["code"] == "vdi");
    (
        portal.get(Some(browser), "/admin/agencies").await.status == StatusCode::OK,
        portal.get(Some(browser), "/agencies/vdi/tokens").await.status == StatusCode::OK,
        sees_vdi,
    )
}

#[tokio::test]
async fn a_group_with_a_role_groups_name_in_another_ou_grants_no_role() {
    let cases = [
        (
            "Samba AD",
            directory::samba(),
            "OU=VDI,OU=Iestades,DC=lm,DC=test",
            "CN=Makonis-Platform-Admins,OU=Makonis,DC=lm,DC=test",
        ),
        (
            "OpenLDAP",
            directory::openldap(),
            "ou=vdi,ou=iestades,dc=lm,dc=test",
            "cn=Makonis-Platform-Admins,ou=makonis,dc=lm,dc=test",
        ),
    ];
    for (server, config, vdi_ou, platform_admins_dn) in cases {
        let portal = directory_portal(config.clone(), vdi_ou, platform_admins_dn).await;
        // mallory.rogue is in groups named VDI-Makonis-Admins and Makonis-Platform-Admins in
        // OU=Rogue: the same CNs as the real role groups, anywhere else in the directory.
        let mallory = portal.sign_in("mallory.rogue").await;
        assert_eq!(powers(&portal, &mallory).await, (false, false, false), "{server}: mallory holds a role");
        let admin = portal.sign_in("platform.admin").await;
        assert!(powers(&portal, &admin).await.0, "{server}: the real platform admins group");
        let vdi_admin = portal.sign_in("vdi.admin").await;
        assert_eq!(powers(&portal, &vdi_admin).await, (false, true, true), "{server}: the real VDI admins group");

        // Given by name, Makonis-Platform-Admins is ambiguous under the group base (OU=Makonis
        // and OU=Rogue): nobody is a platform administrator until one is renamed.
        let portal = directory_portal(config, vdi_ou, "Makonis-Platform-Admins").await;
        for user in ["platform.admin", "mallory.rogue"] {
            let browser = portal.sign_in(user).await;
            assert!(!powers(&portal, &browser).await.0, "{server}: {user} through an ambiguous name");
        }
    }
}

/// A fresh OpenLDAP account in VDI's admins group, removed by the caller.
fn new_vdi_admin() -> (String, String) {
    let base = directory::env("MAKONIS_TEST_OPENLDAP_BASE", "openldap.sh");
    let uid = format!("owner-{}", makonis_portal::store::random_id(4));
    let dn = format!("uid={uid},ou=people,{base}");
    directory::openldap_modify(&format!(
        "dn: {dn}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: Token Owner\nsn: Owner\n\
         userPassword: {PASSWORD}\n\n\
         dn: cn=VDI-Makonis-Admins,ou=vdi,ou=iestades,{base}\nchangetype: modify\nadd: member\nmember: {dn}\n"
    ));
    (uid, dn)
}

#[tokio::test]
async fn a_token_loses_the_powers_its_owner_loses_in_the_directory() {
    let config = directory::openldap();
    let base = directory::env("MAKONIS_TEST_OPENLDAP_BASE", "openldap.sh");
    let mut portal_config = PortalConfig { directory: Some(config), ..PortalConfig::default() };
    portal_config.identity_recheck = Duration::ZERO;
    let portal = TestPortal::with_agencies(
        sqlite_store().await,
        agencies_in("ou=vdi,ou=iestades,dc=lm,dc=test"),
        Vec::new(),
        portal_config,
    )
    .await;
    let (uid, dn) = new_vdi_admin();
    let browser = portal.sign_in(&uid).await;
    let token = portal.token(&browser).await;
    let tokens = |token: String| {
        let portal = &portal;
        async move { portal.api(Some(&token), Method::GET, "/api/v1/agencies/vdi/tokens", None).await }
    };
    assert_eq!(tokens(token.clone()).await.status, StatusCode::OK, "an agency admin lists the agency's tokens");

    // The directory's administrator takes the group away: the token loses the role.
    directory::openldap_modify(&format!(
        "dn: cn=VDI-Makonis-Admins,ou=vdi,ou=iestades,{base}\nchangetype: modify\ndelete: member\nmember: {dn}\n"
    ));
    let lost = tokens(token.clone()).await;
    assert_eq!(lost.status, StatusCode::NOT_FOUND, "the token still administers VDI: {}", lost.body);
    assert_eq!(
        portal.get(Some(&browser), "/agencies/vdi/tokens").await.status,
        StatusCode::NOT_FOUND,
        "the session too"
    );

    // The account is removed: the token stops working and is revoked; the session ends.
    directory::openldap_modify(&format!("dn: {dn}\nchangetype: delete\n"));
    let gone = portal.api(Some(&token), Method::GET, "/api/v1/catalog", None).await;
    assert_eq!((gone.status, gone.json()["code"].clone()), (StatusCode::UNAUTHORIZED, json!("invalid_token")));
    let listed = portal.context.store.tokens_of(&uid).await.unwrap();
    assert_eq!(listed[0].revoked_by.as_deref(), Some("portal"), "revoked because its owner is gone");
    assert_eq!(portal.get(Some(&browser), "/tokens").await.status, StatusCode::SEE_OTHER, "sent to sign in");
}

#[tokio::test]
async fn a_leaked_token_can_be_seen_and_revoked_by_its_agencys_administrators_only() {
    let portal = TestPortal::new(sqlite_store().await, Vec::new()).await;
    let anna = portal.sign_in("anna").await;
    let token = portal.token(&anna).await;
    let id = token.trim_start_matches("mkt_").split('.').next().unwrap().to_string();
    assert_eq!(portal.api(Some(&token), Method::GET, "/api/v1/catalog", None).await.status, StatusCode::OK);

    let lm_admin = portal.token(&portal.sign_in("lm-approver").await).await;
    let foreign = portal.api(Some(&lm_admin), Method::GET, "/api/v1/agencies/vdi/tokens", None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "another agency's admin: {}", foreign.body);
    let revoke = format!("/api/v1/agencies/vdi/tokens/{id}/revoke");
    assert_eq!(portal.api(Some(&lm_admin), Method::POST, &revoke, None).await.status, StatusCode::NOT_FOUND);
    let own_agency = format!("/api/v1/agencies/lm/tokens/{id}/revoke");
    assert_eq!(
        portal.api(Some(&lm_admin), Method::POST, &own_agency, None).await.status,
        StatusCode::NOT_FOUND,
        "anna's token is not listed under LM"
    );
    let requester = portal.api(Some(&token), Method::GET, "/api/v1/agencies/vdi/tokens", None).await;
    assert_eq!(requester.status, StatusCode::FORBIDDEN, "a requester does not administer");

    let vdi_admin = portal.sign_in("vdi-admin").await;
    let page = portal.get(Some(&vdi_admin), "/agencies/vdi/tokens").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&id) && page.body.contains("192.0.2.7"),
        "owner's token and its last use: {}",
        page.body
    );
    let revoked = portal.post(&vdi_admin, &format!("/agencies/vdi/tokens/{id}/revoke"), &[]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(portal.api(Some(&token), Method::GET, "/api/v1/catalog", None).await.status, StatusCode::UNAUTHORIZED);
    let listed = portal.context.store.tokens_of("anna").await.unwrap();
    assert_eq!(listed[0].revoked_by.as_deref(), Some("vdi-admin"));
}

/// Signs in as `username` with `password` through the form, from `client` as the trusted
/// proxy reports it (`X-Forwarded-For`, with a spoofed hop to its left).
async fn sign_in_via_proxy(portal: &TestPortal, client: &str, username: &str, password: &str) -> StatusCode {
    let forwarded = format!("6.6.6.6, {client}");
    let form =
        portal.send(Request::get("/login").header("x-forwarded-for", &forwarded).body(Body::empty()).unwrap()).await;
    let name = portal.cookie_name("makonis_login");
    let csrf = cookie_value(&form.headers, &name).expect("a login cookie");
    let body = serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("username", username), ("password", password)])
        .unwrap();
    let request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("{name}={csrf}"))
        .header("x-forwarded-for", &forwarded)
        .body(Body::from(body))
        .unwrap();
    portal.send(request).await.status
}

#[tokio::test]
async fn clients_behind_the_ingress_are_told_apart_and_cannot_forge_their_address() {
    let proxies =
        TrustedProxies { networks: vec!["192.0.2.0/24".parse().unwrap()], header: ForwardedHeader::XForwardedFor };
    let config = PortalConfig { trusted_proxies: proxies, ..PortalConfig::default() };
    let portal = TestPortal::with_config(sqlite_store().await, Vec::new(), config).await;
    for _ in 0..5 {
        assert_eq!(sign_in_via_proxy(&portal, "198.51.100.4", "janis", "nepareizi").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        sign_in_via_proxy(&portal, "198.51.100.4", "janis", PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the guessing client is throttled"
    );
    // Everyone else comes through the same ingress and is not locked out: not janis from
    // another address, not anybody else.
    assert_eq!(sign_in_via_proxy(&portal, "198.51.100.5", "janis", PASSWORD).await, StatusCode::SEE_OTHER);
    assert_eq!(sign_in_via_proxy(&portal, "198.51.100.6", "anna", PASSWORD).await, StatusCode::SEE_OTHER);

    // A client that is not a trusted proxy cannot claim another address.
    let mut direct = Request::get("/login").header("x-forwarded-for", "198.51.100.99").body(Body::empty()).unwrap();
    direct.extensions_mut().insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 50], 40000))));
    let form = portal.send(direct).await;
    let name = portal.cookie_name("makonis_login");
    let csrf = cookie_value(&form.headers, &name).unwrap();
    let body =
        serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("username", "liga"), ("password", "x")]).unwrap();
    let mut direct = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("{name}={csrf}"))
        .header("x-forwarded-for", "198.51.100.99")
        .body(Body::from(body))
        .unwrap();
    direct.extensions_mut().insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 50], 40000))));
    assert_eq!(portal.send(direct).await.status, StatusCode::UNAUTHORIZED);

    let query = AuditQuery { limit: 100, ..AuditQuery::default() };
    let trail = portal.context.store.audit_events(&query).await.unwrap();
    let from = |actor: &str| -> Vec<String> {
        trail
            .iter()
            .filter(|e| e.event.actor == actor && e.event.action == "sign_in")
            .map(|e| e.event.source_ip.clone())
            .collect()
    };
    let janis = from("janis");
    assert!(
        janis.iter().filter(|ip| *ip == "198.51.100.4").count() == 6 && janis.contains(&"198.51.100.5".to_string()),
        "{janis:?}"
    );
    assert_eq!(from("anna"), ["198.51.100.6"]);
    assert_eq!(from("liga"), ["203.0.113.50"], "an untrusted peer's forwarding header is ignored");
}

/// The password form checks a current password, so it is a way to guess one: it takes the
/// sign-in throttle's slots, needs the sign-in form's CSRF token, and answers a wrong
/// password, an unknown account and one of the portal's local accounts alike.
#[tokio::test]
async fn the_password_form_is_throttled_like_sign_in() {
    let config = PortalConfig { directory: Some(directory::openldap()), ..PortalConfig::default() };
    let portal = TestPortal::with_agencies(sqlite_store().await, harness::agencies(), Vec::new(), config).await;
    let (uid, dn) = new_vdi_admin();
    let name = portal.cookie_name("makonis_login");
    let change = |username: &str, current: &str| {
        vec![
            ("username", username.to_owned()),
            ("current_password", current.to_owned()),
            ("new_password", "Jauna-Parole-7!".to_owned()),
            ("repeat_password", "Jauna-Parole-7!".to_owned()),
        ]
    };
    let post = |fields: Vec<(&'static str, String)>| {
        let (portal, name) = (&portal, name.clone());
        async move {
            let form = portal.get(None, "/password").await;
            let csrf = cookie_value(&form.headers, &name).expect("the form sets its CSRF cookie");
            let mut pairs = vec![("_csrf", csrf.clone())];
            pairs.extend(fields);
            let body = serde_urlencoded::to_string(&pairs).unwrap();
            portal.post_raw(Some(&format!("{name}={csrf}")), "/password", &body).await.status
        }
    };

    let forged = serde_urlencoded::to_string(change(&uid, PASSWORD)).unwrap();
    let refused = portal.post_raw(None, "/password", &forged).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "no token, no change: {}", refused.body);

    for (username, current) in [(uid.as_str(), "nepareizi"), ("nobody.here", PASSWORD), ("janis", PASSWORD)] {
        let status = post(change(username, current)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{username}: the same answer for all three");
    }
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(post(change(&uid, "nepareizi")).await);
    }
    assert_eq!(statuses, [[StatusCode::UNAUTHORIZED; 4].as_slice(), &[StatusCode::TOO_MANY_REQUESTS]].concat());
    assert_eq!(
        post(change(&uid, PASSWORD)).await,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits: nothing is checked"
    );
    let kept = makonis_portal::identity::ldap::authenticate(&directory::openldap(), &uid, PASSWORD).await;
    assert!(kept.is_ok(), "the password was never changed: {kept:?}");
    assert!(portal.try_sign_in("janis", PASSWORD).await.is_ok(), "janis is a local account, and keeps its password");
    let base = directory::env("MAKONIS_TEST_OPENLDAP_BASE", "openldap.sh");
    directory::openldap_modify(&format!(
        "dn: cn=VDI-Makonis-Admins,ou=vdi,ou=iestades,{base}\nchangetype: modify\ndelete: member\nmember: {dn}\n\n\
         dn: {dn}\nchangetype: delete\n"
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_get_no_more_password_checks_than_the_limit() {
    let portal = Arc::new(TestPortal::new(sqlite_store().await, Vec::new()).await);
    let name = portal.cookie_name("makonis_login");
    let form = portal.get(None, "/login").await;
    let csrf = cookie_value(&form.headers, &name).unwrap();
    let body =
        serde_urlencoded::to_string([("_csrf", csrf.as_str()), ("username", "janis"), ("password", "x")]).unwrap();
    let cookie = format!("{name}={csrf}");
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let (portal, cookie, body) = (Arc::clone(&portal), cookie.clone(), body.clone());
            tokio::spawn(async move { portal.post_raw(Some(&cookie), "/login", &body).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let throttled = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, throttled), (5, 45), "{statuses:?}");
    let metrics = portal.metrics_text().await;
    let checks: u64 = metrics
        .lines()
        .filter(|line| line.starts_with("makonis_portal_password_checks_total"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    assert_eq!(checks, 5, "{metrics}");
}

#[tokio::test]
async fn the_sign_in_throttle_holds_across_replicas() {
    for (db, store) in both_stores().await {
        let first = TestPortal::new(store.clone(), Vec::new()).await;
        let second = TestPortal::new(store, Vec::new()).await;
        for _ in 0..5 {
            assert_eq!(first.try_sign_in("janis", "nepareizi").await.unwrap_err().status, StatusCode::UNAUTHORIZED);
        }
        let other = second.try_sign_in("janis", PASSWORD).await.unwrap_err();
        assert_eq!(other.status, StatusCode::TOO_MANY_REQUESTS, "{db}: the other replica knows");
    }
}

#[tokio::test]
async fn sign_in_never_redirects_off_the_portal() {
    let portal = TestPortal::new(sqlite_store().await, Vec::new()).await;
    let hostile = [
        "/%09/evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\n",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2F/evil.example",
        "/%5Cevil.example",
        "/%252F%2F/evil.example/%0A",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "/\u{3000}/evil.example",
        "/\u{FF0F}evil.example",
        "/%E2%80%8B/evil.example",
        "evil.example",
    ];
    let anna = portal.sign_in("anna").await;
    for next in hostile {
        let query = serde_urlencoded::to_string([("next", next)]).unwrap();
        let answer = portal.get(Some(&anna), &format!("/login?{query}")).await;
        assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, "/catalog"), "GET next={next:?}");
        let language = portal.post(&anna, "/language", &[("lang", "en"), ("next", next)]).await;
        assert_eq!((language.status, language.location()), (StatusCode::SEE_OTHER, "/catalog"), "language {next:?}");
    }
    // Through the sign-in form, before a session exists: the session is made and the
    // browser stays here.
    for next in ["/%09/evil.example", "/\n/evil.example", "//evil.example", "/\\evil.example"] {
        let name = portal.cookie_name("makonis_login");
        let form = portal.get(None, "/login").await;
        let csrf = cookie_value(&form.headers, &name).unwrap();
        let body = serde_urlencoded::to_string([
            ("_csrf", csrf.as_str()),
            ("username", "anna"),
            ("password", PASSWORD),
            ("next", next),
        ])
        .unwrap();
        let answer = portal.post_raw(Some(&format!("{name}={csrf}")), "/login", &body).await;
        assert_eq!((answer.status, answer.location()), (StatusCode::SEE_OTHER, "/catalog"), "POST next={next:?}");
    }
    let local = portal.get(Some(&anna), "/login?next=%2Frequests%3Fscope%3Dmine").await;
    assert_eq!(local.location(), "/requests?scope=mine", "the portal's own paths are followed");
}

#[tokio::test]
async fn one_person_cannot_give_both_stages_of_an_approval_chain() {
    let portal = TestPortal::new(sqlite_store().await, Vec::new()).await;
    let both = Account {
        username: "ilze.both".into(),
        password_hash: makonis_portal::identity::password::hash_password(PASSWORD),
        display_name: "Ilze Abas".into(),
        email: None,
        groups: vec!["VDI-Makonis-Approvers".into(), "Makonis-Platform-Operators".into()],
    };
    portal.context.store.put_account(&both, 0).await.unwrap();
    let anna = portal.sign_in("anna").await;
    let order = [("agency", "vdi"), ("plan", "small"), ("instance", "lietvediba")];
    let submitted = portal.order(&anna, "dms", &order, "submit").await;
    assert_eq!(submitted.status, StatusCode::SEE_OTHER, "{}", submitted.body);
    let request = submitted.location().to_string();

    let ilze = portal.sign_in("ilze.both").await;
    let agency_stage = portal.post(&ilze, &format!("{request}/approve"), &[("comment", "Atbalstu")]).await;
    assert_eq!(agency_stage.status, StatusCode::SEE_OTHER, "the agency's approval: {}", agency_stage.body);
    let page = portal.get(Some(&ilze), &request).await;
    assert!(!page.body.contains(&format!(r#"action="{request}/approve""#)), "no approve form for the second stage");
    let platform_stage = portal.post(&ilze, &format!("{request}/approve"), &[("comment", "")]).await;
    assert_eq!(platform_stage.status, StatusCode::FORBIDDEN);
    assert!(platform_stage.body.contains("earlier approval"), "a clear message: {}", platform_stage.body);
    let token = portal.token(&ilze).await;
    let api = portal.api(Some(&token), Method::POST, &format!("/api/v1{request}/approve"), Some(json!({}))).await;
    assert_eq!((api.status, api.json()["code"].clone()), (StatusCode::FORBIDDEN, json!("forbidden")));
    let inbox = portal.get(Some(&ilze), "/approvals").await;
    assert!(!inbox.body.contains(&request), "not in the inbox either");

    let operator = portal.sign_in("operator").await;
    assert_eq!(
        portal.post(&operator, &format!("{request}/approve"), &[("comment", "")]).await.status,
        StatusCode::SEE_OTHER
    );
    let id = request.trim_start_matches("/requests/");
    assert_eq!(portal.context.store.request(id).await.unwrap().unwrap().state.as_str(), "approved");
}

#[tokio::test]
async fn session_cookies_are_bound_to_the_portals_origin() {
    let portal = TestPortal::new(sqlite_store().await, Vec::new()).await;
    let form = portal.get(None, "/login").await;
    let anna = portal.sign_in("anna").await;
    let mut set =
        form.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    let language = portal.post(&anna, "/language", &[("lang", "en")]).await;
    set.extend(language.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()));
    assert!(anna.cookie.starts_with("__Host-makonis_session="), "{}", anna.cookie);
    for cookie in &set {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        for attribute in ["; Secure", "; Path=/", "; HttpOnly"] {
            assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
        }
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
    // A cookie without the prefix (one a sibling site could set) is not a session.
    let token = anna.cookie.trim_start_matches("__Host-makonis_session=");
    let tossed = Browser { cookie: format!("makonis_session={token}"), csrf: anna.csrf.clone() };
    assert_eq!(portal.get(Some(&tossed), "/tokens").await.status, StatusCode::SEE_OTHER, "not signed in");

    // Plain-HTTP development on another host: no prefix and no Secure, and signing in works.
    let insecure = PortalConfig { secure_cookies: false, ..PortalConfig::default() };
    let portal = TestPortal::with_config(sqlite_store().await, Vec::new(), insecure).await;
    let anna = portal.sign_in("anna").await;
    assert!(anna.cookie.starts_with("makonis_session="), "{}", anna.cookie);
    assert_eq!(portal.get(Some(&anna), "/tokens").await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_empty_csrf_token_never_matches() {
    let portal = TestPortal::new(sqlite_store().await, Vec::new()).await;
    // Login CSRF: an attacker who can plant an empty login cookie (under either name) and
    // post an empty token must not sign the victim in as the attacker.
    let body = serde_urlencoded::to_string([("_csrf", ""), ("username", "anna"), ("password", PASSWORD)]).unwrap();
    let answer = portal.post_raw(Some("makonis_login=; __Host-makonis_login="), "/login", &body).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(cookie_value(&answer.headers, "__Host-makonis_session").is_none());
    let short = serde_urlencoded::to_string([("_csrf", "a"), ("username", "anna"), ("password", PASSWORD)]).unwrap();
    let answer = portal.post_raw(Some("makonis_login=a; __Host-makonis_login=a"), "/login", &short).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "a one-character token is as good as none");
}

/// Reads frames of `body` until it ends, for at most `bound`; whether it ended.
async fn ends_within(body: &mut Body, bound: Duration) -> bool {
    tokio::time::timeout(bound, async {
        while let Some(frame) = body.frame().await {
            if frame.is_err() {
                break;
            }
        }
    })
    .await
    .is_ok()
}

/// Opens the live stream of VDI's instance `vdi-db` as `browser` and reads its first event.
async fn open_stream(portal: &TestPortal, browser: &Browser) -> Result<Body, StatusCode> {
    let request = Request::get("/services/vdi/vdi-db/events")
        .header(header::COOKIE, &browser.cookie)
        .body(Body::empty())
        .unwrap();
    let response = portal.app.clone().oneshot(request).await.unwrap();
    if response.status() != StatusCode::OK {
        return Err(response.status());
    }
    let mut body = response.into_body();
    let first =
        tokio::time::timeout(Duration::from_secs(10), body.frame()).await.expect("a first event").unwrap().unwrap();
    let text = String::from_utf8_lossy(first.data_ref().unwrap()).into_owned();
    assert!(text.contains("event: status"), "{text}");
    Ok(body)
}

#[tokio::test]
async fn live_streams_end_when_their_viewer_loses_access_and_are_capped_per_user() {
    let config = PortalConfig {
        live_recheck: Duration::from_millis(200),
        identity_recheck: Duration::ZERO,
        ..PortalConfig::default()
    };
    let portal = TestPortal::with_config(sqlite_store().await, Vec::new(), config).await;
    let anna = portal.sign_in("anna").await;
    let mut stream = open_stream(&portal, &anna).await.unwrap();
    assert_eq!(portal.post(&anna, "/logout", &[]).await.status, StatusCode::SEE_OTHER);
    assert!(ends_within(&mut stream, Duration::from_secs(10)).await, "the stream outlived the session");

    // Losing the agency ends it too: janis's local account loses its group.
    let janis = portal.sign_in("janis").await;
    let mut stream = open_stream(&portal, &janis).await.unwrap();
    let mut account = portal.context.store.account("janis").await.unwrap().unwrap();
    account.groups.clear();
    portal.context.store.put_account(&account, 0).await.unwrap();
    assert!(ends_within(&mut stream, Duration::from_secs(10)).await, "the stream outlived the role");

    let admin = portal.sign_in("vdi-admin").await;
    let mut open = Vec::new();
    for _ in 0..portal.context.config.live_streams_per_user {
        open.push(open_stream(&portal, &admin).await.expect("within the cap"));
    }
    assert_eq!(open_stream(&portal, &admin).await.err(), Some(StatusCode::TOO_MANY_REQUESTS));
    open.pop();
    assert!(open_stream(&portal, &admin).await.is_ok(), "a closed stream frees its place");
}

#[tokio::test]
async fn metrics_are_not_served_to_the_portals_clients() {
    let portal = TestPortal::new(sqlite_store().await, Vec::new()).await;
    assert_eq!(portal.get(None, "/metrics").await.status, StatusCode::NOT_FOUND);
    let anna = portal.sign_in("anna").await;
    assert_eq!(portal.get(Some(&anna), "/metrics").await.status, StatusCode::NOT_FOUND);
    let metrics = portal.metrics_text().await;
    assert!(metrics.contains("makonis_portal_http_requests_total"), "{metrics}");
}
