//! One mail system for the agencies, against real Postfix, Dovecot and Samba AD: mail to
//! a mailbox made from a `Mailbox` object is read over IMAP with the person's directory
//! password, Latvian subject and body intact; aliases and lists deliver; a full mailbox
//! refuses at RCPT; a disabled account stops receiving, sending and signing in; nobody
//! relays; people send through submission signed in, as themselves only; and an agency's
//! mailboxes move in from its old IMAP server (a second Dovecot).

mod support;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams},
};
use makonis_api::{
    identity::{DirectoryGroup, DirectoryUser},
    tenancy::Agency,
};
use serde_json::json;
use support::{
    CONVERGE, dkim,
    identity::{ldap_modify, read, search},
    mail::{Imap, MailRun, OLD_MASTER, OldServer, Smtp, latvian_message, set_own_password, wait_inbox},
    wait_until,
};

const PASSWORD: &str = "Vēstule-Parole-2026!";

fn user(username: &str, given: &str, surname: &str, email: &str, groups: &[&str]) -> serde_json::Value {
    json!({
        "apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryUser", "metadata": {"name": username},
        "spec": {"username": username, "givenName": given, "surname": surname, "email": email, "groups": groups}
    })
}

#[tokio::test]
async fn mail_is_delivered_read_refused_and_never_relayed_as_declared() {
    let mut t = MailRun::start().await;
    let run = t.id.run.clone();
    let (anna, janis, pilna) = (format!("anna{run}"), format!("janis{run}"), format!("pilna{run}"));
    let anna_at = t.address("anna.berzina");
    let janis_at = t.address("janis.kalnins");
    let pilna_at = t.address("pilna");
    t.apply_mail("MailDomain", "domain", json!({"domain": t.domain, "dmarc": "reject"})).await;
    t.apply_mail("MailDomain", "not-ours", json!({"domain": "vsaa.gov.lv"})).await;
    t.id.apply::<DirectoryGroup>(json!({
        "apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryGroup", "metadata": {"name": "finanses"},
        "spec": {"name": format!("{}-Finanses", t.id.code), "kind": "Distribution", "members": [{"user": anna.clone()}]}
    }))
    .await;
    for (name, given, surname, email, groups) in [
        (&anna, "Anna", "Bērziņa", &anna_at, vec![]),
        (&janis, "Jānis", "Kalniņš", &janis_at, vec!["finanses"]),
        (&pilna, "Pilna", "Kastīte", &pilna_at, vec![]),
    ] {
        t.id.apply::<DirectoryUser>(user(name, given, surname, email, &groups)).await;
    }
    for name in [&anna, &janis, &pilna] {
        let ready = t.id.wait_condition("directoryusers", name, "Ready", "True").await;
        set_own_password(ready["status"]["dn"].as_str().expect("a DN"), PASSWORD);
    }
    t.apply_mail("Mailbox", &anna, json!({"user": anna, "aliases": [t.address("anna")]})).await;
    t.apply_mail("Mailbox", &janis, json!({"user": janis})).await;
    t.apply_mail("Mailbox", &pilna, json!({"user": pilna, "quota": "1Mi"})).await;
    t.apply_mail("MailAlias", "info", json!({"address": t.address("info"), "to": [anna_at, janis_at]})).await;
    t.apply_mail("MailAlias", "leak", json!({"address": t.address("leak"), "to": ["someone@example.org"]})).await;
    t.apply_mail("MailingList", "finanses", json!({"address": t.address("finanses"), "group": "finanses"})).await;

    // The domain: served, its DKIM key generated, the records to publish shown.
    let domain = t.wait_ready("MailDomain", "domain", "True", "Serving").await;
    let records = domain["status"]["dnsRecords"].as_array().expect("DNS records").clone();
    let record = |name: &str, start: &str| {
        records.iter().any(|r| r["name"] == name && r["value"].as_str().unwrap().starts_with(start))
    };
    assert!(record(&t.domain, &format!("10 mail.{}.", t.domain)), "MX: {records:?}");
    assert!(record(&t.domain, "v=spf1 mx -all"), "SPF: {records:?}");
    assert!(record(&format!("makonis._domainkey.{}", t.domain), "v=DKIM1; k=rsa; p=MII"), "DKIM: {records:?}");
    assert!(record(&format!("_dmarc.{}", t.domain), "v=DMARC1; p=reject"), "DMARC: {records:?}");
    // A domain the platform did not confirm for the agency is refused, and not served.
    t.wait_ready("MailDomain", "not-ours", "False", "DomainNotHeld").await;
    for name in [&anna, &janis, &pilna] {
        t.wait_ready("Mailbox", name, "True", "Delivering").await;
    }
    // The addresses live in the directory too, for every client that reads it.
    let anna_dn = t.id.wait_condition("directoryusers", &anna, "Ready", "True").await["status"]["dn"]
        .as_str()
        .unwrap()
        .to_string();
    let wanted = vec![format!("SMTP:{anna_at}"), format!("smtp:{}", t.address("anna"))];
    wait_until("Anna's proxyAddresses", CONVERGE, || async {
        let entry = read(&anna_dn, &["proxyAddresses"]).ok_or("no entry")?;
        let mut live = entry.get("proxyaddresses").cloned().unwrap_or_default();
        live.sort();
        match live == wanted {
            true => Ok(()),
            false => Err(format!("{live:?}")),
        }
    })
    .await;
    let list = t.wait_ready("MailingList", "finanses", "True", "Delivering").await;
    assert_eq!(list["status"]["recipients"], 2, "Anna as a member, Jānis through his groups");
    t.wait_ready("MailAlias", "info", "True", "Delivering").await;
    let leak = t.wait_ready("MailAlias", "leak", "False", "TargetRefused").await;
    assert!(leak["status"]["conditions"].to_string().contains("does not allow external forwarding"));
    assert!(!t.rendered("postfix/main.cf").contains("vsaa.gov.lv"));
    t.start_servers().await;

    // Delivered, and read back with the directory password, Latvian intact.
    let subject = "Iesniegums par pabalstu — ļoti steidzami";
    let body = "Labdien! Lūdzu izskatīt pielikumā esošo iesniegumu. Ar cieņu, Žanis Ūdris";
    let mut smtp = Smtp::connect(t.smtp).await;
    let (code, text) = smtp
        .send("zanis@example.org", &[&anna_at], &latvian_message("zanis@example.org", &anna_at, subject, body))
        .await;
    assert_eq!(code, 250, "{text}");
    let mut imap = wait_inbox(&t, &anna_at, PASSWORD, 1).await;
    let message = imap.fetch(1).await;
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, subject);
    assert!(message.contains(&encoded), "the subject: {message}");
    assert!(message.contains(body), "the body: {message}");
    assert!(Imap::login(t.imaps, &t.ca_pem, &anna_at, "nepareiza-parole").await.is_err(), "a wrong password signs in");

    // Unknown people are refused before the data; nobody relays, localhost included.
    let (code, text) = smtp.send("zanis@example.org", &[&t.address("nav.tada")], "x").await;
    assert_eq!(code, 550, "{text}");
    for from in ["zanis@example.org", anna_at.as_str()] {
        let (code, text) = smtp.send(from, &["victim@example.net"], "spam").await;
        assert_eq!(code, 554, "relay from {from}: {text}");
        assert!(text.contains("Relay access denied"), "{text}");
    }

    // An alias and a list reach everyone they name.
    for (to, subject) in [(t.address("info"), "Alias"), (t.address("finanses"), "Saraksts")] {
        let (code, text) =
            smtp.send("zanis@example.org", &[&to], &latvian_message("zanis@example.org", &to, subject, "ā")).await;
        assert_eq!(code, 250, "{to}: {text}");
    }
    wait_inbox(&t, &anna_at, PASSWORD, 3).await;
    wait_inbox(&t, &janis_at, PASSWORD, 2).await;
    let (code, _) = smtp.send("zanis@example.org", &[&t.address("leak")], "x").await;
    assert_eq!(code, 550, "a refused alias receives nothing");

    // Submission: a person signed in sends to a colleague and out, as their own address or
    // alias; never as someone else, never without TLS or a password.
    let reply = "Paldies, Jāni! Iesniegums saņemts.";
    let to_janis = latvian_message(&anna_at, &janis_at, "Atbilde", reply);
    t.submit(&anna_at, PASSWORD, &anna_at, &janis_at, &to_janis).await.expect("Anna sends to Jānis");
    let mut inbox = wait_inbox(&t, &janis_at, PASSWORD, 3).await;
    let sent = inbox.message(3).await;
    assert!(sent.contains(reply), "Jānis reads Anna's mail: {sent}");
    // Signed with the domain's key, as its published record lets any receiver check; the
    // same check fails on a changed body or signed header. Mail that came in on port 25 is
    // not signed here.
    let dkim = records.iter().find(|r| r["name"] == format!("makonis._domainkey.{}", t.domain)).unwrap();
    let record = dkim["value"].as_str().unwrap();
    let verified = dkim::verify(&sent, record).unwrap_or_else(|e| panic!("{e}: {sent}"));
    assert_eq!((verified.domain.as_str(), verified.selector.as_str()), (t.domain.as_str(), "makonis"));
    assert!(verified.headers.iter().filter(|h| *h == "from").count() == 2, "From is oversigned: {verified:?}");
    let changed_body = sent.replace(reply, "Paldies, Jāni! Iesniegums noraidīts.");
    assert!(dkim::verify(&changed_body, record).is_err_and(|e| e.contains("body hash")));
    let changed_header = sent.replace("To: <", "To: <kopija@example.org>, <");
    assert!(dkim::verify(&changed_header, record).is_err_and(|e| e.contains("does not verify")), "a changed To");
    assert!(!wait_inbox(&t, &anna_at, PASSWORD, 3).await.message(1).await.contains("DKIM-Signature"));

    // A domain added while the mail system runs: its key is made, OpenDKIM rereads its
    // tables and signs for it too, and Anna sends as her alias there.
    let second = format!("pasts.{}", t.domain);
    Api::<Agency>::all(t.id.admin.clone())
        .patch(
            &t.id.code,
            &PatchParams::apply("mail-test").force(),
            &Patch::Apply(json!({
                "apiVersion": "tenancy.makonis.lv/v1alpha1", "kind": "Agency",
                "spec": {"domains": [t.domain, second]}
            })),
        )
        .await
        .expect("the platform confirms the second domain");
    t.apply_mail("MailDomain", "second", json!({"domain": second})).await;
    let served = t.wait_ready("MailDomain", "second", "True", "Serving").await;
    let second_dkim = served["status"]["dnsRecords"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == format!("makonis._domainkey.{second}")))
        .and_then(|r| r["value"].as_str())
        .expect("the second domain's DKIM record")
        .to_owned();
    let anna_second = format!("anna@{second}");
    t.apply_mail("Mailbox", &anna, json!({"user": anna, "aliases": [t.address("anna"), anna_second]})).await;
    let from_second = latvian_message(&anna_second, &janis_at, "No jaunās adreses", "ā");
    wait_until("Anna to send as her new alias", CONVERGE, || async {
        t.submit(&anna_at, PASSWORD, &anna_second, &janis_at, &from_second).await
    })
    .await;
    let sent = wait_inbox(&t, &janis_at, PASSWORD, 4).await.message(4).await;
    let verified = dkim::verify(&sent, &second_dkim).unwrap_or_else(|e| panic!("{e}: {sent}"));
    assert_eq!(verified.domain, second, "signed with the new domain's key");
    let anna_alias = t.address("anna");
    for (from, to) in [(&anna_at, "kolega@example.net"), (&anna_alias, "kolega@example.net")] {
        let out = latvian_message(from, to, "Uz āru", "ā");
        t.submit(&anna_at, PASSWORD, from, to, &out).await.unwrap_or_else(|e| panic!("{from} to {to}: {e}"));
    }
    for from in [janis_at.as_str(), "prezidents@example.org", &t.address("info")] {
        let refused = t.submit(&anna_at, PASSWORD, from, &janis_at, "x").await.expect_err(from);
        assert!(refused.contains("553 5.7.1") && refused.contains("not owned by user"), "{from}: {refused}");
    }
    let wrong = t.submit(&anna_at, "nepareiza-parole", &anna_at, &janis_at, "x").await.expect_err("wrong password");
    assert!(wrong.contains("535 5.7.8"), "{wrong}");
    let mut plain = Smtp::connect(t.submission).await;
    let (code, text) = plain.command("EHLO klients.example.org").await;
    assert!(code == 250 && text.contains("STARTTLS") && !text.contains("AUTH"), "no sign-in offered: {text}");
    let (code, text) = plain.command("AUTH PLAIN AGFubmEAcGFyb2xl").await;
    assert_eq!(code, 530, "no sign-in before TLS: {text}");
    let (code, text) = plain.command(&format!("MAIL FROM:<{anna_at}>")).await;
    assert_eq!(code, 530, "nothing before TLS: {text}");

    // A mailbox filling up: a warning at 80 %, then the next message refused at RCPT.
    let big = "x".repeat(76) + "\n";
    let filler = latvian_message("zanis@example.org", &pilna_at, "Liels", &big.repeat(11_500));
    let (code, text) = smtp.send("zanis@example.org", &[&pilna_at], &filler).await;
    assert_eq!(code, 250, "{text}");
    let mut full = wait_inbox(&t, &pilna_at, PASSWORD, 2).await;
    let warning = full.fetch(2).await;
    let warned = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "Pastkaste ir 80 % pilna / Mailbox 80 % full",
    );
    assert!(warning.contains(&warned), "the 80 % warning: {warning}");
    let (code, text) = smtp.command("MAIL FROM:<zanis@example.org> SIZE=300000").await;
    assert_eq!(code, 250, "{text}");
    let (code, text) = smtp.command(&format!("RCPT TO:<{pilna_at}>")).await;
    assert_eq!(code, 552, "{text}");
    assert!(text.starts_with("552 5.2.2") && text.contains("Mailbox is full"), "{text}");
    let _ = smtp.command("RSET").await;

    // Disabling the account stops mail and sign-in.
    t.id.apply::<DirectoryUser>(json!({
        "apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryUser", "metadata": {"name": janis},
        "spec": {"username": janis, "givenName": "Jānis", "surname": "Kalniņš", "email": janis_at, "enabled": false}
    }))
    .await;
    let smtp_address = t.smtp;
    wait_until("mail to a disabled account to be refused", CONVERGE, || async {
        let mut smtp = Smtp::connect(smtp_address).await;
        match smtp.send("zanis@example.org", &[&janis_at], "x").await {
            (550, _) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(Imap::login(t.imaps, &t.ca_pem, &janis_at, PASSWORD).await.is_err(), "a disabled account signs in");
    t.wait_ready("Mailbox", &janis, "False", "AccountDisabled").await;
    let sent = t.submit(&janis_at, PASSWORD, &janis_at, &anna_at, "x").await.expect_err("a disabled account sends");
    assert!(sent.contains("535 5.7.8"), "{sent}");

    // An enabled entry elsewhere in the domain claiming Jānis's address (another agency's
    // person, or one made by hand) neither receives his mail nor signs in as him.
    let impostor = format!("CN=impostor{run},{}", t.id.subtree);
    let password = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        "\"Viltus-Parole-2026!\"".encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>(),
    );
    ldap_modify(&format!(
        "dn: {impostor}\nchangetype: add\nobjectClass: user\nsAMAccountName: imp{run}\nmail: {janis_at}\n\
         unicodePwd:: {password}\nuserAccountControl: 512\n"
    ));
    let (code, text) = Smtp::connect(t.smtp).await.send("zanis@example.org", &[&janis_at], "x").await;
    assert_eq!(code, 550, "mail to a disabled person reached an impostor: {text}");
    assert!(
        Imap::login(t.imaps, &t.ca_pem, &janis_at, "Viltus-Parole-2026!").await.is_err(),
        "an impostor signed in to a disabled person's mailbox"
    );

    // A leaver with a mailbox stays in the directory, disabled, until the mailbox goes.
    let users = t.id.users();
    users.delete(&pilna, &DeleteParams::default()).await.expect("Pilna leaves");
    let held = t.id.wait_false("directoryusers", &pilna, "Ready", "Leaving").await;
    assert_eq!(held["status"]["leaving"]["heldBy"], format!("Mailbox {pilna}"), "{held}");
    let (code, text) = Smtp::connect(t.smtp).await.send("zanis@example.org", &[&pilna_at], "x").await;
    assert_eq!(code, 550, "mail to a leaver: {text}");
    let mailboxes: Api<DynamicObject> = Api::namespaced_with(
        t.id.admin.clone(),
        &t.id.namespace,
        &ApiResource {
            group: "mail.makonis.lv".into(),
            version: "v1alpha1".into(),
            api_version: "mail.makonis.lv/v1alpha1".into(),
            kind: "Mailbox".into(),
            plural: "mailboxes".into(),
        },
    );
    mailboxes.delete(&pilna, &DeleteParams::default()).await.expect("the agency lets the mailbox go");
    wait_until("the leaver's account to be deleted", CONVERGE, || async {
        match users.get_opt(&pilna).await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(user) => Err(format!("{:?}", user.status)),
        }
    })
    .await;
    assert!(search(&t.id.subtree, &format!("(sAMAccountName={pilna})"), &["dn"]).is_empty(), "the account left AD");
    assert!(
        t.dir.join("mail").read_dir().unwrap().count() >= 3,
        "deleting a Mailbox keeps its stored mail (one directory per mailbox)"
    );
}

/// A shared mailbox: the members of its group open it as themselves under
/// `Shared/<address>/` with the access the group gives (full access also sends as it),
/// nobody else does (not even by its name), narrowing the access takes rights away, and
/// taking the group off closes it.
#[tokio::test]
async fn a_shared_mailbox_opens_only_to_its_groups_members_as_declared() {
    let mut t = MailRun::start().await;
    let run = t.id.run.clone();
    let (info, anna, janis) = (format!("info{run}"), format!("anna{run}"), format!("janis{run}"));
    let (info_at, anna_at, janis_at) = (t.address("info"), t.address("anna.berzina"), t.address("janis.kalnins"));
    t.apply_mail("MailDomain", "domain", json!({"domain": t.domain})).await;
    t.id.apply::<DirectoryGroup>(json!({
        "apiVersion": "identity.makonis.lv/v1alpha1", "kind": "DirectoryGroup", "metadata": {"name": "birojs"},
        "spec": {"name": format!("{}-Birojs", t.id.code), "members": [{"user": anna.clone()}]}
    }))
    .await;
    for (name, given, surname, email) in [
        (&info, "Informācija", "Birojs", &info_at),
        (&anna, "Anna", "Bērziņa", &anna_at),
        (&janis, "Jānis", "Kalniņš", &janis_at),
    ] {
        t.id.apply::<DirectoryUser>(user(name, given, surname, email, &[])).await;
    }
    for name in [&anna, &janis] {
        let ready = t.id.wait_condition("directoryusers", name, "Ready", "True").await;
        set_own_password(ready["status"]["dn"].as_str().expect("a DN"), PASSWORD);
    }
    let shared = |access: &str| json!({"user": info, "sharedWith": [{"group": "birojs", "access": access}]});
    t.apply_mail("Mailbox", &info, shared("Full")).await;
    t.apply_mail("Mailbox", &anna, json!({"user": anna})).await;
    t.apply_mail("Mailbox", &janis, json!({"user": janis})).await;
    // The access lists live with the mail and change through Dovecot, once it runs.
    t.wait_ready("Mailbox", &info, "True", "Delivering").await;
    t.start_servers().await;
    let status = t.wait_condition_of("Mailbox", &info, "Shared", "True", "Applied").await;
    assert_eq!(status["status"]["delegates"], json!([{"address": anna_at, "access": "Full"}]), "only Anna: {status}");

    let body = "Sveiki! Šī vēstule ir birojam, ne vienam cilvēkam.";
    let mut smtp = Smtp::connect(t.smtp).await;
    let (code, text) = smtp
        .send("zanis@example.org", &[&info_at], &latvian_message("zanis@example.org", &info_at, "Birojam", body))
        .await;
    assert_eq!(code, 250, "{text}");
    let folder = format!("\"Shared/{info_at}/INBOX\"");
    let exists = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("* ").and_then(|l| l.strip_suffix(" EXISTS")).map(|n| n.trim().to_owned()))
    };

    // Anna, a member, sees it in her folder list and reads the mail with her own password.
    let mut imap = Imap::login(t.imaps, &t.ca_pem, &anna_at, PASSWORD).await.expect("Anna signs in");
    let (ok, listed) = imap.command("LIST \"\" \"*\"").await;
    assert!(ok && listed.contains(&format!("Shared/{info_at}")), "the shared mailbox is listed: {listed}");
    wait_until("the mail in the shared mailbox", CONVERGE, || async {
        let mut imap = Imap::login(t.imaps, &t.ca_pem, &anna_at, PASSWORD).await?;
        let (ok, text) = imap.command(&format!("SELECT {folder}")).await;
        match ok && exists(&text).as_deref() == Some("1") {
            true => Ok(()),
            false => Err(text),
        }
    })
    .await;
    let (ok, text) = imap.command(&format!("SELECT {folder}")).await;
    assert!(ok, "{text}");
    assert!(imap.fetch(1).await.contains(body), "Anna reads the shared mail");
    // Full access sends as the office too; Jānis, without access, does not.
    let answer = latvian_message(&info_at, "zanis@example.org", "Re: Birojam", "Saņemts.");
    t.submit(&anna_at, PASSWORD, &info_at, "zanis@example.org", &answer).await.expect("Anna sends as the office");
    let refused = t.submit(&janis_at, PASSWORD, &info_at, "zanis@example.org", &answer).await;
    assert!(refused.is_err_and(|e| e.contains("not owned by user")), "Jānis sent as the office");

    // Jānis is not a member: nothing is listed, and the name does not open it.
    let mut other = Imap::login(t.imaps, &t.ca_pem, &janis_at, PASSWORD).await.expect("Jānis signs in");
    let (_, listed) = other.command("LIST \"\" \"*\"").await;
    assert!(!listed.contains("Shared/"), "nothing shared with Jānis: {listed}");
    let (ok, text) = other.command(&format!("SELECT {folder}")).await;
    assert!(!ok, "Jānis opens the shared mailbox: {text}");

    // Read access: what Anna marks for deletion and expunges stays.
    t.apply_mail("Mailbox", &info, shared("Read")).await;
    wait_until("Anna's access to be Read", CONVERGE, || async {
        let object = t.wait_condition_of("Mailbox", &info, "Shared", "True", "Applied").await;
        match object["status"]["delegates"] == json!([{"address": anna_at, "access": "Read"}]) {
            true => Ok(()),
            false => Err(object["status"].to_string()),
        }
    })
    .await;
    let mut imap = Imap::login(t.imaps, &t.ca_pem, &anna_at, PASSWORD).await.expect("Anna signs in");
    let (ok, text) = imap.command(&format!("SELECT {folder}")).await;
    assert!(ok, "{text}");
    let _ = imap.command("STORE 1 +FLAGS (\\Deleted)").await;
    let _ = imap.command("EXPUNGE").await;
    let (ok, text) = imap.command(&format!("SELECT {folder}")).await;
    assert!(ok && exists(&text).as_deref() == Some("1"), "read access deleted the mail: {text}");
    wait_until("read access to stop sending as the office", CONVERGE, || async {
        match t.submit(&anna_at, PASSWORD, &info_at, "zanis@example.org", &answer).await {
            Err(refused) if refused.contains("not owned by user") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    // Unshared: Anna's access is taken back on the server.
    t.apply_mail("Mailbox", &info, json!({"user": info})).await;
    let object = t.wait_condition_of("Mailbox", &info, "Shared", "True", "NotShared").await;
    assert!(object["status"].get("delegates").is_none(), "{object}");
    let mut imap = Imap::login(t.imaps, &t.ca_pem, &anna_at, PASSWORD).await.expect("Anna signs in");
    let (ok, text) = imap.command(&format!("SELECT {folder}")).await;
    assert!(!ok, "Anna still opens the mailbox after it was unshared: {text}");
}

#[tokio::test]
async fn mailboxes_move_from_the_old_server_with_their_folders_and_counts() {
    let mut t = MailRun::start().await;
    let run = t.id.run.clone();
    t.apply_mail("MailDomain", "domain", json!({"domain": t.domain})).await;
    let (ilze, karlis) = (format!("ilze{run}"), format!("karlis{run}"));
    let (ilze_at, karlis_at) = (t.address("ilze.ozola"), t.address("karlis.liepa"));
    for (name, given, surname, email) in [(&ilze, "Ilze", "Ozola", &ilze_at), (&karlis, "Kārlis", "Liepa", &karlis_at)]
    {
        t.id.apply::<DirectoryUser>(user(name, given, surname, email, &[])).await;
        let ready = t.id.wait_condition("directoryusers", name, "Ready", "True").await;
        set_own_password(ready["status"]["dn"].as_str().expect("a DN"), PASSWORD);
        t.apply_mail("Mailbox", name, json!({"user": name})).await;
        t.wait_ready("Mailbox", name, "True", "Delivering").await;
    }
    t.start_servers().await;

    // The old server: Ilze has two messages in INBOX and one in a Latvian-named folder.
    let old = OldServer::start(&t, &[("ilze.old", "x-Parole-1"), ("karlis.old", "x-Parole-2")]);
    let old_mail =
        |n: u32| latvian_message("vecais@old.example", "ilze@old.example", &format!("Vēstule {n}"), "Sena ziņa");
    old.store("ilze.old", "INBOX", &old_mail(1));
    old.store("ilze.old", "INBOX", &old_mail(2));
    old.store("ilze.old", "Arhīvs", &old_mail(3));
    old.store("karlis.old", "INBOX", &old_mail(4));
    // Mail already arriving at the platform before the move must stay.
    let mut smtp = Smtp::connect(t.smtp).await;
    let (code, text) = smtp
        .send("zanis@example.org", &[&ilze_at], &latvian_message("zanis@example.org", &ilze_at, "Jauna", "ā"))
        .await;
    assert_eq!(code, 250, "{text}");
    wait_inbox(&t, &ilze_at, PASSWORD, 1).await;

    // The source is prepared by platform administrators, for this agency only.
    let secrets: Api<Secret> = Api::namespaced(t.id.admin.clone(), support::cluster::MAIL_NAMESPACE);
    for (name, agency) in [(format!("old-{run}"), t.id.code.clone()), (format!("foreign-{run}"), "vsaa".to_string())] {
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": {"mail.makonis.lv/agency": agency}},
            "stringData": {"host": "127.0.0.1", "port": old.imaps.port().to_string(), "masterUser": OLD_MASTER.0,
                           "password": OLD_MASTER.1, "ca.crt": t.ca_pem}
        }))
        .unwrap();
        secrets.create(&PostParams::default(), &secret).await.expect("the migration source");
    }
    let mailboxes =
        json!([{"mailbox": ilze, "sourceUser": "ilze.old"}, {"mailbox": karlis, "sourceUser": "karlis.old"}]);
    t.apply_mail("MailboxMigration", "foreign", json!({"source": format!("foreign-{run}"), "mailboxes": mailboxes}))
        .await;
    t.apply_mail("MailboxMigration", "move", json!({"source": format!("old-{run}"), "mailboxes": mailboxes})).await;

    let done = t.wait_condition_of("MailboxMigration", "move", "Complete", "True", "Copied").await;
    let progress = done["status"]["mailboxes"].as_array().unwrap().clone();
    assert_eq!(done["status"]["done"], 2, "{progress:?}");
    assert_eq!(
        (progress[0]["sourceMessages"].as_u64(), progress[0]["copiedMessages"].as_u64()),
        (Some(3), Some(4)),
        "{progress:?}"
    );
    assert_eq!(
        (progress[1]["sourceMessages"].as_u64(), progress[1]["copiedMessages"].as_u64()),
        (Some(1), Some(1)),
        "{progress:?}"
    );
    let refused = t.wait_condition_of("MailboxMigration", "foreign", "Complete", "False", "SourceRefused").await;
    assert!(refused["status"]["conditions"].to_string().contains("not given to this agency"), "{refused}");
    assert!(!refused["status"]["mailboxes"].to_string().contains("Done"), "nothing was copied from a foreign source");

    // Read back over IMAP: the old INBOX beside the new mail, the folder under its name.
    let mut imap = wait_inbox(&t, &ilze_at, PASSWORD, 3).await;
    let (ok, text) = imap.command("SELECT \"Arh&ASs-vs\"").await;
    assert!(ok && text.contains("* 1 EXISTS"), "the folder Arhīvs: {text}");
    let message = imap.fetch(1).await;
    let subject = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "Vēstule 3");
    assert!(message.contains(&subject), "{message}");
    wait_inbox(&t, &karlis_at, PASSWORD, 1).await;

    // Running it again copies nothing twice.
    t.apply_mail(
        "MailboxMigration",
        "move",
        json!({"source": format!("old-{run}"), "mailboxes": [{"mailbox": karlis, "sourceUser": "karlis.old"}]}),
    )
    .await;
    t.wait_condition_of("MailboxMigration", "move", "Complete", "True", "Copied").await;
    wait_inbox(&t, &karlis_at, PASSWORD, 1).await;
}

#[tokio::test]
async fn the_examples_are_accepted_by_the_api_server() {
    let admin = support::cluster::admin_client().await;
    support::cluster::install_platform(&admin).await;
    let path = format!("{}/manifests/examples/mail/vsaa-mail.yaml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut kinds = Vec::new();
    for object in support::cluster::yaml_documents(&text) {
        let kind = object["kind"].as_str().unwrap().to_string();
        let plural = match kind.as_str() {
            "Mailbox" => "mailboxes".to_string(),
            "MailAlias" => "mailaliases".to_string(),
            other => format!("{}s", other.to_lowercase()),
        };
        let resource = ApiResource {
            group: "mail.makonis.lv".into(),
            version: "v1alpha1".into(),
            api_version: "mail.makonis.lv/v1alpha1".into(),
            kind: kind.clone(),
            plural,
        };
        // A dry run in the default namespace: the schema and CEL rules judge the example.
        let api: Api<DynamicObject> = Api::namespaced_with(admin.clone(), "default", &resource);
        let mut object: DynamicObject = serde_json::from_value(object).unwrap();
        object.metadata.namespace = None;
        api.create(&PostParams { dry_run: true, ..PostParams::default() }, &object)
            .await
            .unwrap_or_else(|e| panic!("{kind} from {path}: {e}"));
        kinds.push(kind);
    }
    assert_eq!(kinds, ["MailDomain", "Mailbox", "Mailbox", "Mailbox", "MailAlias", "MailingList", "MailboxMigration"]);
}
