//! Active Directory as code against a real Samba AD domain controller: agencies' OUs and
//! role groups, people (Latvian names end to end) and groups created, changed, renamed,
//! disabled, nested; initial passwords handed over; every refusal shown in the server's
//! words. Needs `tests/directory/samba.sh start` and the local control plane.

mod support;

#[path = "../portal/tests/support/mod.rs"]
mod portal_support;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams},
};
use makonis_api::identity::{Directory, DirectoryGroup, DirectoryUser};
use makonis_portal::{
    cluster::ClusterView,
    context::{Context, PortalConfig},
    identity::password::hash_password,
    store::{accounts::Account, audit::AuditQuery},
};
use portal_support::portal::{Browser, TestPortal, cookie_value};
use serde_json::json;
use support::{
    CONVERGE,
    cluster::{portal_client, status_writer},
    directory,
    identity::{IdentityRun, bind, first, read, search},
    wait_until,
};

fn user(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryUser", "metadata": {"name": name}, "spec": spec})
}

fn group(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryGroup", "metadata": {"name": name}, "spec": spec})
}

/// The members of the group `cn` in the agency's Groups OU, as DNs in lower case.
fn members(t: &IdentityRun, cn: &str) -> Vec<String> {
    let entry = read(&t.dn(cn, "Groups"), &["member"]).unwrap_or_default();
    entry.get("member").cloned().unwrap_or_default().into_iter().map(|m| m.to_lowercase()).collect()
}

#[tokio::test]
async fn agencies_people_and_groups_become_the_directory() {
    let t = IdentityRun::start(30, "Correct", 300).await;

    // The Directory: signed in over TLS, the domain's level and password policy read.
    let directories: Api<Directory> = Api::all(t.admin.clone());
    let directory = wait_until("the Directory to be Ready", CONVERGE, || async {
        let d = directories.get(&t.directory).await.map_err(|e| e.to_string())?;
        let status = d.status.clone().unwrap_or_default();
        let ready = status.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True");
        if ready && status.agencies.iter().any(|a| a.code == t.code && a.ready) {
            Ok(d)
        } else {
            Err(format!("{status:?}"))
        }
    })
    .await;
    let status = directory.status.unwrap();
    let policy = status.password_policy.expect("the password policy is reported");
    assert!(policy.min_length >= 7 && policy.complexity, "{policy:?}");
    assert!(status.functional_level.is_some());

    // The agency's OU, its sub-OUs and its five role groups, marked as the platform's.
    for unit in ["People", "Groups", "Service Accounts", "Leavers"] {
        assert!(read(&format!("OU={unit},{}", t.agency_ou), &["ou"]).is_some(), "OU={unit} exists");
    }
    for role in ["admins", "requesters", "approvers", "security", "viewers"] {
        let entry = read(&t.dn(&format!("{}-{role}", t.code), "Groups"), &["adminDescription", "groupType"])
            .unwrap_or_else(|| panic!("the {role} role group exists"));
        assert_eq!(first(&entry, "adminDescription"), Some(format!("makonis:Agency:{}", t.code).as_str()));
        assert_eq!(first(&entry, "groupType"), Some("-2147483646"));
    }

    // A group, a manager and a person with Latvian names, groups and a role.
    let finance = format!("{}-Finanses", t.code);
    t.apply::<DirectoryGroup>(group("finanses", json!({"name": finance, "description": "Finanšu nodaļa"}))).await;
    t.apply::<DirectoryUser>(user(
        "anna",
        json!({"username": "anna.berzina", "givenName": "Anna", "surname": "Bērziņa"}),
    ))
    .await;
    t.apply::<DirectoryUser>(user(
        "liga",
        json!({
            "username": "liga.ozolina", "givenName": "Līga", "surname": "Ozoliņa",
            "email": "liga.ozolina@vsaa.gov.lv", "title": "Vecākā referente", "department": "Finanšu nodaļa",
            "manager": "anna", "groups": ["finanses"], "roles": ["requesters"], "expires": "2027-06-30"
        }),
    ))
    .await;
    let object = t.wait_condition("directoryusers", "liga", "Ready", "True").await;
    let dn = t.dn("Līga Ozoliņa", "People");
    assert_eq!(object["status"]["dn"], dn.as_str());
    let entry = read(
        &dn,
        &[
            "givenName",
            "sn",
            "displayName",
            "mail",
            "title",
            "department",
            "manager",
            "userAccountControl",
            "pwdLastSet",
            "accountExpires",
            "userPrincipalName",
        ],
    )
    .expect("the account exists");
    assert_eq!(first(&entry, "givenName"), Some("Līga"));
    assert_eq!(first(&entry, "sn"), Some("Ozoliņa"));
    assert_eq!(first(&entry, "displayName"), Some("Līga Ozoliņa"));
    assert_eq!(first(&entry, "department"), Some("Finanšu nodaļa"));
    assert_eq!(first(&entry, "title"), Some("Vecākā referente"));
    assert_eq!(first(&entry, "userPrincipalName"), Some("liga.ozolina@lm.test"));
    assert_eq!(first(&entry, "manager").map(str::to_lowercase), Some(t.dn("Anna Bērziņa", "People").to_lowercase()));
    assert_eq!(first(&entry, "userAccountControl"), Some("512"));
    assert_eq!(first(&entry, "pwdLastSet"), Some("0"), "the person must change the password at the first sign-in");
    // 2027-06-30T00:00:00Z as a Windows file time.
    assert_eq!(first(&entry, "accountExpires"), Some("134587872000000000"));

    // Membership: the declared group and the role group.
    wait_until("the memberships", CONVERGE, || async {
        let finance = members(&t, &finance);
        let requesters = members(&t, &format!("{}-requesters", t.code));
        let me = dn.to_lowercase();
        if finance.contains(&me) && requesters.contains(&me) {
            Ok(())
        } else {
            Err(format!("{finance:?} {requesters:?}"))
        }
    })
    .await;

    // The initial password is handed over in a Secret; the directory takes it, and asks
    // for a new one at the first sign-in (data 773), where a wrong one is refused (52e).
    let secrets: Api<Secret> = Api::namespaced(t.admin.clone(), &t.namespace);
    let secret = secrets.get("liga-initial-password").await.expect("the initial password Secret");
    let password = String::from_utf8(secret.data.unwrap()["password"].0.clone()).unwrap();
    assert_eq!(object["status"]["initialPasswordSecret"], "liga-initial-password");
    let refused = bind("liga.ozolina@lm.test", &password).unwrap_err();
    assert!(refused.contains("data 773"), "must change the password first: {refused}");
    let wrong = bind("liga.ozolina@lm.test", "Wrong-Parole-1!").unwrap_err();
    assert!(wrong.contains("data 52e"), "{wrong}");

    // A new display name renames the entry; the memberships follow it.
    t.apply::<DirectoryUser>(user(
        "liga",
        json!({
            "username": "liga.ozolina", "givenName": "Līga", "surname": "Ozoliņa-Kalniņa",
            "displayName": "Līga Ozoliņa-Kalniņa", "email": "liga.ozolina@vsaa.gov.lv",
            "manager": "anna", "groups": ["finanses"], "roles": ["requesters"], "enabled": false
        }),
    ))
    .await;
    t.wait_condition("directoryusers", "liga", "Ready", "True").await;
    let renamed = t.dn("Līga Ozoliņa-Kalniņa", "People");
    let entry = read(&renamed, &["sn", "title", "userAccountControl", "accountExpires"]).expect("renamed");
    assert!(read(&dn, &["cn"]).is_none(), "the old name is gone");
    assert_eq!(first(&entry, "sn"), Some("Ozoliņa-Kalniņa"));
    assert_eq!(first(&entry, "title"), None, "a title no longer declared is removed");
    assert_eq!(first(&entry, "userAccountControl"), Some("514"), "disabled");
    assert!(members(&t, &finance).contains(&renamed.to_lowercase()));

    // Nested groups: a group holds a group and a person.
    t.apply::<DirectoryGroup>(group(
        "visi",
        json!({"name": format!("{}-Visi", t.code), "members": [{"group": "finanses"}, {"user": "anna"}]}),
    ))
    .await;
    t.wait_condition("directorygroups", "visi", "Ready", "True").await;
    let all = members(&t, &format!("{}-Visi", t.code));
    assert!(all.contains(&t.dn(&finance, "Groups").to_lowercase()), "{all:?}");
    assert!(all.contains(&t.dn("Anna Bērziņa", "People").to_lowercase()), "{all:?}");

    // A member DN outside the agency's OU is refused, with the field, and nothing is made.
    t.apply::<DirectoryGroup>(group(
        "svesie",
        json!({"name": format!("{}-Svesie", t.code), "members": [{"dn": "CN=Administrator,CN=Users,DC=lm,DC=test"}]}),
    ))
    .await;
    let refused = t.wait_false("directorygroups", "svesie", "Ready", "InvalidSpec").await;
    let ready =
        refused["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap().clone();
    assert_eq!(ready["reason"], "InvalidSpec");
    assert!(ready["message"].as_str().unwrap().contains("spec.members[0].dn"), "{ready}");
    assert!(read(&t.dn(&format!("{}-Svesie", t.code), "Groups"), &["cn"]).is_none());
}

#[tokio::test]
async fn password_policy_refusals_come_back_in_the_servers_words() {
    let t = IdentityRun::start(30, "Correct", 300).await;
    let secrets: Api<Secret> = Api::namespaced(t.admin.clone(), &t.namespace);
    for (name, password, words) in [
        ("short", "Ab1!", "the password is too short"),
        ("simple", "vienkarsaparole", "the password does not meet the complexity criteria"),
    ] {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name}, "stringData": {"password": password}
        }))
        .unwrap();
        secrets.create(&Default::default(), &secret).await.unwrap();
        t.apply::<DirectoryUser>(user(
            name,
            json!({"username": format!("p.{name}"), "givenName": "Pēteris", "surname": name, "password": {"secretRef": name}}),
        ))
        .await;
        let object = t.wait_false("directoryusers", name, "PasswordSet", "PasswordPolicy").await;
        let condition = object["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "PasswordSet")
            .unwrap()
            .clone();
        assert_eq!(condition["reason"], "PasswordPolicy");
        assert!(condition["message"].as_str().unwrap().contains(words), "{condition}");
        let event = support::events::wait_for_warning_in(&t.admin, &t.namespace, name, "PasswordRefused").await;
        assert!(event.contains(words), "{event}");
        assert!(read(&t.dn(&format!("Pēteris {name}"), "People"), &["cn"]).is_none(), "no account without a password");
    }
}

#[tokio::test]
async fn entries_the_platform_did_not_create_are_never_touched() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let people = format!("OU=People,{}", t.agency_ou);
    wait_until("the agency's OUs", CONVERGE, || async {
        read(&people, &["ou"]).map(|_| ()).ok_or("not yet".to_string())
    })
    .await;
    let foreign = t.dn("Pēteris Kalns", "People");
    support::identity::ldap_modify(&format!(
        "dn: {foreign}\nchangetype: add\nobjectClass: user\nsAMAccountName: pk{}\ndescription: manual\n",
        t.run
    ));
    t.apply::<DirectoryUser>(user(
        "peteris",
        json!({"username": format!("pk.{}", t.run), "givenName": "Pēteris", "surname": "Kalns"}),
    ))
    .await;
    let object = t.wait_false("directoryusers", "peteris", "Ready", "NotManaged").await;
    let ready =
        object["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Ready").unwrap().clone();
    assert_eq!(ready["reason"], "NotManaged", "{ready}");
    assert!(ready["message"].as_str().unwrap().contains("never changes it"), "{ready}");
    // Deleting the object leaves the foreign entry as it was.
    let users = t.users();
    users.delete("peteris", &DeleteParams::default()).await.unwrap();
    wait_until("the object to go", CONVERGE, || async {
        match users.get_opt("peteris").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("still there".to_string()),
        }
    })
    .await;
    let entry = read(&foreign, &["description", "adminDescription", "userAccountControl"]).expect("still there");
    assert_eq!(first(&entry, "description"), Some("manual"));
    assert_eq!(first(&entry, "adminDescription"), None);
    let _ = search(&t.agency_ou, "(objectClass=user)", &["cn"]);
}

#[tokio::test]
async fn bulk_import_checks_the_whole_file_then_creates_the_accounts() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let dir = std::env::temp_dir().join(format!("makonis-import-{}", t.run));
    std::fs::create_dir_all(&dir).unwrap();
    let import = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_makonis"))
            .args(["identity", "import", "--agency", &t.code])
            .arg(file)
            .env("KUBECONFIG", support::cluster::admin_kubeconfig_path())
            .output()
            .expect("makonis runs")
    };

    // A file with bad rows: every one is reported, and nothing is applied.
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "username,givenName,surname,email,manager,roles\n\
         ok.one,Anna,Ozola,anna@vsaa.gov.lv,,\n\
         Bad Name,Anna,Ozola,,,\n\
         two,Jānis,,nav-epasts,nobody,bosses\n",
    )
    .unwrap();
    let output = import(&bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    for expected in [
        "line 3: username",
        "line 4: surname: is required",
        "line 4: email",
        "line 4: manager",
        "line 4: roles",
        "5 problem(s)",
        "nothing was applied",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(t.users().list(&Default::default()).await.unwrap().items.is_empty(), "nothing applied");

    // A good file of 30 people with Latvian names becomes 30 accounts.
    let given = ["Līga", "Jānis", "Ēriks", "Ieva", "Māris", "Zane"];
    let surnames = ["Ozoliņa", "Kalniņš", "Bērziņš", "Šmite", "Žagars"];
    let mut csv = String::from("username,givenName,surname,email,manager,roles\n");
    for i in 0..30 {
        let (g, s) = (given[i % given.len()], surnames[i % surnames.len()]);
        let manager = if i == 0 { String::new() } else { "p00".to_string() };
        csv.push_str(&format!("p{i:02},{g},{s} {i},p{i:02}@vsaa.gov.lv,{manager},viewers\n"));
    }
    let good = dir.join("good.csv");
    std::fs::write(&good, csv).unwrap();
    let output = import(&good);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).contains("applied 30 DirectoryUsers"));
    let users = t.users();
    wait_until("30 accounts", CONVERGE, || async {
        let list = users.list(&Default::default()).await.map_err(|e| e.to_string())?;
        let ready = list
            .items
            .iter()
            .filter(|u| {
                u.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
            .count();
        if ready == 30 { Ok(()) } else { Err(format!("{ready} of {} ready", list.items.len())) }
    })
    .await;
    let people = search(&format!("OU=People,{}", t.agency_ou), "(objectClass=user)", &["sn", "manager"]);
    assert_eq!(people.len(), 30);
    assert!(people.iter().any(|(dn, _)| dn.contains("Šmite 3")), "{people:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn agency_admins_manage_only_their_own_people() {
    use support::access::{Request, allowed};
    let t = IdentityRun::start(0, "Correct", 300).await;
    let admins = vec![format!("{}-admins", t.code)];
    let viewers = vec![format!("{}-viewers", t.code)];
    let other = "agency-someone-else";
    for resource in ["directoryusers", "directorygroups", "directoryserviceaccounts"] {
        let request = |verb, namespace| Request {
            verb,
            group: "identity.makonis.lv",
            resource,
            subresource: None,
            namespace: Some(namespace),
        };
        assert!(allowed(&t.admin, "ilze", &admins, request("create", &t.namespace)).await, "{resource}");
        assert!(!allowed(&t.admin, "ilze", &admins, request("create", other)).await, "{resource} elsewhere");
        assert!(!allowed(&t.admin, "ilze", &viewers, request("create", &t.namespace)).await, "{resource} as viewer");
        let status = Request { subresource: Some("status"), ..request("patch", &t.namespace) };
        assert!(!allowed(&t.admin, "ilze", &admins, status).await, "{resource}/status");
    }
    let directories = Request {
        verb: "create",
        group: "identity.makonis.lv",
        resource: "directories",
        subresource: None,
        namespace: None,
    };
    assert!(!allowed(&t.admin, "ilze", &admins, directories).await, "Directories are the platform's");
}

#[tokio::test]
async fn the_sectors_twelve_agencies_get_their_units_and_role_groups() {
    let t = IdentityRun::start(0, "Correct", 300).await;
    let sector = [
        "lm",
        "nva",
        "siva",
        "vbtai",
        "vdeavk",
        "vdi",
        "vsaa",
        "vsac-kurzeme",
        "vsac-latgale",
        "vsac-riga",
        "vsac-vidzeme",
        "vsac-zemgale",
    ];
    let agencies: Api<makonis_api::tenancy::Agency> = Api::all(t.admin.clone());
    let mut codes = Vec::new();
    for name in sector {
        // The sector's codes, made unique to this run (codes are at most 20 characters).
        let code = format!("{name}-{}", t.run);
        let ou = format!("OU={},OU=Iestades,{}", name.to_uppercase(), t.subtree);
        let agency = support::identity::identity_agency(&code, &t.run, &ou);
        agencies.create(&Default::default(), &agency).await.unwrap_or_else(|e| panic!("{code}: {e}"));
        codes.push((code, ou));
    }
    let directories: Api<Directory> = Api::all(t.admin.clone());
    wait_until("all twelve agencies in place", CONVERGE, || async {
        let d = directories.get(&t.directory).await.map_err(|e| e.to_string())?;
        let units = d.status.map(|s| s.agencies).unwrap_or_default();
        let ready = codes.iter().filter(|(code, _)| units.iter().any(|u| &u.code == code && u.ready)).count();
        if ready == 12 { Ok(()) } else { Err(format!("{ready} of 12: {units:?}")) }
    })
    .await;
    for (code, ou) in &codes {
        for unit in ["People", "Groups", "Service Accounts", "Leavers"] {
            assert!(read(&format!("OU={unit},{ou}"), &["ou"]).is_some(), "{code}: OU={unit}");
        }
        let groups = search(&format!("OU=Groups,{ou}"), "(objectClass=group)", &["cn", "adminDescription"]);
        let mut names: Vec<String> = groups.iter().filter_map(|(_, g)| first(g, "cn").map(str::to_string)).collect();
        names.sort();
        let mut wanted: Vec<String> = ["admins", "approvers", "requesters", "security", "viewers"]
            .iter()
            .map(|r| format!("{code}-{r}"))
            .collect();
        wanted.sort();
        assert_eq!(names, wanted, "{code}");
        assert!(
            groups.iter().all(|(_, g)| first(g, "adminDescription") == Some(format!("makonis:Agency:{code}").as_str()))
        );
    }
}

/// The portal as the platform runs it: its own ServiceAccount's view of the cluster, the
/// Samba domain to sign in against, and the local account `admin` in the agency's
/// administrators group.
async fn portal_over(t: &IdentityRun) -> (TestPortal, tokio::task::JoinHandle<()>) {
    let client = portal_client().await;
    let (view, drive) = ClusterView::watch(&client);
    let watch = tokio::spawn(drive);
    let store = portal_support::sqlite_store().await;
    let admin = Account {
        username: "admin".into(),
        password_hash: hash_password(portal_support::portal::PASSWORD),
        display_name: "Administratore".into(),
        email: None,
        groups: vec![format!("{}-admins", t.code), "bez-lomas".into()],
    };
    store.put_account(&admin, 0).await.unwrap();
    let outsider = Account { username: "outsider".into(), groups: vec!["bez-lomas".into()], ..admin };
    store.put_account(&outsider, 0).await.unwrap();
    let config = PortalConfig { directory: Some(directory::samba()), ..PortalConfig::default() };
    let portal = TestPortal::over(Arc::new(Context::new(store, view, Some(client), config)));
    wait_until("the portal to see the agency", CONVERGE, || async {
        portal.context.view.agency(&t.code).map(|_| ()).ok_or_else(|| "not yet".to_string())
    })
    .await;
    (portal, watch)
}

/// Posts `fields` to `/password` as someone not signed in (with the form's own token).
async fn change_password(portal: &TestPortal, fields: &[(&str, &str)]) -> portal_support::portal::Answer {
    let name = portal.cookie_name(makonis_portal::web::cookies::LOGIN_CSRF);
    let form = portal.get(None, "/password").await;
    let csrf = cookie_value(&form.headers, &name).expect("the form sets its CSRF cookie");
    let mut pairs = vec![("_csrf", csrf.as_str())];
    pairs.extend_from_slice(fields);
    portal.post_raw(Some(&format!("{name}={csrf}")), "/password", &serde_urlencoded::to_string(&pairs).unwrap()).await
}

/// The whole life of a person added in the portal: the agency's administrator adds them
/// (the first password shown once), the identity operator creates the account, the person
/// signs in with the first password, is asked for their own, and from then on signs in
/// with the password they set; the one-time Secret is gone; the administrator disables
/// them and they no longer get in. Someone without the agency's administrator role gets
/// nothing of it. Every step is in the audit trail.
#[tokio::test]
async fn a_person_added_in_the_portal_signs_in_with_the_password_they_set() {
    let t = IdentityRun::start(30, "Correct", 300).await;
    let (portal, watch) = portal_over(&t).await;
    let admin = portal.try_sign_in("admin", portal_support::portal::PASSWORD).await.expect("the admin signs in");
    let people = format!("/agencies/{}/people", t.code);

    let outsider = portal.try_sign_in("outsider", portal_support::portal::PASSWORD).await.unwrap();
    assert_eq!(portal.get(Some(&outsider), &people).await.status.as_u16(), 404, "another's people are not there");
    let username = format!("pp{}", t.run);
    let fields = [
        ("username", username.as_str()),
        ("given_name", "Dārta"),
        ("surname", "Kļaviņa"),
        ("email", "darta.klavina@example.lv"),
        ("roles", "requesters"),
    ];
    let refused = portal.post(&outsider, &people, &fields).await;
    assert_eq!(refused.status.as_u16(), 404, "nor can anybody else add any");

    let page = portal.get(Some(&admin), &people).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    let invalid =
        portal.post(&admin, &people, &[("username", "Ne Derīgs!"), ("given_name", ""), ("surname", "X")]).await;
    assert_eq!(invalid.status.as_u16(), 422, "{}", invalid.body);
    assert!(invalid.body.contains(r#"id="username-error""#) && invalid.body.contains(r#"id="given_name-error""#));

    let added = portal.post(&admin, &people, &fields).await;
    assert_eq!(added.status.as_u16(), 200, "{}", added.body);
    let start = added.body.find(r#"id="first-password-value">"#).expect("the first password is shown") + 26;
    let first_password = added.body[start..].split('<').next().unwrap().to_string();
    assert!(first_password.len() >= 16, "{first_password:?}");
    let again = portal.get(Some(&admin), &people).await;
    assert!(!again.body.contains(&first_password), "shown once only");
    assert!(again.body.contains("Dārta Kļaviņa"), "listed");

    let ready = t.wait_condition("directoryusers", &username, "Ready", "True").await;
    let secret = ready["spec"]["password"]["secretRef"].as_str().expect("the first password's Secret").to_string();
    let dn = t.dn("Dārta Kļaviņa", "People");
    assert_eq!(first(&read(&dn, &["pwdLastSet"]).expect("the account"), "pwdLastSet"), Some("0"));
    assert_eq!(ready["status"]["initialPasswordSecret"].as_str(), Some(secret.as_str()));
    // A status can be lost (objects restored without theirs): the one-time Secret is then
    // found from the spec, so it still goes once the person has set their own password.
    let lost = serde_json::json!({"status": {"initialPasswordSecret": null, "conditions": []}});
    let writer: Api<DirectoryUser> = Api::namespaced(status_writer("identity.makonis.lv").await, &t.namespace);
    writer.patch_status(&username, &PatchParams::default(), &Patch::Merge(&lost)).await.unwrap();

    let first_sign_in =
        portal.try_sign_in(&username, &first_password).await.expect_err("a new password is wanted first");
    assert!(first_sign_in.body.contains(r#"id="password-required""#), "{}", first_sign_in.body);
    let own = "Manis-Izvēlēta-9!";
    let changed = change_password(
        &portal,
        &[
            ("username", &username),
            ("current_password", &first_password),
            ("new_password", own),
            ("repeat_password", own),
        ],
    )
    .await;
    assert_eq!(changed.status.as_u16(), 303, "{}", changed.body);
    let person: Browser =
        portal.try_sign_in(&username, own).await.expect("the person signs in with their own password");
    let mine = portal.get(Some(&person), "/password").await;
    assert!(mine.body.contains(&format!(r#"value="{username}" readonly"#)), "signed in as themselves");
    assert_eq!(portal.get(Some(&person), &people).await.status.as_u16(), 404, "a requester does not manage people");

    let edit = format!("{people}/{username}");
    let form = portal.get(Some(&admin), &edit).await;
    assert!(form.body.contains(r#"name="enabled" value="on" checked"#), "{}", form.body);
    let disabled =
        portal.post(&admin, &edit, &[("given_name", "Dārta"), ("surname", "Kļaviņa"), ("roles", "requesters")]).await;
    assert_eq!(disabled.status.as_u16(), 303, "{}", disabled.body);
    wait_until("the account to be disabled", CONVERGE, || async {
        match first(&read(&dn, &["userAccountControl"]).unwrap_or_default(), "userAccountControl") {
            Some("514") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let shut = portal.try_sign_in(&username, own).await.expect_err("a disabled person cannot sign in");
    assert_eq!(shut.status.as_u16(), 401);
    // The directory is read at each reconcile (the change above is one): the person has set
    // their own password, so the one-time Secret has done its job.
    let secrets: Api<Secret> = Api::namespaced(t.admin.clone(), &t.namespace);
    wait_until("the one-time Secret to be deleted", CONVERGE, || async {
        match secrets.get_opt(&secret).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err("still there".to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;

    let group = portal
        .post(
            &admin,
            &format!("/agencies/{}/groups", t.code),
            &[("name", &format!("{}-Darbs", t.code)), ("kind", "Security")],
        )
        .await;
    assert_eq!(group.status.as_u16(), 303, "{}", group.body);
    t.wait_condition("directorygroups", &format!("{}-darbs", t.code), "Ready", "True").await;

    let query = AuditQuery { agencies: Some(vec![t.code.clone()]), actor: None, before: None, limit: 100 };
    let rows = portal.context.store.audit_events(&query).await.unwrap();
    let seen: Vec<(String, String, String)> =
        rows.iter().map(|r| (r.event.actor.clone(), r.event.action.clone(), r.event.outcome.clone())).collect();
    for (actor, action, outcome) in [
        ("outsider", "add_person", "denied"),
        ("admin", "add_person", "started"),
        ("admin", "add_person", "success"),
        ("admin", "change_person", "success"),
        ("admin", "add_group", "success"),
    ] {
        assert!(seen.contains(&(actor.into(), action.into(), outcome.into())), "{actor} {action} {outcome}: {seen:?}");
    }
    assert!(rows.iter().all(|r| !r.event.detail.contains(&first_password)), "no password in the trail");
    watch.abort();
}
