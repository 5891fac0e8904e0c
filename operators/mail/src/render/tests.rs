use std::path::PathBuf;

use super::*;
use crate::{
    address::Address,
    plan::{Plan, ServedDomain, StoredMailbox},
};

fn settings() -> Settings {
    Settings {
        layout: Layout {
            hostname: "mail.lm.gov.lv".into(),
            listen: "127.0.0.1".into(),
            smtp_port: 2525,
            submission_port: 5870,
            imaps_port: 9933,
            lmtp_port: 2424,
            quota_status_port: 12340,
            auth_port: 12345,
            dkim_port: 8891,
            relayhost: None,
            config_dir: PathBuf::from("/etc/makonis-mail"),
            state_dir: PathBuf::from("/var/lib/makonis-mail"),
            mail_root: PathBuf::from("/srv/mail"),
            mail_user: "mail".into(),
            tls_cert: PathBuf::from("/etc/tls/tls.crt"),
            tls_key: PathBuf::from("/etc/tls/tls.key"),
            dovecot_lda: PathBuf::from("/usr/lib/dovecot/dovecot-lda"),
        },
        directory: DirectoryAccess {
            url: "ldaps://dc1.lm.gov.lv:636".into(),
            base_dn: "DC=lm,DC=gov,DC=lv".into(),
            bind_dn: "CN=svc-mail,OU=Service,DC=lm,DC=gov,DC=lv".into(),
            bind_password: "Parole-123!".into(),
            ca_pem: "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n".into(),
        },
        signing_keys: SigningKeys(
            [("vsaa.gov.lv", "VSAA KEY"), ("nav.gov.lv", "NOT SERVED")]
                .map(|(d, k)| (d.to_owned(), format!("-----BEGIN PRIVATE KEY-----\n{k}\n-----END PRIVATE KEY-----\n")))
                .into(),
        ),
    }
}

fn plan() -> Plan {
    let mut plan = Plan::default();
    for domain in ["vsaa.gov.lv", "vdi.gov.lv"] {
        plan.domains.insert(
            domain.into(),
            ServedDomain {
                domain: domain.into(),
                namespace: "agency-x".into(),
                dmarc: Default::default(),
                external_forwarding: Default::default(),
                dkim_public_key: None,
            },
        );
    }
    let anna = Address::parse("anna.berzina@vsaa.gov.lv").unwrap();
    let janis = Address::parse("janis.kalnins@vsaa.gov.lv").unwrap();
    plan.mailboxes.insert(
        anna.clone(),
        StoredMailbox {
            uid: "0b6e-uid".into(),
            account_marker: "makonis:DirectoryUser:agency-x/anna".into(),
            quota_bytes: 10 << 20,
        },
    );
    plan.mailboxes.insert(
        janis.clone(),
        StoredMailbox {
            uid: "7f3a-uid".into(),
            account_marker: "makonis:DirectoryUser:agency-x/janis".into(),
            quota_bytes: 1 << 30,
        },
    );
    plan.routes.insert(Address::parse("finanses@vsaa.gov.lv").unwrap(), vec![anna, janis]);
    plan
}

fn file<'a>(files: &'a [RenderedFile], name: &str) -> &'a RenderedFile {
    files.iter().find(|f| f.path.ends_with(name)).unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn postfix_serves_the_plans_domains_and_relays_for_nobody() {
    let files = render(&plan(), &settings()).unwrap();
    let main = &file(&files, "postfix/main.cf").content;
    assert!(main.contains("virtual_mailbox_domains = vdi.gov.lv, vsaa.gov.lv\n"));
    assert!(main.contains("smtpd_relay_restrictions = reject_unauth_destination\n"));
    assert!(!main.contains("permit_mynetworks"), "localhost must not relay");
    assert!(main.contains("check_policy_service inet:127.0.0.1:12340"));
    assert!(file(&files, "postfix/master.cf").content.contains("127.0.0.1:2525 inet n - n - - smtpd\n"));
    let routes = &file(&files, "postfix/routes").content;
    assert!(routes.ends_with("finanses@vsaa.gov.lv anna.berzina@vsaa.gov.lv, janis.kalnins@vsaa.gov.lv\n"));
}

#[test]
fn submission_wants_tls_a_sign_in_and_a_sender_the_person_may_use() {
    let mut plan = plan();
    let anna = Address::parse("anna.berzina@vsaa.gov.lv").unwrap();
    let info = Address::parse("info@vsaa.gov.lv").unwrap();
    plan.senders.insert(anna.clone(), [anna.clone()].into());
    plan.senders.insert(info, [anna, Address::parse("janis.kalnins@vsaa.gov.lv").unwrap()].into());
    let files = render(&plan, &settings()).unwrap();
    let master = &file(&files, "postfix/master.cf").content;
    let submission = master.split("127.0.0.1:5870 inet n - n - - smtpd\n").nth(1).expect("the submission service");
    for option in [
        "smtpd_tls_security_level=encrypt",
        "smtpd_tls_auth_only=yes",
        "smtpd_sasl_path=inet:127.0.0.1:12345",
        "smtpd_sender_login_maps=texthash:/etc/makonis-mail/postfix/senders",
        "smtpd_sender_restrictions=reject_sender_login_mismatch,permit_sasl_authenticated,reject",
        "smtpd_relay_restrictions=permit_sasl_authenticated,reject",
    ] {
        assert!(submission.contains(&format!("  -o {option}\n")), "{option}: {submission}");
    }
    let senders = &file(&files, "postfix/senders").content;
    assert!(senders.contains("\nanna.berzina@vsaa.gov.lv anna.berzina@vsaa.gov.lv\n"), "{senders}");
    assert!(senders.contains("\ninfo@vsaa.gov.lv anna.berzina@vsaa.gov.lv, janis.kalnins@vsaa.gov.lv\n"));
    let dovecot = &file(&files, "dovecot/dovecot.conf").content;
    assert!(dovecot.contains("service auth {\n  inet_listener {\n    address = 127.0.0.1\n    port = 12345\n"));
    let main = &file(&files, "postfix/main.cf").content;
    assert!(!main.contains("sasl"), "port 25 takes no sign-ins: {main}");
}

#[test]
fn submission_is_signed_with_the_key_of_each_served_domain_that_has_one() {
    let files = render(&plan(), &settings()).unwrap();
    let key = file(&files, "opendkim/keys/vsaa.gov.lv.private");
    assert_eq!(key.mode, 0o600, "only its owner reads a private key");
    assert!(key.content.contains("VSAA KEY"));
    assert!(!files.iter().any(|f| f.content.contains("NOT SERVED")), "a key of a domain not served is left out");
    let keys = &file(&files, "opendkim/key-table").content;
    assert!(keys.ends_with(
        "\nmakonis._domainkey.vsaa.gov.lv vsaa.gov.lv:makonis:/etc/makonis-mail/opendkim/keys/vsaa.gov.lv.private\n"
    ));
    let signing = &file(&files, "opendkim/signing-table").content;
    assert!(signing.ends_with("\n*@vsaa.gov.lv makonis._domainkey.vsaa.gov.lv\n"), "{signing}");
    assert!(!signing.contains("vdi.gov.lv"), "vdi.gov.lv has no key yet: {signing}");
    let conf = &file(&files, "opendkim/opendkim.conf").content;
    for line in ["Mode s\n", "MTA ORIGINATING\n", "Socket inet:8891@127.0.0.1\n", "OversignHeaders From\n"] {
        assert!(conf.contains(line), "{line:?}: {conf}");
    }
    let master = &file(&files, "postfix/master.cf").content;
    for option in
        ["smtpd_milters=inet:127.0.0.1:8891", "milter_macro_daemon_name=ORIGINATING", "milter_default_action=tempfail"]
    {
        assert!(master.contains(&format!("  -o {option}\n")), "{option}: {master}");
    }
    assert!(!file(&files, "postfix/main.cf").content.contains("milter"), "port 25 is not signed");
    assert!(!format!("{:?}", settings()).contains("VSAA KEY"), "keys are never printed");
}

#[test]
fn the_bind_password_is_only_in_files_others_cannot_read() {
    let files = render(&plan(), &settings()).unwrap();
    for file in &files {
        if file.content.contains("Parole-123!") {
            assert!(file.mode & 0o007 == 0, "{} is world-readable", file.path.display());
        }
    }
    assert_eq!(
        files.iter().filter(|f| f.content.contains("Parole-123!")).count(),
        3,
        "Postfix's map and a passdb per domain"
    );
}

#[test]
fn mailboxes_live_under_their_uid_with_their_quota() {
    let files = render(&plan(), &settings()).unwrap();
    let users = &file(&files, "dovecot/users").content;
    assert!(
        users.contains(
            "anna.berzina@vsaa.gov.lv::mail:mail::/srv/mail/0b6e-uid::userdb_quota_rule=*:storage=10485760B\n"
        )
    );
    let dovecot = &file(&files, "dovecot/dovecot.conf").content;
    assert!(dovecot.contains("ssl = required\n"));
    assert!(file(&files, "ldap-passdb-vsaa.gov.lv.conf.ext").content.contains("auth_bind = yes"));
}

#[test]
fn lookups_are_bound_to_the_mailboxs_own_account_and_agency() {
    let files = render(&plan(), &settings()).unwrap();
    // Postfix: the rendered map names the account's marker, and the directory must hold
    // that very account, enabled; an entry of another agency with the same mail is no match.
    assert!(
        file(&files, "postfix/mailboxes")
            .content
            .contains("anna.berzina@vsaa.gov.lv makonis:DirectoryUser:agency-x/anna\n")
    );
    assert!(
        file(&files, "ldap-mailbox.cf").content.contains("query_filter = (&(objectClass=user)(adminDescription=%s)(!(")
    );
    // Dovecot: one passdb per served domain, searching only the owning agency's accounts.
    let dovecot = &file(&files, "dovecot/dovecot.conf").content;
    assert!(dovecot.contains("username_filter = *@vsaa.gov.lv"), "{dovecot}");
    let passdb = &file(&files, "dovecot/ldap-passdb-vsaa.gov.lv.conf.ext").content;
    assert!(
        passdb.contains(
            "pass_filter = (&(objectClass=user)(mail=%u)(adminDescription=makonis:DirectoryUser:agency-x/*)(!("
        ),
        "{passdb}"
    );
}

#[test]
fn without_domains_nobody_signs_in() {
    let files = render(&Plan::default(), &settings()).unwrap();
    let dovecot = &file(&files, "dovecot/dovecot.conf").content;
    assert!(!dovecot.contains("driver = ldap"));
    assert!(dovecot.contains("/dovecot/no-one"), "{dovecot}");
    assert!(!file(&files, "dovecot/no-one").content.lines().any(|l| !l.starts_with('#')));
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(render(&plan(), &settings()).unwrap(), render(&plan(), &settings()).unwrap());
}

#[test]
fn settings_that_could_inject_a_line_are_refused() {
    for change in [
        (|s: &mut Settings| s.directory.bind_password = "x\nrelayhost = evil".into()) as fn(&mut Settings),
        |s| s.directory.base_dn = "DC=lm\r\nbind = no".into(),
        |s| s.layout.hostname = "mail lm".into(),
        |s| s.directory.url = "ldapi:///".into(),
        |s| s.layout.mail_root = PathBuf::from("relative/mail"),
        |s| s.layout.tls_key = PathBuf::from("/etc/tls/a key"),
        |s| s.layout.relayhost = Some("[gw.lm.gov.lv]:25\nrelay_domains = *".into()),
        |s| s.layout.relayhost = Some("gw, evil".into()),
    ] {
        let mut settings = settings();
        change(&mut settings);
        assert!(render(&plan(), &settings).is_err(), "{settings:?} passed");
    }
}

#[test]
fn start_tls_urls_turn_tls_on_in_both_servers() {
    let mut settings = settings();
    settings.directory.url = "ldap://dc1.lm.gov.lv".into();
    let files = render(&plan(), &settings).unwrap();
    assert!(file(&files, "ldap-mailbox.cf").content.contains("start_tls = yes\n"));
    assert!(file(&files, "ldap-passdb-vdi.gov.lv.conf.ext").content.contains("tls = yes\n"));
}
