//! `makonis portal` as a process, as its own ServiceAccount, for tests that look at its
//! pages against the real control plane; killed on drop.

use std::{net::SocketAddr, process::Stdio};

use tokio::process::{Child, Command};

use super::{
    CONVERGE,
    cluster::{admin_kubeconfig_path, service_account_kubeconfig},
    operator::{free_local_address, http_get},
    wait_until,
};

/// A running portal.
pub struct PortalProcess {
    /// Where it serves its pages (plain HTTP, `--insecure-cookies`).
    pub address: SocketAddr,
    _child: Child,
}

impl PortalProcess {
    /// Starts the portal as ServiceAccount `makonis-system/makonis-portal` over
    /// `database_url`, with `extra` arguments, logging to `<log>-<port>.log` beside the
    /// admin kubeconfig; returns once `/readyz` answers 200.
    pub async fn start(admin: &kube::Client, database_url: &str, extra: &[String], log: &str) -> Self {
        let kubeconfig = service_account_kubeconfig(admin, "makonis-system", "makonis-portal").await;
        let address = free_local_address();
        let log = admin_kubeconfig_path().with_file_name(format!("{log}-{}.log", address.port()));
        let child = Command::new(env!("CARGO_BIN_EXE_makonis"))
            .args(["portal", "--log-format", "json", "--insecure-cookies"])
            .arg("--address")
            .arg(address.to_string())
            .arg("--metrics-address")
            .arg(free_local_address().to_string())
            .arg("--database-url")
            .arg(database_url)
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .kill_on_drop(true)
            .spawn()
            .expect("makonis portal starts");
        wait_until("the portal to be ready", CONVERGE, || async {
            match http_get(address, "/readyz").await {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?} (log: {})", log.display())),
            }
        })
        .await;
        Self { address, _child: child }
    }
}
