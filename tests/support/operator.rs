//! The operator under test: the real `makonis` binary as a child process, running as
//! its own ServiceAccount (never as cluster admin).

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::{Child, Command};

use super::{agencies::TEST_LABEL, cluster::admin_kubeconfig_path, wait_until};

/// A running `makonis operator`; killed when dropped.
pub struct OperatorProcess {
    child: Child,
    /// Where its log (JSON lines) is written.
    pub log_path: PathBuf,
    /// Where its `/metrics`, `/healthz` and `/readyz` are served.
    pub ops_address: SocketAddr,
}

/// How an operator under test is started.
pub struct OperatorOptions<'a> {
    /// Kubeconfig of the identity it runs as.
    pub kubeconfig: &'a Path,
    /// Controllers to run, e.g. `tenancy` or `catalog`.
    pub controllers: &'a str,
    /// Only Agencies and ServiceInstances labelled with this test run are reconciled.
    pub run: &'a str,
    /// Seconds between drift checks.
    pub resync_seconds: u64,
    /// More arguments for `makonis operator`.
    pub extra_args: &'a [&'a str],
}

impl OperatorProcess {
    /// Starts the operator and waits until `/readyz` answers 200.
    pub async fn start(options: OperatorOptions<'_>) -> Self {
        let mut process = Self::spawn(options);
        process.wait_ready().await;
        process
    }

    /// Starts the operator without waiting for it to become ready.
    pub fn spawn(options: OperatorOptions<'_>) -> Self {
        let ops_address = free_local_address();
        let log_path =
            admin_kubeconfig_path().with_file_name(format!("operator-{}-{}.log", options.run, ops_address.port()));
        let log = std::fs::File::create(&log_path).expect("operator log file");
        println!("operator for run {} logs to {}", options.run, log_path.display());
        let child = Command::new(env!("CARGO_BIN_EXE_makonis"))
            .args(["operator", "--controllers", options.controllers, "--log-format", "json"])
            .arg("--metrics-address")
            .arg(ops_address.to_string())
            .arg("--agency-selector")
            .arg(format!("{TEST_LABEL}={}", options.run))
            .arg("--instance-selector")
            .arg(format!("{TEST_LABEL}={}", options.run))
            .arg("--resync-seconds")
            .arg(options.resync_seconds.to_string())
            .args(options.extra_args)
            .env("KUBECONFIG", options.kubeconfig)
            .env("MAKONIS_LOG", "info,makonis_tenancy=debug,makonis_catalog_operator=debug,makonis_compute=debug,makonis_identity=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("the makonis binary starts");
        Self { child, log_path, ops_address }
    }

    /// Waits until `/readyz` answers 200 and checks the process is still alive.
    pub async fn wait_ready(&mut self) {
        let address = self.ops_address;
        wait_until("the operator to become ready", Duration::from_secs(60), || async move {
            match http_get(address, "/readyz").await {
                Ok((200, _)) => Ok(()),
                Ok((code, body)) => Err(format!("/readyz answered {code}: {body}")),
                Err(e) => Err(e),
            }
        })
        .await;
        assert!(self.child.try_wait().expect("child status").is_none(), "the operator exited during start-up");
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the operator is running")
    }

    /// How the process ended, or `None` while it runs.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("child status")
    }

    /// What the operator has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        match http_get(self.ops_address, "/metrics").await {
            Ok((200, body)) => body,
            other => panic!("/metrics failed: {other:?}"),
        }
    }

    /// The value of the counter `name` with exactly `labels` (e.g. `controller="makonis-tenancy"`).
    pub async fn counter(&self, name: &str, labels: &str) -> f64 {
        let prefix = format!("{name}{{{labels}}} ");
        self.metrics()
            .await
            .lines()
            .find_map(|line| line.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }

    /// The sum of every series of the metric `name`.
    pub async fn total(&self, name: &str) -> f64 {
        self.metrics()
            .await
            .lines()
            .filter(|line| line.starts_with(name) && line[name.len()..].starts_with(['{', ' ']))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    }

    /// Kills the process at once (SIGKILL): no graceful shutdown, as in a node crash.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill the operator");
    }

    /// Stops the process with SIGTERM and waits for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running operator");
        let sent = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await.expect("run kill(1)");
        assert!(sent.success(), "SIGTERM to the operator");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("the operator stops within 30 s of SIGTERM")
            .expect("wait for the operator");
        assert!(status.success(), "the operator exited with {status} after SIGTERM");
    }
}

/// An unused port on 127.0.0.1, never one this test process was given before: the
/// kernel may hand a port it just gave out (and that was released at once) to the next
/// bind to port 0, so two addresses asked for one after the other (a server's intake and
/// its operations endpoint) could otherwise be the same, and the server fail to start with
/// "Address already in use".
pub fn free_local_address() -> SocketAddr {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let address = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free local port");
        if !given.contains(&address.port()) {
            given.push(address.port());
            return address;
        }
    }
}

/// A GET against a local endpoint (an operator's `/metrics`, `/readyz`): the status and
/// body, or why there was no answer.
pub async fn http_get(address: SocketAddr, path: &str) -> Result<(u16, String), String> {
    super::web::try_request(address, "GET", path, None, None).await.map(|answer| (answer.status, answer.body))
}
