//! The SLO engine under test: `makonis slo run` as a child process under its own
//! ServiceAccount (`makonis-slo`), with its ledger in a fresh SQLite database, optionally
//! serving the run's admission webhook, and optionally in a private mount namespace whose
//! `/etc/hosts` answers test names (a real resolver answer, for this process only).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::{Api, Client};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    process::{Child, Command},
};

use super::{
    CONVERGE,
    cluster::{admin_kubeconfig_path, service_account_kubeconfig},
    operator::{free_local_address, http_get},
    wait_until,
    webhook::register_webhook,
};

/// The engine's ServiceAccount (manifests/base/rbac/slo-engine.yaml).
pub const SLO_SERVICE_ACCOUNT: &str = "makonis-slo";

/// How the engine under test is started.
pub struct SloOptions<'a> {
    /// The test run (names of its files and of its webhook registration).
    pub run: &'a str,
    /// Serve and register the run's Probe webhook (judging only the run's objects).
    pub webhook: bool,
    /// Lines of an `/etc/hosts` the engine alone sees, e.g. `127.0.0.2 a.example.test`.
    pub hosts: Option<&'a str>,
    /// More arguments for `makonis slo run`.
    pub extra_args: &'a [String],
}

/// A running `makonis slo run`; killed when dropped.
pub struct SloEngine {
    _child: Child,
    /// Where its `/metrics`, `/healthz` and `/readyz` are served.
    pub ops_address: SocketAddr,
    /// Where it logs (JSON lines).
    pub log_path: PathBuf,
    /// The name of the run's webhook registration, if it serves one.
    pub webhook: Option<String>,
}

impl SloEngine {
    /// Starts the engine, waits until it is ready and, with a webhook, until its CA
    /// bundle is published. Probe hosts of `*.apps.makonis.lv` and `*.svc` go to the
    /// control plane's stand-in ingress, as in `tests/platform.sh`, so that the probes of
    /// other tests' instances stay on this machine; without a private `/etc/hosts`, the
    /// tests' own names (`*.makonis.test`) go to a closed local port.
    pub async fn start(admin: &Client, options: SloOptions<'_>) -> Self {
        let kubeconfig = service_account_kubeconfig(admin, "makonis-system", SLO_SERVICE_ACCOUNT).await;
        let ops_address = free_local_address();
        let dir = admin_kubeconfig_path().with_file_name(format!("slo-{}-{}", options.run, ops_address.port()));
        std::fs::create_dir_all(&dir).expect("the engine's directory");
        let log_path = dir.join("slo.log");
        println!("SLO engine of run {} logs to {}", options.run, log_path.display());
        let ingress = std::env::var("MAKONIS_CLUSTER_INGRESS")
            .expect("MAKONIS_CLUSTER_INGRESS: run through ./test.sh, or eval \"$(tests/cluster/cluster.sh env)\"");
        let mut args: Vec<String> = [
            "slo",
            "run",
            "--log-format",
            "json",
            "--evaluation-seconds",
            "2",
            "--metrics-address",
            &ops_address.to_string(),
            "--database-url",
            &format!("sqlite://{}", dir.join("ledger.db").display()),
            "--resolve",
            &format!("*.apps.makonis.lv={ingress}"),
            "--resolve",
            &format!("*.svc={ingress}"),
        ]
        .map(String::from)
        .to_vec();
        let webhook = if options.webhook {
            let name = format!("makonis-slo-{}", options.run);
            let address = free_local_address();
            register_webhook(admin, options.run, &name, address.port(), "slo-webhook.yaml", SLO_SERVICE_ACCOUNT).await;
            args.extend([
                "--webhook-address".into(),
                address.to_string(),
                "--webhook-configuration".into(),
                name.clone(),
            ]);
            Some(name)
        } else {
            None
        };
        args.extend(options.extra_args.iter().cloned());
        let mut command = match options.hosts {
            Some(lines) => private_hosts(&dir, lines),
            None => {
                // The test names of other runs' probes stay on this machine too.
                args.extend(["--resolve".into(), "*.makonis.test=127.0.0.1:9".into()]);
                Command::new(env!("CARGO_BIN_EXE_makonis"))
            }
        };
        let child = command
            .args(&args)
            .env("KUBECONFIG", &kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).expect("the engine's log"))
            .kill_on_drop(true)
            .spawn()
            .expect("makonis slo run starts");
        wait_until("the SLO engine to be ready", CONVERGE, || async {
            match http_get(ops_address, "/readyz").await {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
        if let Some(name) = &webhook {
            wait_until("the SLO webhook's CA bundle to be published", CONVERGE, || async {
                let configuration = Api::<ValidatingWebhookConfiguration>::all(admin.clone())
                    .get(name)
                    .await
                    .map_err(|e| e.to_string())?;
                let published = configuration.webhooks.iter().flatten().all(|h| h.client_config.ca_bundle.is_some());
                if published { Ok(()) } else { Err("no caBundle yet".into()) }
            })
            .await;
        }
        Self { _child: child, ops_address, log_path, webhook }
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        match http_get(self.ops_address, "/metrics").await {
            Ok((200, body)) => body,
            other => panic!("/metrics failed: {other:?}"),
        }
    }

    /// Removes the run's webhook registration.
    pub async fn finish(self, admin: &Client) {
        if let Some(name) = &self.webhook {
            let _ = Api::<ValidatingWebhookConfiguration>::all(admin.clone())
                .delete(name, &kube::api::DeleteParams::default())
                .await;
        }
    }
}

/// `makonis` in a mount namespace of its own (unshare(1), as root) whose `/etc/hosts` is
/// a file of `lines` bind-mounted over the real one: the system resolver answers those
/// names for this process and its children only.
fn private_hosts(dir: &Path, lines: &str) -> Command {
    let hosts = dir.join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1 localhost\n{lines}\n")).expect("the engine's hosts file");
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c", r#"mount --bind "$0" /etc/hosts && exec "$@""#])
        .arg(&hosts)
        .arg(env!("CARGO_BIN_EXE_makonis"));
    command
}

/// A probe target: a listener on `ip` that answers every request `200 OK` with `body` and
/// counts the connections it accepts.
pub async fn probe_target(ip: &str, body: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind a test listener");
    let address = listener.local_addr().expect("its address");
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            read_head(&mut stream).await;
            let answer =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (address, accepted)
}

/// Reads a request head (up to the blank line, or until the client stops sending).
async fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
}
