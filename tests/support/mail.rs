//! The mail tests' world: an identity run (Samba AD, a Directory, an Agency, the identity
//! operator), the agency's mail domain confirmed by the platform, the mail operator under
//! its own ServiceAccount rendering into a directory of the run's own, and real Postfix and
//! Dovecot started on that configuration, on free ports of 127.0.0.1. The clients here
//! (SMTP, IMAP over TLS) are written from the protocols, not taken from the product;
//! submission (STARTTLS and a sign-in) goes through curl, a mail program's SMTP client.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::Duration,
};

use base64::Engine;
use k8s_openapi::{ByteString, api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use makonis_api::tenancy::Agency;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde_json::json;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use super::{
    CONVERGE,
    cluster::{MAIL_NAMESPACE, service_account_kubeconfig},
    directory::env,
    identity::{IdentityRun, ldap_modify},
    operator::{OperatorOptions, OperatorProcess, free_local_address},
    tenancy::wait_quota_counts,
    wait_until,
};

/// The mail operator's ServiceAccount (from manifests/base/rbac/mail-operator.yaml).
pub const MAIL_SERVICE_ACCOUNT: &str = "makonis-mail-operator";

/// One mail test's world.
pub struct MailRun {
    /// The identity side: Samba, the Directory, the Agency and its operators.
    pub id: IdentityRun,
    /// The agency's mail domain, e.g. `id1a2b3c.lv`.
    pub domain: String,
    /// Where the run's configuration, queue and mail live.
    pub dir: PathBuf,
    /// Inbound SMTP.
    pub smtp: SocketAddr,
    /// Submission (people sending, signed in over STARTTLS).
    pub submission: SocketAddr,
    /// OpenDKIM's milter.
    dkim: SocketAddr,
    /// IMAP over TLS.
    pub imaps: SocketAddr,
    /// The CA (PEM) the servers' certificate chains to.
    pub ca_pem: String,
    /// The mail operator.
    pub operator: OperatorProcess,
    servers: bool,
}

impl MailRun {
    /// Starts the identity run, confirms the agency's domain, writes the mail system's
    /// directory Secret (a read-only account) and starts the mail operator; the servers
    /// start once the operator has rendered their configuration.
    pub async fn start() -> Self {
        // No grace period: a leaver is due for deletion at once, so that only a mailbox
        // can keep the account.
        let id = IdentityRun::start(0, "Correct", 300).await;
        let domain = format!("{}.lv", id.code);
        let agencies: Api<Agency> = Api::all(id.admin.clone());
        agencies
            .patch(
                &id.code,
                &PatchParams::apply("mail-test").force(),
                &Patch::Apply(json!({
                    "apiVersion": "tenancy.makonis.lv/v1alpha1", "kind": "Agency", "spec": {"domains": [domain]}
                })),
            )
            .await
            .expect("the platform confirms the agency's domain");
        wait_quota_counts(&id.admin, &format!("agency-{}", id.code), "count/mailboxes.mail.makonis.lv").await;

        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/mail/{}", id.run));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in [
            "config",
            "state/postfix/data",
            "state/postfix/log",
            "state/postfix/spool",
            "state/dovecot/log",
            "state/opendkim",
            "mail",
            "tls",
        ] {
            std::fs::create_dir_all(dir.join(sub)).expect("the run's mail directories");
        }
        run("chown", &["postfix", &dir.join("state/postfix/data").display().to_string()]);
        run("chown", &["mail:mail", &dir.join("mail").display().to_string()]);
        let ca_pem = write_tls(&dir.join("tls"));

        let bind_secret = format!("mail-directory-{}", id.run);
        let secrets: Api<Secret> = Api::namespaced(id.admin.clone(), MAIL_NAMESPACE);
        let data = [
            ("username", env("MAKONIS_TEST_SAMBA_BIND_DN", "samba.sh").into_bytes()),
            ("password", env("MAKONIS_TEST_SAMBA_BIND_PASSWORD", "samba.sh").into_bytes()),
            ("ca.crt", std::fs::read(env("MAKONIS_TEST_SAMBA_CA", "samba.sh")).expect("the Samba CA")),
        ];
        let secret = Secret {
            metadata: ObjectMeta { name: Some(bind_secret.clone()), ..ObjectMeta::default() },
            data: Some(data.into_iter().map(|(k, v)| (k.to_string(), ByteString(v))).collect()),
            ..Secret::default()
        };
        secrets.create(&PostParams::default(), &secret).await.expect("the mail system's directory Secret");

        let (smtp, submission, imaps) = (free_local_address(), free_local_address(), free_local_address());
        let (lmtp, quota, auth) = (free_local_address(), free_local_address(), free_local_address());
        let dkim = free_local_address();
        let path = |sub: &str| dir.join(sub).display().to_string();
        let kubeconfig = service_account_kubeconfig(&id.admin, MAIL_NAMESPACE, MAIL_SERVICE_ACCOUNT).await;
        let args = [
            ("--mail-directory", id.directory.clone()),
            ("--mail-namespace", MAIL_NAMESPACE.to_string()),
            ("--mail-bind-secret", bind_secret),
            ("--mail-hostname", format!("mail.{domain}")),
            ("--mail-listen", "127.0.0.1".to_string()),
            ("--mail-smtp-port", smtp.port().to_string()),
            ("--mail-submission-port", submission.port().to_string()),
            ("--mail-imaps-port", imaps.port().to_string()),
            ("--mail-lmtp-port", lmtp.port().to_string()),
            ("--mail-quota-status-port", quota.port().to_string()),
            ("--mail-auth-port", auth.port().to_string()),
            ("--mail-dkim-port", dkim.port().to_string()),
            // Outgoing mail waits in the queue (nothing listens there) rather than bouncing
            // back into the test's mailboxes when a test domain does not resolve.
            ("--mail-relayhost", format!("[127.0.0.1]:{}", free_local_address().port())),
            ("--mail-config-dir", path("config")),
            ("--mail-state-dir", path("state")),
            ("--mail-root", path("mail")),
            ("--mail-tls-cert", path("tls/tls.crt")),
            ("--mail-tls-key", path("tls/tls.key")),
        ];
        let args: Vec<String> = args.into_iter().flat_map(|(flag, value)| [flag.to_string(), value]).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let operator = OperatorProcess::start(OperatorOptions {
            kubeconfig: &kubeconfig,
            controllers: "mail",
            run: &id.run,
            resync_seconds: 300,
            extra_args: &args,
        })
        .await;
        Self { id, domain, dir, smtp, submission, dkim, imaps, ca_pem, operator, servers: false }
    }

    /// An address in the run's domain.
    pub fn address(&self, local: &str) -> String {
        format!("{local}@{}", self.domain)
    }

    /// Starts Postfix, Dovecot and OpenDKIM once the operator has written their
    /// configuration.
    pub async fn start_servers(&mut self) {
        let main_cf = self.dir.join("config/postfix/main.cf");
        let dovecot_conf = self.dir.join("config/dovecot/dovecot.conf");
        let opendkim_conf = self.dir.join("config/opendkim/opendkim.conf");
        wait_until("the mail operator to render the configuration", CONVERGE, || async {
            match main_cf.exists() && dovecot_conf.exists() && opendkim_conf.exists() {
                true => Ok(()),
                false => Err(self.operator.log().lines().rev().take(5).collect::<Vec<_>>().join("\n")),
            }
        })
        .await;
        let postfix = self.dir.join("config/postfix").display().to_string();
        start_daemon("postfix", &["-c", &postfix, "start"], &self.dir);
        start_daemon("dovecot", &["-c", &dovecot_conf.display().to_string()], &self.dir);
        start_daemon("opendkim", &["-x", &opendkim_conf.display().to_string()], &self.dir);
        self.servers = true;
        for (server, address) in [("Postfix", self.smtp), ("Dovecot", self.imaps), ("OpenDKIM", self.dkim)] {
            wait_until(&format!("{server} to answer"), CONVERGE, || async move {
                TcpStream::connect(address).await.map(|_| ()).map_err(|e| e.to_string())
            })
            .await;
        }
    }

    /// Applies a mail object (`kind`, `name`, `spec`) in the agency's namespace.
    pub async fn apply_mail(&self, kind: &str, name: &str, spec: serde_json::Value) {
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.id.admin.clone(), &self.id.namespace, &mail_resource(kind));
        let object =
            json!({"apiVersion": "mail.makonis.lv/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec});
        api.patch(name, &PatchParams::apply("mail-test").force(), &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
    }

    /// Waits until the mail object has `Ready` = `status` with `reason`; returns it.
    pub async fn wait_ready(&self, kind: &str, name: &str, status: &str, reason: &str) -> serde_json::Value {
        self.wait_condition_of(kind, name, "Ready", status, reason).await
    }

    /// Waits until the mail object's condition `type_` is `status` with `reason`, for its
    /// current generation; returns the object.
    pub async fn wait_condition_of(
        &self,
        kind: &str,
        name: &str,
        type_: &str,
        status: &str,
        reason: &str,
    ) -> serde_json::Value {
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.id.admin.clone(), &self.id.namespace, &mail_resource(kind));
        wait_until(&format!("{kind} {name} to be {type_}={status} ({reason})"), CONVERGE, || async {
            let object =
                serde_json::to_value(api.get(name).await.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
            let conditions = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
            let fresh = object["status"]["observedGeneration"] == object["metadata"]["generation"];
            match conditions.iter().find(|c| c["type"] == type_) {
                Some(c) if fresh && c["status"] == status && c["reason"] == reason => Ok(object),
                other => Err(format!("{other:?}")),
            }
        })
        .await
    }

    /// Sends `message` through submission as a mail program would: STARTTLS (the server
    /// checked against the run's CA), signed in as `login`, with the envelope sender `from`.
    /// `Err` holds the conversation's refusal (curl's trace of the server's replies).
    pub async fn submit(&self, login: &str, password: &str, from: &str, to: &str, message: &str) -> Result<(), String> {
        let ca = self.dir.join("tls/ca.crt");
        let mut curl = tokio::process::Command::new("curl")
            .args(["--silent", "--show-error", "--verbose", "--ssl-reqd", "--max-time", "30", "--cacert"])
            .arg(&ca)
            .arg("--url")
            .arg(format!("smtp://{}", self.submission))
            .args(["--user", &format!("{login}:{password}"), "--mail-from", from, "--mail-rcpt", to])
            .args(["--upload-file", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("curl runs (tests/setup.sh installs it)");
        let mut stdin = curl.stdin.take().expect("curl's input");
        stdin.write_all(message.as_bytes()).await.expect("the message to curl");
        drop(stdin);
        let output = curl.wait_with_output().await.expect("curl ends");
        match output.status.success() {
            true => Ok(()),
            false => Err(String::from_utf8_lossy(&output.stderr)
                .lines()
                .filter(|l| l.starts_with("< ") || l.starts_with("curl:"))
                .collect::<Vec<_>>()
                .join("\n")),
        }
    }

    /// The configuration file `name` (under the rendered directory).
    pub fn rendered(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join("config").join(name)).unwrap_or_default()
    }
}

impl Drop for MailRun {
    fn drop(&mut self) {
        if self.servers {
            let postfix = self.dir.join("config/postfix").display().to_string();
            let _ = Command::new("postfix").args(["-c", &postfix, "stop"]).output();
            let dovecot = self.dir.join("config/dovecot/dovecot.conf").display().to_string();
            let _ = Command::new("doveadm").args(["-c", &dovecot, "stop"]).output();
            if let Ok(pid) = std::fs::read_to_string(self.dir.join("state/opendkim/opendkim.pid")) {
                let _ = Command::new("kill").arg(pid.trim()).output();
            }
        }
    }
}

fn mail_resource(kind: &str) -> kube::api::ApiResource {
    let plural = match kind {
        "MailDomain" => "maildomains",
        "Mailbox" => "mailboxes",
        "MailAlias" => "mailaliases",
        "MailingList" => "mailinglists",
        "MailboxMigration" => "mailboxmigrations",
        other => panic!("{other} is not a mail kind"),
    };
    kube::api::ApiResource {
        group: "mail.makonis.lv".into(),
        version: "v1alpha1".into(),
        api_version: "mail.makonis.lv/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs a command that leaves a daemon behind: its output goes to a file (a pipe would be
/// held open by the daemon, and reading it would never end).
fn start_daemon(program: &str, args: &[&str], dir: &Path) {
    let log = dir.join(format!("{program}.start.log"));
    let file = std::fs::File::create(&log).expect("a start log");
    let status = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().expect("the start log"))
        .stderr(file)
        .status()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(status.success(), "{program} {args:?}: {}", std::fs::read_to_string(&log).unwrap_or_default());
}

/// A CA and a certificate for 127.0.0.1 signed by it, written as `ca.crt`, `tls.crt` and
/// `tls.key`; returns the CA's PEM.
fn write_tls(dir: &Path) -> String {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    // Names of their own: OpenSSL takes a certificate whose subject is its issuer's for
    // self-signed, and the old server's client (Dovecot's imapc) uses OpenSSL.
    ca.distinguished_name.push(rcgen::DnType::CommonName, "Makonis mail test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name.push(rcgen::DnType::CommonName, "127.0.0.1");
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    ca_cert.pem()
}

/// Sets `password` for the account at `dn` as the person would at their first sign-in
/// (the domain's administrator resets it and clears "must change").
pub fn set_own_password(dn: &str, password: &str) {
    let utf16: Vec<u8> = format!("\"{password}\"").encode_utf16().flat_map(u16::to_le_bytes).collect();
    let value = base64::engine::general_purpose::STANDARD.encode(utf16);
    ldap_modify(&format!(
        "dn: {dn}\nchangetype: modify\nreplace: unicodePwd\nunicodePwd:: {value}\n-\nreplace: pwdLastSet\npwdLastSet: -1\n-\n"
    ));
}

/// An SMTP conversation, as an outside mail server would have it (no TLS, no sign-in).
pub struct Smtp {
    reader: BufReader<TcpStream>,
}

impl Smtp {
    /// Connects, reads the greeting and says EHLO.
    pub async fn connect(address: SocketAddr) -> Self {
        let stream = TcpStream::connect(address).await.expect("SMTP connects");
        let mut smtp = Self { reader: BufReader::new(stream) };
        let (code, _) = smtp.reply().await;
        assert_eq!(code, 220, "the greeting");
        let (code, text) = smtp.command("EHLO sender.example.org").await;
        assert_eq!(code, 250, "EHLO: {text}");
        smtp
    }

    /// Sends one command line; returns the reply code and text.
    pub async fn command(&mut self, line: &str) -> (u16, String) {
        self.reader.get_mut().write_all(format!("{line}\r\n").as_bytes()).await.expect("SMTP write");
        self.reply().await
    }

    async fn reply(&mut self) -> (u16, String) {
        let mut text = String::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await.expect("SMTP read");
            assert!(line.len() >= 4, "SMTP reply cut short: {text}{line:?}");
            text.push_str(&line);
            if line.as_bytes()[3] == b' ' {
                return (line[..3].parse().expect("a reply code"), text);
            }
        }
    }

    /// Sends one message from `from` to `to`; returns the reply to the first refused
    /// step, or the final reply (250 when queued).
    pub async fn send(&mut self, from: &str, to: &[&str], message: &str) -> (u16, String) {
        let (code, text) = self.command(&format!("MAIL FROM:<{from}>")).await;
        if code != 250 {
            return (code, text);
        }
        for recipient in to {
            let (code, text) = self.command(&format!("RCPT TO:<{recipient}>")).await;
            if code != 250 {
                let _ = self.command("RSET").await;
                return (code, text);
            }
        }
        let (code, text) = self.command("DATA").await;
        if code != 354 {
            return (code, text);
        }
        let body = message.replace("\r\n", "\n").replace('\n', "\r\n").replace("\r\n.", "\r\n..");
        self.reader.get_mut().write_all(body.as_bytes()).await.expect("SMTP write");
        self.command("\r\n.").await
    }
}

/// A message with a Latvian subject (RFC 2047) and body (UTF-8, 8 bit).
pub fn latvian_message(from: &str, to: &str, subject: &str, body: &str) -> String {
    let subject = base64::engine::general_purpose::STANDARD.encode(subject);
    format!(
        "From: <{from}>\nTo: <{to}>\nSubject: =?UTF-8?B?{subject}?=\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{body}\n"
    )
}

/// An IMAP session over TLS, signed in with AUTHENTICATE PLAIN (UTF-8 safe).
pub struct Imap {
    stream: BufReader<tokio_rustls::client::TlsStream<TcpStream>>,
    tag: u32,
}

impl Imap {
    /// Connects over TLS (verifying the server against `ca_pem`) and signs in; `Err`
    /// holds the server's refusal.
    pub async fn login(address: SocketAddr, ca_pem: &str, user: &str, password: &str) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.expect("CA PEM")).expect("a CA certificate");
        }
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(address).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("127.0.0.1").unwrap();
        let tls = connector.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
        let mut imap = Self { stream: BufReader::new(tls), tag: 0 };
        let mut greeting = String::new();
        imap.stream.read_line(&mut greeting).await.map_err(|e| e.to_string())?;
        let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        let (ok, text) = imap.command(&format!("AUTHENTICATE PLAIN {plain}")).await;
        match ok {
            true => Ok(imap),
            false => Err(text),
        }
    }

    /// Runs one command; returns whether it ended OK and everything the server sent.
    pub async fn command(&mut self, command: &str) -> (bool, String) {
        self.tag += 1;
        let tag = format!("a{}", self.tag);
        self.stream.get_mut().write_all(format!("{tag} {command}\r\n").as_bytes()).await.expect("IMAP write");
        let mut text = String::new();
        loop {
            let mut line = Vec::new();
            self.stream.read_until(b'\n', &mut line).await.expect("IMAP read");
            assert!(!line.is_empty(), "the IMAP server closed the connection: {text}");
            let line = String::from_utf8_lossy(&line).into_owned();
            text.push_str(&line);
            if let Some(size) = literal_size(&line) {
                let mut literal = vec![0; size];
                self.stream.read_exact(&mut literal).await.expect("IMAP literal");
                text.push_str(&String::from_utf8_lossy(&literal));
                continue;
            }
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                return (rest.starts_with("OK"), text);
            }
        }
    }

    /// How many messages INBOX holds.
    pub async fn count(&mut self) -> usize {
        let (ok, text) = self.command("SELECT INBOX").await;
        assert!(ok, "SELECT INBOX: {text}");
        text.lines()
            .find_map(|l| {
                l.strip_prefix("* ").and_then(|l| l.strip_suffix(" EXISTS")).and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// Message `n` of INBOX exactly as stored (CRLF line ends).
    pub async fn message(&mut self, n: usize) -> String {
        let text = self.fetch(n).await;
        let (head, rest) = text.split_once("}\r\n").expect("FETCH returns the message as a literal");
        let size: usize = head.rsplit_once('{').and_then(|(_, n)| n.parse().ok()).expect("the literal's size");
        rest.get(..size).expect("the whole literal").to_owned()
    }

    /// Message `n` of INBOX, whole.
    pub async fn fetch(&mut self, n: usize) -> String {
        let (ok, text) = self.command(&format!("FETCH {n} BODY.PEEK[]")).await;
        assert!(ok, "FETCH: {text}");
        text
    }
}

fn literal_size(line: &str) -> Option<usize> {
    let line = line.trim_end();
    line.strip_suffix('}')?.rsplit_once('{')?.1.parse().ok()
}

/// Waits until `user`'s INBOX holds `count` messages; returns the session.
pub async fn wait_inbox(mail: &MailRun, user: &str, password: &str, count: usize) -> Imap {
    wait_until(&format!("{user}'s INBOX to hold {count}"), Duration::from_secs(30), || async {
        let mut imap = Imap::login(mail.imaps, &mail.ca_pem, user, password).await?;
        match imap.count().await {
            n if n == count => Ok(imap),
            n => Err(format!("{n} messages")),
        }
    })
    .await
}

/// A second Dovecot acting as an agency's old IMAP server: IMAPS only, people from a
/// password file, and a master user that may sign in as any of them.
pub struct OldServer {
    dir: PathBuf,
    /// Its IMAPS address.
    pub imaps: SocketAddr,
}

/// The old server's master user and password.
pub const OLD_MASTER: (&str, &str) = ("migrator", "Migr-Parole-1!");

impl OldServer {
    /// Starts the old server for `users` (name, password), with the mail run's certificate.
    pub fn start(mail: &MailRun, users: &[(&str, &str)]) -> Self {
        let dir = mail.dir.join("old-server");
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).expect("the old server's directories");
        }
        run("chown", &["mail:mail", &dir.join("mail").display().to_string()]);
        let imaps = free_local_address();
        let lines: Vec<String> =
            users.iter().map(|(user, password)| format!("{user}:{{PLAIN}}{password}::::::")).collect();
        std::fs::write(dir.join("users"), lines.join("\n") + "\n").unwrap();
        std::fs::write(dir.join("masters"), format!("{}:{{PLAIN}}{}\n", OLD_MASTER.0, OLD_MASTER.1)).unwrap();
        let d = dir.display();
        let tls = mail.dir.join("tls");
        let config = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\nprotocols = imap\nlisten = 127.0.0.1\n\
             ssl = required\nssl_cert = <{cert}\nssl_key = <{key}\ndisable_plaintext_auth = yes\n\
             mail_location = maildir:~/Maildir\nfirst_valid_uid = 1\n\
             passdb {{\n  driver = passwd-file\n  args = {d}/masters\n  master = yes\n  pass = yes\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid=mail gid=mail home={d}/mail/%u\n}}\n\
             service imap-login {{\n  inet_listener imap {{\n    port = 0\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n}}\n",
            cert = tls.join("tls.crt").display(),
            key = tls.join("tls.key").display(),
            port = imaps.port(),
        );
        std::fs::write(dir.join("dovecot.conf"), config).unwrap();
        start_daemon("dovecot", &["-c", &dir.join("dovecot.conf").display().to_string()], &dir);
        Self { dir, imaps }
    }

    /// Stores `message` in `user`'s `folder` (created when missing).
    pub fn store(&self, user: &str, folder: &str, message: &str) {
        let config = self.dir.join("dovecot.conf").display().to_string();
        if folder != "INBOX" {
            let _ = Command::new("doveadm").args(["-c", &config, "mailbox", "create", "-u", user, folder]).output();
        }
        let mut child = Command::new("doveadm")
            .args(["-c", &config, "save", "-u", user, "-m", folder])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("doveadm save");
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), message.as_bytes()).unwrap();
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success(), "doveadm save into {user}/{folder}");
    }
}

impl Drop for OldServer {
    fn drop(&mut self) {
        let config = self.dir.join("dovecot.conf").display().to_string();
        let _ = Command::new("doveadm").args(["-c", &config, "stop"]).output();
    }
}
