//! `makonis siem run` as a child process under its own ServiceAccount, on free local
//! ports, with its store, checkpoint log and key in a directory of the test's.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
};

use kube::{Api, Client, api::PostParams};
use makonis_api::security::LogSource;
use makonis_siem_core::chain::SigningKey;
use tokio::process::{Child, Command};

use makonis_portal::{identity::password::hash_password, store::accounts::Account};

use super::{
    CONVERGE,
    cluster::service_account_kubeconfig,
    operator::{free_local_address, http_get},
    portal_process::PortalProcess,
    wait_until,
};

/// Creates an authentication LogSource `name` in the platform namespace, claiming
/// `senders` (JSON, as in the spec), its RFC 3164 times in `zone`.
pub async fn create_log_source(admin: &Client, name: &str, senders: serde_json::Value, zone: &str) {
    let object: LogSource = serde_json::from_value(serde_json::json!({
        "apiVersion": "security.makonis.lv/v1alpha1", "kind": "LogSource",
        "metadata": {"name": name, "namespace": "makonis-system"},
        "spec": {"senders": senders, "format": "syslog", "category": "authentication", "timeZone": zone}
    }))
    .expect("a LogSource");
    Api::<LogSource>::namespaced(admin.clone(), "makonis-system")
        .create(&PostParams::default(), &object)
        .await
        .expect("create the LogSource");
}

/// The arguments that give `makonis siem run` the test control plane's SIEM
/// certificates and its HTTPS intake where the API server's audit webhook posts
/// (`MAKONIS_CLUSTER_SIEM_HTTPS`), its TLS syslog on a free port.
pub fn cluster_tls_args() -> Vec<String> {
    let hint = "run through ./test.sh, or eval \"$(tests/cluster/cluster.sh env)\"";
    let https =
        std::env::var("MAKONIS_CLUSTER_SIEM_HTTPS").unwrap_or_else(|_| panic!("MAKONIS_CLUSTER_SIEM_HTTPS: {hint}"));
    let pki =
        PathBuf::from(std::env::var("MAKONIS_CLUSTER_PKI").unwrap_or_else(|_| panic!("MAKONIS_CLUSTER_PKI: {hint}")));
    let file = |name: &str| pki.join(name).to_str().expect("a UTF-8 path").to_owned();
    vec![
        "--https".into(),
        https,
        "--syslog-tls".into(),
        free_local_address().to_string(),
        "--tls-certificate".into(),
        file("siem-serving.crt"),
        "--tls-key".into(),
        file("siem-serving.key"),
        "--client-ca".into(),
        file("siem-ca.crt"),
    ]
}

/// The LogSource `kubernetes-audit-<id>` in the platform namespace that claims the API
/// server's audit webhook. The API server is one sender: earlier runs' claims on it are
/// deleted first, since conflicting claims are both refused.
pub async fn claim_the_api_server(admin: &Client, id: &str) -> String {
    let api = Api::<LogSource>::namespaced(admin.clone(), "makonis-system");
    for earlier in api.list(&Default::default()).await.expect("list LogSources") {
        if let Some(name) = earlier.metadata.name.filter(|n| n.starts_with("kubernetes-audit-")) {
            api.delete(&name, &Default::default()).await.expect("delete an earlier claim");
        }
    }
    let name = format!("kubernetes-audit-{id}");
    let source: LogSource = serde_json::from_value(serde_json::json!({
        "apiVersion": "security.makonis.lv/v1alpha1", "kind": "LogSource",
        "metadata": {"name": name, "namespace": "makonis-system"},
        "spec": {"senders": [{"platform": "kubernetes-api-server"}], "format": "kubernetes-audit", "category": "platform-audit"}
    }))
    .expect("a LogSource");
    api.create(&PostParams::default(), &source).await.expect("create the LogSource");
    name
}

/// Where a test's SIEM keeps its data, and the key's public half for `verify`.
pub struct SiemFiles {
    /// The test's directory (logs go here too).
    pub dir: PathBuf,
    /// `--store`.
    pub store: PathBuf,
    /// `--store-url`, used instead of `--store` when set.
    pub store_url: Option<String>,
    /// `--checkpoint-log`.
    pub checkpoint_log: PathBuf,
    /// `--signing-key`, a new key.
    pub key: PathBuf,
    /// The key's public half, hex.
    pub public_key: String,
}

impl SiemFiles {
    /// A new key and paths under `dir` (created).
    pub fn new(dir: PathBuf) -> Self {
        std::fs::create_dir_all(&dir).expect("the test's directory");
        let key = dir.join("checkpoint.key");
        let der = SigningKey::generate().expect("a key");
        std::fs::write(&key, &der).expect("write the key");
        let public_key =
            SigningKey::from_pkcs8(&der).expect("the key").public_key().iter().map(|b| format!("{b:02x}")).collect();
        let (store, checkpoint_log) = (dir.join("store"), dir.join("elsewhere/checkpoints.jsonl"));
        Self { store, store_url: None, checkpoint_log, key, public_key, dir }
    }

    /// As [`SiemFiles::new`], the events in the PostgreSQL database at `url`.
    pub fn on_postgres(dir: PathBuf, url: String) -> Self {
        Self { store_url: Some(url), ..Self::new(dir) }
    }

    /// `--store DIR` or `--store-url URL`, and `--checkpoint-log FILE`.
    fn store_args(&self) -> Vec<String> {
        let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
        let store = match &self.store_url {
            Some(url) => ["--store-url".to_owned(), url.clone()],
            None => ["--store".to_owned(), path(&self.store)],
        };
        store.into_iter().chain(["--checkpoint-log".to_owned(), path(&self.checkpoint_log)]).collect()
    }
}

/// A running `makonis siem run`.
pub struct Siem {
    /// The process (killed when dropped).
    pub child: Child,
    /// Syslog over TCP.
    pub tcp: SocketAddr,
    /// The operations endpoint (`/metrics`, `/readyz`).
    pub ops: SocketAddr,
}

impl Siem {
    /// Starts it as the `makonis-siem` ServiceAccount with RELP on `relp`, statuses
    /// refreshed every second, logging to `<dir>/<log>`; returns once it is ready.
    pub async fn start(admin: &Client, files: &SiemFiles, relp: SocketAddr, log: &str) -> Self {
        Self::start_with(admin, files, relp, &[], log).await
    }

    /// As [`Siem::start`], with `extra` arguments.
    pub async fn start_with(admin: &Client, files: &SiemFiles, relp: SocketAddr, extra: &[String], log: &str) -> Self {
        let kubeconfig = service_account_kubeconfig(admin, "makonis-system", "makonis-siem").await;
        let (tcp, udp, ops) = (free_local_address(), free_local_address(), free_local_address());
        let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();
        let child = Command::new(env!("CARGO_BIN_EXE_makonis"))
            .args(["siem", "run", "--log-format", "json", "--status-seconds", "1", "--maintenance-seconds", "1"])
            .args(files.store_args())
            .args(["--signing-key", &path(&files.key), "--metrics-address", &ops.to_string()])
            .args(["--syslog-tcp", &tcp.to_string(), "--syslog-udp", &udp.to_string(), "--relp", &relp.to_string()])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(files.dir.join(log)).expect("the SIEM's log"))
            .kill_on_drop(true)
            .spawn()
            .expect("makonis siem run starts");
        wait_until("the SIEM to be ready", CONVERGE, || async {
            match http_get(ops, "/readyz").await {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
        Self { child, tcp, ops }
    }

    /// The value of the sample `series` (name and labels as exposed) on `/metrics`.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let (_, text) = http_get(self.ops, "/metrics").await.ok()?;
        text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
    }

    /// Sends a signal (`TERM`, `KILL`) and waits for the process to end; whether it
    /// ended successfully.
    pub async fn signal(mut self, signal: &str) -> bool {
        let pid = self.child.id().expect("running").to_string();
        let sent = Command::new("kill").args([&format!("-{signal}"), &pid]).status().await.expect("run kill(1)");
        assert!(sent.success(), "kill -{signal} {pid}");
        tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait())
            .await
            .expect("the SIEM ends within 30 s")
            .expect("wait for the SIEM")
            .success()
    }

    /// `makonis siem verify --from day` on the test's store: whether it passed, and what
    /// it printed.
    pub async fn verify(files: &SiemFiles, day: &str) -> (bool, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_makonis"))
            .args(["siem", "verify"])
            .args(files.store_args())
            .args(["--public-key", &files.public_key, "--from", day])
            .output()
            .await
            .expect("run makonis siem verify");
        let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        (output.status.success(), printed)
    }
}

/// The password of [`security_portal`]'s account `security`.
pub const SECURITY_PASSWORD: &str = "Drosiba-2026x";

/// The portal as its ServiceAccount, searching the test control plane's SIEM with the
/// portal's platform-CA certificate, with one account in the platform's security group.
pub async fn security_portal(admin: &kube::Client, dir: &std::path::Path) -> PortalProcess {
    let database_url = format!("sqlite://{}", dir.join("portal.db").display());
    let store = makonis_portal::store::Store::connect(&database_url).await.expect("the portal's database");
    let account = Account {
        username: "security".into(),
        password_hash: hash_password(SECURITY_PASSWORD),
        display_name: "Drošības dienests".into(),
        email: None,
        groups: vec!["Makonis-Platform-Security".into()],
    };
    store.put_account(&account, 0).await.unwrap();
    let https = std::env::var("MAKONIS_CLUSTER_SIEM_HTTPS").expect("MAKONIS_CLUSTER_SIEM_HTTPS");
    let pki = std::path::PathBuf::from(std::env::var("MAKONIS_CLUSTER_PKI").expect("MAKONIS_CLUSTER_PKI"));
    let file = |name: &str| pki.join(name).display().to_string();
    let extra = [
        "--siem-url".to_owned(),
        format!("https://{https}/v1/events"),
        "--siem-client-certificate".to_owned(),
        file("siem-portal.crt"),
        "--siem-client-key".to_owned(),
        file("siem-portal.key"),
        "--siem-ca".to_owned(),
        file("siem-ca.crt"),
    ];
    PortalProcess::start(admin, &database_url, &extra, "portal-siem").await
}
