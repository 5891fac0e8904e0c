//! Three attacks end to end against real things, with the sector's rule pack
//! (`monitoring/rules/`, through `makonis siem import-sigma`) as ClusterDetectionRules:
//!
//! - an SSH brute force: OpenSSH's client sends wrong passwords to a real sshd, whose log
//!   rsyslog follows and forwards over RELP;
//! - a password spray: wrong passwords for nine accounts in LDAPS binds to the real Samba
//!   AD DC of `tests/directory/samba.sh`, whose JSON audit rsyslog forwards;
//! - a ClusterRoleBinding created on the local control plane, whose API server posts its
//!   audit events to the SIEM's HTTPS intake.
//!
//! Each raises its alert in `makonis siem run` as the events are stored; the alert reaches
//! a real Alertmanager and the portal's Security → Alerts, and opens a security incident
//! (Security → Security incidents).

mod support;

use std::{path::Path, process::Stdio};

use k8s_openapi::api::rbac::v1::ClusterRoleBinding;
use kube::{
    Api,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use makonis_api::security::{ClusterDetectionRule, LogSource};
use serde_json::json;
use support::{
    CONVERGE,
    agencies::{TEST_LABEL, unique_id},
    alertmanager::AlertmanagerProcess,
    cluster::{admin_client, install_platform},
    directory,
    operator::free_local_address,
    siem::{
        SECURITY_PASSWORD, Siem, SiemFiles, claim_the_api_server, cluster_tls_args, create_log_source, security_portal,
    },
    wait_until,
    web::{request, sign_in},
};
use tokio::process::{Child, Command};

const NAMESPACE: &str = "makonis-system";

/// The address rsyslog forwards sshd's log from (no other test's LogSource claims it).
const SSHD_SENDER: &str = "127.0.0.43";

/// The address rsyslog forwards Samba's audit from.
const SAMBA_SENDER: &str = "127.0.0.44";

/// Wrong passwords tried over SSH (the pack's brute force needs ten failures).
const SSH_GUESSES: usize = 12;

/// Accounts sprayed (the pack's spraying rule needs eight distinct ones from an address).
const SPRAYED: [&str; 9] = ["anna", "berzina", "liepa", "kalnins", "ozola", "egle", "priede", "osis", "kalna"];

/// The pack as ClusterDetectionRules, labelled with this run, applied server-side.
async fn apply_rule_pack(admin: &kube::Client, run: &str) -> usize {
    let output = Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(["siem", "import-sigma", "monitoring/rules"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .await
        .expect("run makonis siem import-sigma");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("YAML");
    let api: Api<ClusterDetectionRule> = Api::all(admin.clone());
    let mut applied = 0;
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let mut rule: ClusterDetectionRule = serde::Deserialize::deserialize(document).expect("a rule object");
        rule.metadata.labels.get_or_insert_default().insert(TEST_LABEL.to_owned(), run.to_owned());
        let name = rule.metadata.name.clone().expect("named");
        api.patch(&name, &PatchParams::apply("siem-attacks").force(), &Patch::Apply(&rule)).await.unwrap();
        applied += 1;
    }
    applied
}

/// A real sshd on 127.0.0.1 that takes passwords (and knows none), logging to
/// `dir/sshd.log`; its port once it listens.
async fn start_sshd(dir: &Path) -> (Child, u16) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::create_dir_all("/run/sshd").unwrap();
    let key = dir.join("host_key");
    let made = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", ""]).arg("-f").arg(&key).status();
    assert!(made.await.unwrap().success(), "ssh-keygen");
    let port = free_local_address().port();
    let config = dir.join("sshd_config");
    let lines = [
        format!("Port {port}"),
        "ListenAddress 127.0.0.1".into(),
        format!("HostKey {}", key.display()),
        format!("PidFile {}", dir.join("sshd.pid").display()),
        "UsePAM no".into(),
        "PasswordAuthentication yes".into(),
        "KbdInteractiveAuthentication no".into(),
        "PubkeyAuthentication no".into(),
        "PermitRootLogin no".into(),
        "LogLevel INFO".into(),
    ];
    std::fs::write(&config, lines.join("\n") + "\n").unwrap();
    let log = dir.join("sshd.log");
    std::fs::write(&log, "").unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .arg("-D")
        .arg("-E")
        .arg(&log)
        .arg("-f")
        .arg(&config)
        .kill_on_drop(true)
        .spawn()
        .expect("/usr/sbin/sshd (openssh-server) starts");
    wait_until("sshd to listen", CONVERGE, || async {
        let text = std::fs::read_to_string(&log).map_err(|e| e.to_string())?;
        text.contains("Server listening").then_some(()).ok_or(text)
    })
    .await;
    (child, port)
}

/// OpenSSH's client signs in as `user` with a wrong password (given by an askpass
/// script, as a person typing it would).
async fn wrong_ssh_password(dir: &Path, port: u16, user: &str) {
    let askpass = dir.join("askpass.sh");
    if !askpass.exists() {
        std::fs::write(&askpass, "#!/bin/sh\necho 'Wrong-Guess-1'\n").unwrap();
        std::fs::set_permissions(&askpass, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let refused = Command::new("ssh")
        .args(["-p", &port.to_string(), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"])
        .args(["-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1"])
        .args(["-o", "ConnectTimeout=10", &format!("{user}@127.0.0.1"), "true"])
        .env("SSH_ASKPASS", &askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env("DISPLAY", ":0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .expect("ssh (openssh-client) runs");
    assert!(!refused.success(), "a wrong password is refused");
}

/// One rsyslogd following sshd's log and Samba's audit (from their ends on) and
/// forwarding each line over RELP to `relp`, each from its own address.
async fn start_rsyslog(dir: &Path, relp: std::net::SocketAddr, sshd_log: &Path, samba_audit: &str) -> Child {
    let work = dir.join("rsyslog");
    std::fs::create_dir_all(&work).unwrap();
    let action = |from: &str| {
        format!(
            "action(type=\"omrelp\" target=\"127.0.0.1\" port=\"{}\" template=\"RSYSLOG_SyslogProtocol23Format\" \
             localClientIp=\"{from}\")",
            relp.port()
        )
    };
    let config = [
        format!("global(workDirectory=\"{}\" maxMessageSize=\"64k\")", work.display()),
        "module(load=\"imfile\")".into(),
        "module(load=\"omrelp\")".into(),
        format!(
            "input(type=\"imfile\" File=\"{}\" Tag=\"sshd\" ruleset=\"server\" freshStartTail=\"on\")",
            sshd_log.display()
        ),
        format!("ruleset(name=\"server\") {{ {} }}", action(SSHD_SENDER)),
        format!("input(type=\"imfile\" File=\"{samba_audit}\" Tag=\"samba\" ruleset=\"dc\" freshStartTail=\"on\")"),
        format!("ruleset(name=\"dc\") {{ {} }}", action(SAMBA_SENDER)),
    ];
    let file = dir.join("rsyslog.conf");
    std::fs::write(&file, config.join("\n") + "\n").unwrap();
    Command::new("/usr/sbin/rsyslogd")
        .arg("-n")
        .arg("-f")
        .arg(&file)
        .arg("-i")
        .arg(dir.join("rsyslog.pid"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("rsyslog.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("rsyslogd (with rsyslog-relp) starts")
}

/// A wrong password for `account` in an LDAPS simple bind to the Samba AD DC.
async fn wrong_ldap_password(account: &str) {
    let bound = Command::new("ldapsearch")
        .args(["-x", "-H", &directory::env("MAKONIS_TEST_SAMBA_URL", "samba.sh")])
        .args(["-D", &format!("{account}@lm.test"), "-w", "Spray-Summer2026", "-b", "", "-s", "base", "dn"])
        .env("LDAPTLS_CACERT", directory::env("MAKONIS_TEST_SAMBA_CA", "samba.sh"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .expect("ldapsearch (ldap-utils) runs");
    assert!(!bound.success(), "a wrong password does not bind");
}

/// Removes the LogSources an earlier run of this test left (one that failed): their
/// claims on the same senders would conflict with this run's, and conflicting claims are
/// both refused.
async fn remove_earlier_claims(api: &Api<LogSource>) {
    for earlier in api.list(&ListParams::default()).await.unwrap() {
        if let Some(name) = earlier.metadata.name.filter(|n| n.starts_with("attacks-")) {
            api.delete(&name, &DeleteParams::default()).await.unwrap();
        }
    }
}

/// The ids of the alerts titled `title` on the portal's alerts page.
fn alert_ids(page: &str, title: &str) -> Vec<String> {
    page.split("<a href=\"/security/alerts/")
        .skip(1)
        .filter_map(|rest| {
            let (id, after) = rest.split_once("\">")?;
            after.starts_with(&format!("{title}</a>")).then(|| id.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn ssh_brute_force_password_spray_and_a_cluster_role_binding_raise_alerts_and_security_incidents() {
    let admin = admin_client().await;
    install_platform(&admin).await;
    let run = unique_id();
    let files = SiemFiles::new(std::env::temp_dir().join(format!("makonis-siem-attacks-{run}")));
    let sources: Api<LogSource> = Api::namespaced(admin.clone(), NAMESPACE);
    remove_earlier_claims(&sources).await;
    let sshd_source = format!("attacks-sshd-{run}");
    let samba_source = format!("attacks-samba-{run}");
    create_log_source(&admin, &sshd_source, json!([{"address": SSHD_SENDER}]), "UTC").await;
    create_log_source(&admin, &samba_source, json!([{"address": SAMBA_SENDER}]), "UTC").await;
    let audit_source = claim_the_api_server(&admin, &run).await;
    let rules = apply_rule_pack(&admin, &run).await;
    assert!(rules >= 25, "the pack: {rules} rule objects");

    let alertmanager = AlertmanagerProcess::start(&files.dir.join("alertmanager")).await;
    let relp = free_local_address();
    let mut extra = cluster_tls_args();
    // Each ClusterRoleBinding change its own alert, even right after the platform's own.
    extra.extend(["--alertmanager-url".into(), format!("http://{}", alertmanager.address)]);
    extra.extend(["--alert-suppression".into(), "1s".into()]);
    let siem = Siem::start_with(&admin, &files, relp, &extra, "siem.log").await;
    wait_until("the SIEM to take the pack", CONVERGE, || async {
        match siem.metric("makonis_siem_detection_rules{state=\"active\"}").await {
            Some(active) if active >= rules as f64 => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let sshd_dir = files.dir.join("sshd");
    let (_sshd, port) = start_sshd(&sshd_dir).await;
    let samba_audit = directory::env("MAKONIS_TEST_SAMBA_AUDIT_LOG", "samba.sh");
    let _rsyslog = start_rsyslog(&files.dir, relp, &sshd_dir.join("sshd.log"), &samba_audit).await;
    // rsyslog follows from the files' ends: wait until it forwards before attacking.
    wrong_ssh_password(&sshd_dir, port, "warm-up").await;
    wait_until("rsyslog to forward sshd's log", CONVERGE, || async {
        let status = sources.get(&sshd_source).await.map_err(|e| e.to_string())?.status.ok_or("no status")?;
        (status.events_received > 0).then_some(()).ok_or(format!("{status:?}"))
    })
    .await;

    for guess in 0..SSH_GUESSES {
        wrong_ssh_password(&sshd_dir, port, &format!("guess{guess}")).await;
    }
    for account in SPRAYED {
        wrong_ldap_password(account).await;
    }
    let binding_name = format!("attack-{run}");
    let binding: ClusterRoleBinding = serde_json::from_value(json!({
        "metadata": {"name": binding_name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": format!("mallory-{run}")}]
    }))
    .unwrap();
    let bindings: Api<ClusterRoleBinding> = Api::all(admin.clone());
    bindings.create(&PostParams::default(), &binding).await.unwrap();

    // Alertmanager has each, routed by the organisation's rules.
    let titles = [
        "SSH brute force from one address",
        "Password spraying against the domain",
        "ClusterRoleBinding created or changed",
    ];
    let routed = wait_until("the three alerts in Alertmanager", CONVERGE, || async {
        let alerts = alertmanager.alerts().await;
        let rules: Vec<String> =
            alerts.iter().filter_map(|a| a["labels"]["rule"].as_str().map(str::to_owned)).collect();
        titles.iter().all(|t| rules.iter().any(|r| r == t)).then_some(alerts).ok_or(format!("{rules:?}"))
    })
    .await;
    let brute = routed.iter().find(|a| a["labels"]["rule"] == titles[0]).unwrap();
    assert_eq!(brute["labels"]["severity"], "high");
    assert_eq!(brute["labels"]["group"], "source.ip=127.0.0.1", "{brute}");

    // The portal shows them, and each opened a security incident.
    let portal = security_portal(&admin, &files.dir).await;
    let session = sign_in(portal.address, "security", SECURITY_PASSWORD).await;
    let page = request(portal.address, "GET", "/security/alerts", Some(&session), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for title in titles {
        assert!(!alert_ids(&page.body, title).is_empty(), "{title} on the alerts page: {}", page.body);
    }
    let brute_page = format!("/security/alerts/{}", alert_ids(&page.body, titles[0])[0]);
    let brute_alert = request(portal.address, "GET", &brute_page, Some(&session), None).await;
    assert!(brute_alert.body.contains("Failed password for invalid user guess"), "{}", brute_alert.body);
    // Among the ClusterRoleBinding alerts (the platform's own installation raises them
    // too), one is this binding's, with its event from the API server.
    wait_until("the alert of this binding", CONVERGE, || async {
        let page = request(portal.address, "GET", "/security/alerts", Some(&session), None).await;
        for id in alert_ids(&page.body, titles[2]) {
            let alert = request(portal.address, "GET", &format!("/security/alerts/{id}"), Some(&session), None).await;
            if alert.body.contains(&binding_name) {
                return Ok(());
            }
        }
        Err(format!(
            "{} alerts titled {}, none of them {binding_name}'s",
            alert_ids(&page.body, titles[2]).len(),
            titles[2]
        ))
    })
    .await;
    let incidents = wait_until("the three security incidents", CONVERGE, || async {
        let page = request(portal.address, "GET", "/security/incidents", Some(&session), None).await;
        titles.iter().all(|t| page.body.contains(t)).then_some(page.body.clone()).ok_or(page.body)
    })
    .await;
    assert!(incidents.contains("Password spraying against the domain (IpAddress="), "{incidents}");

    drop(portal);
    assert!(siem.signal("TERM").await, "the SIEM stops cleanly");
    bindings.delete(&binding_name, &DeleteParams::default()).await.unwrap();
    let selector = ListParams::default().labels(&format!("{TEST_LABEL}={run}"));
    let rules_api: Api<ClusterDetectionRule> = Api::all(admin.clone());
    rules_api.delete_collection(&DeleteParams::default(), &selector).await.unwrap();
    for name in [&sshd_source, &samba_source, &audit_source] {
        sources.delete(name, &DeleteParams::default()).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&files.dir);
}
