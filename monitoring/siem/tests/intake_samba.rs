//! A real Samba AD domain controller (Samba 4.17, the fixture of `tests/directory/samba.sh`)
//! writes its JSON audit to a file, and a real rsyslog (`imfile` from the end of the file,
//! `omrelp`) forwards it to the SIEM as an agency's domain controller would. As a user and a
//! group of its own, the test signs in over LDAPS with a wrong password and the right one,
//! resets the password, and adds the user to the group and removes them again; each
//! becomes a stored event of its kind, with the client's address and Samba's line byte for
//! byte.
//!
//! Start the fixture first and export its settings:
//! ```text
//! tests/directory/samba.sh start && eval "$(tests/directory/samba.sh env)"
//! cargo test -p makonis-siem --test intake_samba
//! ```

use std::{
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::Duration,
};

use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};
use makonis_siem::{
    intake::{relp, writer},
    store::{Config, PartitionKey, Store},
};
use makonis_siem_core::{claims::Source, retention::SourceCategory};
use serde_json::Value;
use tokio::{io::AsyncWriteExt, net::TcpListener, process::Command};

mod support;

use support::{fresh_dir, intake, rsyslogd, servers, store_in};

/// The LogSource of the domain controller.
const DOMAIN_CONTROLLERS: &str = "agency-lm/domain-controllers";

/// The agency `lm`'s LogSource for its domain controllers: 127.0.0.1, category directory.
fn domain_controllers() -> Source {
    Source { id: DOMAIN_CONTROLLERS.into(), category: SourceCategory::Directory, ..servers("127.0.0.1/32", "UTC") }
}

/// The value of `name`, which `tests/directory/samba.sh env` exports.
fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run tests/directory/samba.sh start and eval its env: \
             eval \"$(tests/directory/samba.sh env)\""
        )
    })
}

/// The fixture's domain controller, driven with ldap-utils over LDAPS.
struct DomainController {
    url: String,
    ca: String,
    base: String,
    admin_dn: String,
    admin_password: String,
    audit_log: PathBuf,
}

impl DomainController {
    fn from_env() -> Self {
        let dc = Self {
            url: env("MAKONIS_TEST_SAMBA_URL"),
            ca: env("MAKONIS_TEST_SAMBA_CA"),
            base: env("MAKONIS_TEST_SAMBA_BASE"),
            admin_dn: env("MAKONIS_TEST_SAMBA_ADMIN_DN"),
            admin_password: env("MAKONIS_TEST_SAMBA_ADMIN_PASSWORD"),
            audit_log: env("MAKONIS_TEST_SAMBA_AUDIT_LOG").into(),
        };
        assert!(
            dc.audit_log.is_file(),
            "{} is missing: samba runs without its audit log; restart it with tests/directory/samba.sh start",
            dc.audit_log.display()
        );
        dc
    }

    /// `tool` (ldapsearch, ldapmodify, ldapdelete) bound as `dn` with `password`, with
    /// `ldif` on its standard input, verifying the server's certificate.
    fn command(&self, tool: &str, dn: &str, password: &str) -> std::process::Command {
        let mut command = std::process::Command::new(tool);
        command.env("LDAPTLS_CACERT", &self.ca).env("LDAPTLS_REQCERT", "demand");
        command.args(["-H", &self.url, "-x", "-D", dn, "-w", password]);
        command
    }

    /// A simple bind as `dn` with `password` (and a search of the root DSE); whether it
    /// succeeded.
    async fn bind(&self, dn: &str, password: &str) -> bool {
        let mut search = Command::from(self.command("ldapsearch", dn, password));
        search.args(["-LLL", "-b", "", "-s", "base", "dn"]).stdout(Stdio::null()).stderr(Stdio::null());
        search.status().await.expect("ldapsearch (Debian package ldap-utils)").success()
    }

    /// Applies `ldif` as the domain's administrator; panics when it fails.
    async fn modify(&self, ldif: &str) {
        let mut modify = Command::from(self.command("ldapmodify", &self.admin_dn, &self.admin_password));
        let mut child = modify
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify (Debian package ldap-utils)");
        child.stdin.take().unwrap().write_all(ldif.as_bytes()).await.unwrap();
        let Output { status, stderr, .. } = child.wait_with_output().await.unwrap();
        assert!(status.success(), "ldapmodify failed ({status}): {}\n{ldif}", String::from_utf8_lossy(&stderr));
    }
}

/// Deletes the test's objects from the directory when dropped, also after a failure.
struct Cleanup<'a> {
    dc: &'a DomainController,
    dns: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let mut delete = self.dc.command("ldapdelete", &self.dc.admin_dn, &self.dc.admin_password);
        let deleted = delete.arg("-c").args(&self.dns).stderr(Stdio::null()).status();
        if !deleted.is_ok_and(|s| s.success()) {
            eprintln!("could not delete {:?} from the test directory", self.dns);
        }
    }
}

/// `"password"` in UTF-16LE, as `unicodePwd` takes it, written to `dir/name`.
fn unicode_pwd(dir: &Path, name: &str, password: &str) -> PathBuf {
    let bytes: Vec<u8> = format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Writes `dir/rsyslog.conf`: rsyslog follows Samba's audit log from its end (`imfile`,
/// tag `samba`, lines of up to 64 KiB as the SIEM takes them) and forwards every line over
/// RELP to 127.0.0.1:`relp_port` as RFC 5424; returns its path.
fn audit_forwarding(dir: &Path, audit_log: &Path, relp_port: u16) -> PathBuf {
    std::fs::create_dir_all(dir.join("rsyslog")).unwrap();
    let conf = dir.join("rsyslog.conf");
    let text = format!(
        r#"global(workDirectory="{work}" maxMessageSize="64k")
module(load="imfile")
module(load="omrelp")
input(type="imfile" File="{audit}" Tag="samba" freshStartTail="on" ruleset="forward")
ruleset(name="forward") {{
  action(type="omrelp" target="127.0.0.1" port="{relp_port}" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
        work = dir.join("rsyslog").display(),
        audit = audit_log.display(),
    );
    std::fs::write(&conf, text).unwrap();
    conf
}

/// The documents of the domain controllers' partitions from `first` to today (UTC).
async fn stored(store: &mut Store, first: Date) -> Vec<Value> {
    let today = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();
    let mut documents = Vec::new();
    let mut day = first;
    while day <= today {
        let key = PartitionKey { day, category: SourceCategory::Directory };
        for document in store.documents(key, 100_000).await.expect("read the store") {
            documents.push(serde_json::from_str(&document).expect("a stored document is JSON"));
        }
        day = day.tomorrow().unwrap();
    }
    documents
}

/// Polls the store until `wanted` holds for its documents, failing after 60 s.
async fn until(store: &mut Store, first: Date, what: &str, wanted: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..300 {
        let documents = stored(store, first).await;
        if wanted(&documents) {
            return documents;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not stored within 60 s: {:#?}", stored(store, first).await);
}

/// The events of `action` on `target` (`user.target.name`, or `user.name` for sign-ins).
fn of<'a>(documents: &'a [Value], action: &str, target: &str) -> Vec<&'a Value> {
    documents
        .iter()
        .filter(|e| {
            e["event"]["action"] == action && (e["user"]["target"]["name"] == target || e["user"]["name"] == target)
        })
        .collect()
}

/// Whether an event's description names `dn`.
fn mentions(event: &Value, dn: &str) -> bool {
    event["message"].as_str().is_some_and(|m| m.contains(dn))
}

#[tokio::test]
async fn samba_audit_reaches_the_store_through_rsyslog() {
    let dc = DomainController::from_env();
    let dir = fresh_dir("samba");
    let (store, _) = store_in(&dir).await;
    let (intake, queue_rx, stats) = intake(vec![domain_controllers()], 16);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relp_port = listener.local_addr().unwrap().port();
    let reader = tokio::spawn(relp::serve(listener, intake));
    let writer = tokio::spawn(writer::run(store, queue_rx, stats.clone(), None, None));
    let config = Config {
        root: dir.join("store"),
        checkpoint_log: dir.join("elsewhere/checkpoints.jsonl"),
        skew_limit: SignedDuration::from_mins(5),
    };
    let mut store = Store::open_read_only(config).await.expect("the store, to read");
    let first = Timestamp::now().to_zoned_datetime(TimeZone::UTC).date();

    let mut rsyslog = rsyslogd(&audit_forwarding(&dir, &dc.audit_log, relp_port), &dir);

    // Names of this run only: the audit log is shared with every test using the fixture.
    let name = format!("siem-{}-{}", std::process::id(), Timestamp::now().as_second() % 100_000);
    let user = format!("CN={name},CN=Users,{}", dc.base);
    let group = format!("CN={name}-g,CN=Users,{}", dc.base);

    // rsyslog starts at the end of the file once it has opened it: until then, sign-ins
    // of the user, who does not exist yet, are not forwarded; one that is shows it follows.
    for attempt in 0.. {
        assert!(!dc.bind(&user, "Nav-Parole-1!").await, "{user} signed in before it existed");
        if !of(&stored(&mut store, first).await, "logon", &user).is_empty() {
            break;
        }
        if let Some(exit) = rsyslog.try_wait().unwrap() {
            panic!("rsyslogd exited: {exit}");
        }
        assert!(attempt < 300, "no sign-in of {user} stored within 60 s of rsyslog's start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let _cleanup = Cleanup { dc: &dc, dns: vec![group.clone(), user.clone()] };
    let initial = unicode_pwd(&dir, "initial.pwd", "Sakums-123!");
    let reset = unicode_pwd(&dir, "reset.pwd", "Atiestata-123!");
    dc.modify(&format!(
        "dn: {user}\nchangetype: add\nobjectClass: user\nsAMAccountName: {name}\nuserAccountControl: 512\n\
         unicodePwd:< file://{}\n\n\
         dn: {group}\nchangetype: add\nobjectClass: group\nsAMAccountName: {name}-g\n",
        initial.display()
    ))
    .await;
    assert!(!dc.bind(&user, "Nepareiza-123!").await, "{user} signed in with a wrong password");
    assert!(dc.bind(&user, "Sakums-123!").await, "{user} could not sign in");
    dc.modify(&format!(
        "dn: {user}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:< file://{}\n",
        reset.display()
    ))
    .await;
    for change in ["add", "delete"] {
        dc.modify(&format!("dn: {group}\nchangetype: modify\n{change}: member\nmember: {user}\n")).await;
    }

    let documents = until(&mut store, first, "the test's sign-ins and changes", |d| {
        of(d, "logon", &name).len() == 2
            && of(d, "password-reset", &user).len() == 2
            && ["group-member-added", "group-member-removed"]
                .iter()
                .all(|action| of(d, action, &user).iter().any(|e| mentions(e, &group)))
    })
    .await;
    rsyslog.kill().await.unwrap();
    reader.abort();
    let _ = reader.await;
    writer.await.unwrap();

    let lines = std::fs::read_to_string(&dc.audit_log).unwrap();
    let check = |event: &Value, category: &str, outcome: &str| {
        assert_eq!(event["event"]["category"], serde_json::json!([category]), "{event:#}");
        assert_eq!(event["event"]["outcome"], outcome, "{event:#}");
        assert_eq!(event["source"]["ip"], "127.0.0.1", "{event:#}");
        assert_eq!(event["makonis"]["source"], DOMAIN_CONTROLLERS, "{event:#}");
        // The frame rsyslog sent: its RFC 5424 header, then Samba's line as Samba wrote it
        // (two spaces before the object), ended by the template's LF.
        let original = event["event"]["original"].as_str().unwrap();
        let (header, line) = original.split_once(" samba - - - ").unwrap_or_else(|| panic!("{original}"));
        assert!(header.starts_with('<') && header.contains(">1 "), "{original}");
        let line = line.strip_suffix('\n').unwrap_or_else(|| panic!("no LF at the end: {original}"));
        assert!(lines.lines().any(|l| l == line), "not a line of {}: {line:?}", dc.audit_log.display());
    };

    let unknown = of(&documents, "logon", &user);
    check(unknown[0], "authentication", "failure");
    assert!(unknown[0]["message"].as_str().unwrap().contains("NT_STATUS_NO_SUCH_USER"), "{:#}", unknown[0]);
    let sign_ins = of(&documents, "logon", &name);
    let failed = sign_ins.iter().find(|e| e["event"]["outcome"] == "failure").expect("the failed sign-in");
    check(failed, "authentication", "failure");
    assert!(failed["message"].as_str().unwrap().contains("NT_STATUS_WRONG_PASSWORD"), "{failed:#}");
    assert_eq!((&failed["event"]["code"], &failed["user"]["domain"]), (&"4625".into(), &"LM".into()));
    assert_eq!(failed["network"]["protocol"], "ldap", "{failed:#}");
    assert!(failed["source"]["port"].is_u64(), "{failed:#}");
    let signed_in = sign_ins.iter().find(|e| e["event"]["outcome"] == "success").expect("the sign-in");
    check(signed_in, "authentication", "success");
    assert_eq!(signed_in["event"]["code"], "4624");
    assert!(signed_in["user"]["id"].as_str().is_some_and(|sid| sid.starts_with("S-1-5-21-")), "{signed_in:#}");

    // Set on creation, and reset: both by the administrator (RID 500), named by SID only.
    for reset in of(&documents, "password-reset", &user) {
        check(reset, "iam", "success");
        assert!(reset["user"]["id"].as_str().is_some_and(|sid| sid.ends_with("-500")), "{reset:#}");
    }
    for action in ["group-member-added", "group-member-removed"] {
        let change = of(&documents, action, &user).into_iter().find(|e| mentions(e, &group)).unwrap();
        check(change, "iam", "success");
        assert_eq!(change["event"]["code"], if action.ends_with("added") { "4728" } else { "4729" });
    }
    assert_eq!(stats.source(DOMAIN_CONTROLLERS).quarantined, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
