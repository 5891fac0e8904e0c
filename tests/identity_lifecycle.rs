//! What happens to directory objects over time, against a real Samba AD: direct changes
//! put back or reported, leavers disabled, moved and deleted after their grace period,
//! service account passwords rotated, and no password ever sent without TLS.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DeleteParams, PostParams},
};
use makonis_api::identity::{Directory, DirectoryGroup, DirectoryServiceAccount, DirectoryUser};
use serde_json::json;
use support::{
    CONVERGE,
    agencies::TEST_LABEL,
    events::wait_for_warning_in,
    identity::{IdentityRun, bind, first, ldap_modify, read},
    wait_until,
};
use tokio::io::AsyncReadExt;

fn object(kind: &str, name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "identity.makonis.lv/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec})
}

/// Waits until the entry at `dn` has `value` as its `attribute` (or none, for `None`).
async fn wait_attribute(dn: &str, attribute: &str, value: Option<&str>) {
    wait_until(&format!("{attribute} of {dn} to be {value:?}"), CONVERGE, || async {
        let entry = read(dn, &[attribute]).ok_or("no entry")?;
        match first(&entry, attribute) == value {
            true => Ok(()),
            false => Err(format!("{:?}", first(&entry, attribute))),
        }
    })
    .await
}

#[tokio::test]
async fn direct_changes_are_put_back_or_reported() {
    // A short resync: the operator compares with the directory every 2 s.
    let t = IdentityRun::start(30, "Correct", 2).await;
    let team = format!("{}-Komanda", t.code);
    t.apply::<DirectoryUser>(object(
        "DirectoryUser",
        "janis",
        json!({"username": format!("janis{}", t.run), "givenName": "Jānis", "surname": "Kalniņš"}),
    ))
    .await;
    let dace_spec = json!({
        "username": format!("dace{}", t.run), "givenName": "Dace", "surname": "Liepiņa", "title": "Juriste", "drift": "Report"
    });
    t.apply::<DirectoryUser>(object("DirectoryUser", "dace", dace_spec)).await;
    t.apply::<DirectoryGroup>(object(
        "DirectoryGroup",
        "komanda",
        json!({"name": team, "members": [{"user": "janis"}]}),
    ))
    .await;
    t.wait_condition("directoryusers", "janis", "Ready", "True").await;
    t.wait_condition("directoryusers", "dace", "Ready", "True").await;
    t.wait_condition("directorygroups", "komanda", "Ready", "True").await;
    let janis = t.dn("Jānis Kalniņš", "People");
    let dace = t.dn("Dace Liepiņa", "People");

    // An attribute changed in AD is put back, and an Event names it.
    ldap_modify(&format!("dn: {janis}\nchangetype: modify\nreplace: givenName\ngivenName: Mallory\n-\n"));
    wait_attribute(&janis, "givenName", Some("Jānis")).await;
    let event = wait_for_warning_in(&t.admin, &t.namespace, "janis", "DriftCorrected").await;
    assert!(event.contains("givenName is \"Mallory\", declared \"Jānis\""), "{event}");

    // An account moved away in AD is moved back.
    ldap_modify(&format!(
        "dn: {janis}\nchangetype: modrdn\nnewrdn: CN=Jānis Kalniņš\ndeleteoldrdn: 1\nnewsuperior: OU=Leavers,{}\n",
        t.agency_ou
    ));
    wait_until("the account to be moved back", CONVERGE, || async {
        read(&janis, &["cn"]).map(|_| ()).ok_or("not yet".to_string())
    })
    .await;

    // A member added in AD to a group the platform keeps is removed again.
    ldap_modify(&format!("dn: {}\nchangetype: modify\nadd: member\nmember: {dace}\n-\n", t.dn(&team, "Groups")));
    wait_until("the extra member to be removed", CONVERGE, || async {
        let members =
            read(&t.dn(&team, "Groups"), &["member"]).and_then(|e| e.get("member").cloned()).unwrap_or_default();
        let lower: Vec<String> = members.iter().map(|m| m.to_lowercase()).collect();
        match (lower.contains(&dace.to_lowercase()), lower.contains(&janis.to_lowercase())) {
            (false, true) => Ok(()),
            other => Err(format!("{other:?} {members:?}")),
        }
    })
    .await;

    // With drift: Report, a direct change stays, and is reported with the attribute.
    ldap_modify(&format!("dn: {dace}\nchangetype: modify\nreplace: title\ntitle: Vadītāja\n-\n"));
    let reported = t.wait_false("directoryusers", "dace", "InSync", "DriftReported").await;
    let in_sync =
        reported["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "InSync").unwrap().clone();
    assert_eq!(in_sync["reason"], "DriftReported");
    assert!(in_sync["message"].as_str().unwrap().contains("title"), "{in_sync}");
    let event = wait_for_warning_in(&t.admin, &t.namespace, "dace", "DriftReported").await;
    assert!(event.contains("title is \"Vadītāja\", declared \"Juriste\""), "{event}");
    // Two more reconciles of people (resyncs every 2 s) have seen it: still not put back.
    let counted = || t.identity.counter("makonis_operator_reconcile_total", "controller=\"identity-user\"");
    let seen = counted().await;
    wait_until("two more reconciles of people", CONVERGE, || async {
        let now = counted().await;
        if now >= seen + 2.0 { Ok(()) } else { Err(format!("{now} reconciles, from {seen}")) }
    })
    .await;
    assert_eq!(
        read(&dace, &["title"]).and_then(|e| first(&e, "title").map(str::to_string)).as_deref(),
        Some("Vadītāja")
    );
}

#[tokio::test]
async fn leavers_are_disabled_moved_and_kept_for_the_grace_period() {
    let t = IdentityRun::start(30, "Correct", 300).await;
    let username = format!("ilze{}", t.run);
    t.apply::<DirectoryUser>(object(
        "DirectoryUser",
        "ilze",
        json!({"username": username, "givenName": "Ilze", "surname": "Ozola", "roles": ["viewers"]}),
    ))
    .await;
    t.wait_condition("directoryusers", "ilze", "Ready", "True").await;
    let viewers = t.dn(&format!("{}-viewers", t.code), "Groups");
    let ilze = t.dn("Ilze Ozola", "People");
    wait_until("the role membership", CONVERGE, || async {
        let members = read(&viewers, &["member"]).and_then(|e| e.get("member").cloned()).unwrap_or_default();
        if members.iter().any(|m| m.eq_ignore_ascii_case(&ilze)) { Ok(()) } else { Err(format!("{members:?}")) }
    })
    .await;

    t.users().delete("ilze", &DeleteParams::default()).await.unwrap();
    let leaver = format!("CN={username},OU=Leavers,{}", t.agency_ou);
    wait_attribute(&leaver, "userAccountControl", Some("514")).await;
    assert!(read(&ilze, &["cn"]).is_none(), "moved out of People");
    let object = t.wait_false("directoryusers", "ilze", "Ready", "Leaving").await;
    assert!(object["metadata"]["deletionTimestamp"].is_string(), "the object stays while the account waits");
    let delete_after = object["status"]["leaving"]["deleteAfter"].as_str().expect("deleteAfter").to_string();
    let since = object["status"]["leaving"]["since"].as_str().expect("since").to_string();
    let grace = delete_after
        .parse::<k8s_openapi::jiff::Timestamp>()
        .unwrap()
        .duration_since(since.parse::<k8s_openapi::jiff::Timestamp>().unwrap());
    assert_eq!(grace.as_secs(), 30 * 86_400, "{since} → {delete_after}");
    // A leaver holds no role.
    wait_until("the role membership to go", CONVERGE, || async {
        let members = read(&viewers, &["member"]).and_then(|e| e.get("member").cloned()).unwrap_or_default();
        if members.is_empty() { Ok(()) } else { Err(format!("{members:?}")) }
    })
    .await;
}

#[tokio::test]
async fn with_no_grace_period_a_leaver_is_deleted_and_the_object_goes() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let username = format!("aivars{}", t.run);
    t.apply::<DirectoryUser>(object(
        "DirectoryUser",
        "aivars",
        json!({"username": username, "givenName": "Aivars", "surname": "Zariņš"}),
    ))
    .await;
    t.wait_condition("directoryusers", "aivars", "Ready", "True").await;
    t.users().delete("aivars", &DeleteParams::default()).await.unwrap();
    let users = t.users();
    wait_until("the object to go", CONVERGE, || async {
        match users.get_opt("aivars").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(u) => Err(format!("{:?}", u.status)),
        }
    })
    .await;
    assert!(read(&t.dn("Aivars Zariņš", "People"), &["cn"]).is_none());
    assert!(read(&format!("CN={username},OU=Leavers,{}", t.agency_ou), &["cn"]).is_none(), "deleted, not only moved");
}

#[tokio::test]
async fn service_accounts_get_credentials_that_rotate_on_request() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let username = format!("svc{}", t.run);
    let upn = format!("{username}@lm.test");
    t.apply::<DirectoryServiceAccount>(object(
        "DirectoryServiceAccount",
        "dms",
        json!({"username": username, "description": "Dokumentu vadības sistēma"}),
    ))
    .await;
    t.wait_condition("directoryserviceaccounts", "dms", "Ready", "True").await;
    let secrets: Api<Secret> = Api::namespaced(t.admin.clone(), &t.namespace);
    let password = |secret: Secret| String::from_utf8(secret.data.unwrap()["password"].0.clone()).unwrap();
    let first_password = password(secrets.get("dms-directory").await.expect("the credentials Secret"));
    bind(&upn, &first_password).expect("the service signs in with its credentials");
    let dn = t.dn(&username, "Service Accounts");
    let entry = read(&dn, &["userAccountControl", "description", "pwdLastSet"]).unwrap();
    let set_at = |entry: &support::identity::LdapEntry| first(entry, "pwdLastSet").unwrap().parse::<i64>().unwrap();
    let first_set = set_at(&entry);
    assert_eq!(first(&entry, "userAccountControl"), Some("66048"), "enabled, password never expires");
    assert_eq!(first(&entry, "description"), Some("Dokumentu vadības sistēma"));

    t.apply::<DirectoryServiceAccount>(object(
        "DirectoryServiceAccount",
        "dms",
        json!({"username": username, "description": "Dokumentu vadības sistēma", "rotation": "2026-12"}),
    ))
    .await;
    let second = wait_until("a new password", CONVERGE, || async {
        let secret = secrets.get("dms-directory").await.map_err(|e| e.to_string())?;
        let next = password(secret);
        if next != first_password && bind(&upn, &next).is_ok() { Ok(next) } else { Err("not yet".to_string()) }
    })
    .await;
    // The directory recorded a new password. (Samba, like AD for NTLM, may accept the old
    // one for its `old password allowed period`, 60 minutes by default: rotation is not
    // revocation; disabling the account is.)
    assert!(set_at(&read(&dn, &["pwdLastSet"]).unwrap()) > first_set, "pwdLastSet moved on");
    let rotated = t.wait_condition("directoryserviceaccounts", "dms", "Ready", "True").await;
    assert_eq!(rotated["status"]["rotation"], "2026-12");

    // No password is ever in a status, an Event or the operator's log.
    let status = serde_json::to_string(&rotated).unwrap();
    for password in [&first_password, &second] {
        assert!(!status.contains(password.as_str()), "a password in the status");
        assert!(!t.identity.log().contains(password.as_str()), "a password in the operator's log");
    }

    // The Secret deleted by mistake: a new password is set and written, never lost.
    secrets.delete("dms-directory", &DeleteParams::default()).await.unwrap();
    t.apply::<DirectoryServiceAccount>(object(
        "DirectoryServiceAccount",
        "dms",
        json!({"username": username, "description": "DVS", "rotation": "2026-12"}),
    ))
    .await;
    wait_until("the credentials to be restored", CONVERGE, || async {
        let secret = secrets.get_opt("dms-directory").await.map_err(|e| e.to_string())?.ok_or("no Secret")?;
        let third = password(secret);
        if third != second && bind(&upn, &third).is_ok() { Ok(()) } else { Err("not yet".to_string()) }
    })
    .await;
}

/// A server on 127.0.0.1 that records what the first client sends and answers nothing a
/// client could sign in to: it closes the connection after the first message (a StartTLS
/// request).
async fn recording_server() -> (u16, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let mut seen = Vec::new();
        if let Ok(Ok((mut stream, _))) = tokio::time::timeout(CONVERGE, listener.accept()).await {
            let mut buffer = [0u8; 4096];
            if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer)).await {
                seen.extend_from_slice(&buffer[..n]);
            }
        }
        seen
    });
    (port, handle)
}

#[tokio::test]
async fn no_password_is_sent_without_tls() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let (port, recorded) = recording_server().await;
    let name = format!("plain-{}", t.run);
    let directories: Api<Directory> = Api::all(t.admin.clone());
    let plain: Directory = serde_json::from_value(json!({
        "apiVersion": "identity.makonis.lv/v1alpha1", "kind": "Directory",
        "metadata": {"name": name, "labels": {TEST_LABEL: t.run}},
        "spec": {"url": format!("ldap://127.0.0.1:{port}"), "caSecret": format!("{}-ca", t.directory),
                 "bindSecret": format!("{}-bind", t.directory), "baseDn": "DC=plain,DC=test"}
    }))
    .unwrap();
    directories.create(&PostParams::default(), &plain).await.unwrap();
    let status = wait_until("the Directory to report no TLS", CONVERGE, || async {
        let d = directories.get(&name).await.map_err(|e| e.to_string())?;
        let ready = d.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready").cloned());
        match ready {
            Some(c) if c.status == "False" => Ok(c),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(["DirectoryTls", "DirectoryUnreachable"].contains(&status.reason.as_str()), "{status:?}");
    directories.delete(&name, &DeleteParams::default()).await.unwrap();
    let seen = recorded.await.unwrap();
    // The StartTLS extended operation's OID went out; the password never did.
    assert!(seen.windows(22).any(|w| w == b"1.3.6.1.4.1.1466.20037"), "a StartTLS request: {seen:?}");
    let password = support::directory::env("MAKONIS_TEST_SAMBA_ADMIN_PASSWORD", "samba.sh");
    assert!(!seen.windows(password.len()).any(|w| w == password.as_bytes()), "the password was sent in clear");

    // The real domain controller behind a CA that did not sign its certificate (a server
    // impersonating it would look the same): refused before the bind.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let other_ca = params.self_signed(&key).unwrap().pem();
    let secrets: Api<Secret> = Api::namespaced(t.admin.clone(), "makonis-system");
    let ca_secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": format!("other-ca-{}", t.run)}, "stringData": {"ca.crt": other_ca}
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &ca_secret).await.unwrap();
    let name = format!("impostor-{}", t.run);
    let impostor: Directory = serde_json::from_value(json!({
        "apiVersion": "identity.makonis.lv/v1alpha1", "kind": "Directory",
        "metadata": {"name": name, "labels": {TEST_LABEL: t.run}},
        "spec": {"url": support::directory::env("MAKONIS_TEST_SAMBA_URL", "samba.sh"),
                 "caSecret": format!("other-ca-{}", t.run), "bindSecret": format!("{}-bind", t.directory),
                 "baseDn": "DC=impostor,DC=test"}
    }))
    .unwrap();
    directories.create(&PostParams::default(), &impostor).await.unwrap();
    let refused = wait_until("the impostor to be refused", CONVERGE, || async {
        let d = directories.get(&name).await.map_err(|e| e.to_string())?;
        let ready = d.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready").cloned());
        match ready {
            Some(c) if c.status == "False" => Ok(c),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(refused.reason, "DirectoryTls", "{refused:?}");
    directories.delete(&name, &DeleteParams::default()).await.unwrap();
}

#[tokio::test]
async fn invalid_objects_are_refused_at_admission_with_the_field() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    for (spec, field) in [
        (json!({"username": "x,OU=Admins", "givenName": "X", "surname": "Y"}), "spec.username"),
        (json!({"username": "ok", "givenName": "Line\nbreak", "surname": "Y"}), "spec.givenName"),
        (json!({"username": "ok", "givenName": "X", "surname": "Y", "expires": "next year"}), "spec.expires"),
        (json!({"username": "ok", "givenName": "X", "surname": "Y", "roles": ["domainAdmins"]}), "spec.roles"),
    ] {
        let error = create_raw(&t, "directoryusers", object("DirectoryUser", "bad", spec)).await;
        assert!(error.contains(field), "{field}: {error}");
    }
    let groups = create_raw(
        &t,
        "directorygroups",
        object("DirectoryGroup", "bad", json!({"name": "G", "members": [{"user": "a", "dn": "CN=a,DC=lm,DC=test"}]})),
    )
    .await;
    assert!(groups.contains("exactly one of user, group or dn"), "{groups}");
    let directories = create_raw(
        &t,
        "directories",
        json!({"apiVersion": "identity.makonis.lv/v1alpha1", "kind": "Directory", "metadata": {"name": format!("bad-{}", t.run)},
               "spec": {"url": "http://dc1", "caSecret": "ca", "bindSecret": "bind", "baseDn": "DC=lm,DC=test"}}),
    )
    .await;
    assert!(directories.contains("spec.url"), "{directories}");
}

/// Creates `body` as `plural` (namespaced in the run's namespace unless it is
/// `directories`) and returns the API server's refusal.
async fn create_raw(t: &IdentityRun, plural: &str, body: serde_json::Value) -> String {
    let resource = kube::api::ApiResource {
        group: "identity.makonis.lv".into(),
        version: "v1alpha1".into(),
        api_version: "identity.makonis.lv/v1alpha1".into(),
        kind: body["kind"].as_str().unwrap().into(),
        plural: plural.into(),
    };
    let api: Api<kube::api::DynamicObject> = if plural == "directories" {
        Api::all_with(t.admin.clone(), &resource)
    } else {
        Api::namespaced_with(t.admin.clone(), &t.namespace, &resource)
    };
    let object: kube::api::DynamicObject = serde_json::from_value(body).unwrap();
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => panic!("{plural}: an invalid object was admitted"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn the_examples_are_accepted_by_the_api_server() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let mut seen = Vec::new();
    for file in ["directory.yaml", "vsaa-people.yaml"] {
        let path = format!("{}/manifests/examples/identity/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for mut object in support::cluster::yaml_documents(&text) {
            let kind = object["kind"].as_str().unwrap().to_string();
            let plural = match kind.as_str() {
                "Directory" => "directories".to_string(),
                other => format!("{}s", other.to_lowercase()),
            };
            let resource = kube::api::ApiResource {
                group: "identity.makonis.lv".into(),
                version: "v1alpha1".into(),
                api_version: "identity.makonis.lv/v1alpha1".into(),
                kind: kind.clone(),
                plural,
            };
            // The agency's objects go to the run's namespace: the example's agency-vsaa
            // exists only in the demo.
            let api: Api<kube::api::DynamicObject> = if kind == "Directory" {
                Api::all_with(t.admin.clone(), &resource)
            } else {
                object["metadata"]["namespace"] = json!(t.namespace);
                Api::namespaced_with(t.admin.clone(), &t.namespace, &resource)
            };
            let dynamic: kube::api::DynamicObject = serde_json::from_value(object).unwrap();
            let dry_run = PostParams { dry_run: true, ..PostParams::default() };
            api.create(&dry_run, &dynamic).await.unwrap_or_else(|e| panic!("{file}: {kind}: {e}"));
            seen.push(kind);
        }
    }
    assert_eq!(
        seen,
        ["Directory", "DirectoryGroup", "DirectoryUser", "DirectoryUser", "DirectoryUser", "DirectoryServiceAccount"]
    );
}

#[tokio::test]
async fn a_leaver_waits_while_the_domain_cannot_be_reached() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let username = format!("ruta{}", t.run);
    t.apply::<DirectoryUser>(object(
        "DirectoryUser",
        "ruta",
        json!({"username": username, "givenName": "Rūta", "surname": "Lapiņa"}),
    ))
    .await;
    t.wait_condition("directoryusers", "ruta", "Ready", "True").await;
    let dn = t.dn("Rūta Lapiņa", "People");

    // The domain controller becomes unreachable (a port nothing listens on).
    let directories: Api<Directory> = Api::all(t.admin.clone());
    let url = support::directory::env("MAKONIS_TEST_SAMBA_URL", "samba.sh");
    let point_at = |url: String| json!({"spec": {"url": url}});
    let merge = kube::api::PatchParams::default();
    directories
        .patch(&t.directory, &merge, &kube::api::Patch::Merge(point_at("ldaps://127.0.0.1:1".into())))
        .await
        .unwrap();
    wait_until("the Directory to be unreachable", CONVERGE, || async {
        let d = directories.get(&t.directory).await.map_err(|e| e.to_string())?;
        let ready = d.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready").cloned());
        match ready {
            Some(c) if c.status == "False" && c.reason == "DirectoryUnreachable" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Deleting the person now cannot disable the account: the object stays, and says why.
    t.users().delete("ruta", &DeleteParams::default()).await.unwrap();
    let waiting = t.wait_false("directoryusers", "ruta", "Ready", "DirectoryUnreachable").await;
    let ready =
        waiting["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap().clone();
    assert_eq!(ready["reason"], "DirectoryUnreachable", "{ready}");
    assert!(t.users().get_opt("ruta").await.unwrap().is_some(), "the object waits for the account to leave");
    assert_eq!(
        read(&dn, &["userAccountControl"]).and_then(|e| first(&e, "userAccountControl").map(str::to_string)).as_deref(),
        Some("512")
    );

    // Back again: the account leaves (no grace period here) and then the object goes.
    directories.patch(&t.directory, &merge, &kube::api::Patch::Merge(point_at(url))).await.unwrap();
    let users = t.users();
    wait_until("the object to go", CONVERGE, || async {
        match users.get_opt("ruta").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(u) => Err(format!("{:?}", u.status.map(|s| s.conditions))),
        }
    })
    .await;
    assert!(read(&dn, &["cn"]).is_none());
    assert!(read(&format!("CN={username},OU=Leavers,{}", t.agency_ou), &["cn"]).is_none());
}

/// A domain restored from an older backup (or entries deleted by hand) has lost accounts
/// that the statuses still name: the agency's role group is made again with the members
/// that exist, so the agency stays usable; the person's account is made again, and then
/// they hold their role once more.
#[tokio::test]
async fn accounts_lost_in_the_directory_are_made_again_and_regain_their_roles() {
    let t = IdentityRun::start(0, "Correct", 2).await;
    t.apply::<DirectoryUser>(object(
        "DirectoryUser",
        "ilze",
        json!({"username": format!("ilze{}", t.run), "givenName": "Ilze", "surname": "Ozola", "roles": ["requesters"]}),
    ))
    .await;
    let ready = t.wait_condition("directoryusers", "ilze", "Ready", "True").await;
    let account = ready["status"]["dn"].as_str().expect("a DN").to_string();
    let group = t.dn(&format!("{}-requesters", t.code), "Groups");
    wait_attribute(&group, "member", Some(&account)).await;

    // The domain loses the group and the People OU with the account in it, as a restore to
    // a point before them would. The OU comes back first, with the role group, which then
    // names an account that is not there yet.
    let people = format!("OU=People,{}", t.agency_ou);
    for (dn, tree) in [(&group, false), (&people, true)] {
        let mut args = vec![dn.as_str()];
        if tree {
            args.splice(0..0, ["-e", "!1.2.840.113556.1.4.805"]);
        }
        let (ok, _, stderr) = support::identity::ldap_tool("ldapdelete", &args, None);
        assert!(ok, "deleting {dn}: {stderr}");
    }
    wait_until("the account made again", CONVERGE, || async {
        read(&account, &["objectClass"]).map(|_| ()).ok_or_else(|| "not yet".to_string())
    })
    .await;
    wait_attribute(&group, "member", Some(&account)).await;
    t.wait_condition("directoryusers", "ilze", "Ready", "True").await;
}
