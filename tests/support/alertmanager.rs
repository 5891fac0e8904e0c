//! A real Alertmanager (Debian's `prometheus-alertmanager`) on a free local port, with a
//! route to a receiver that sends nothing, for tests of what the SIEM sends it.

use std::{net::SocketAddr, path::Path, process::Stdio};

use tokio::process::{Child, Command};

use super::{CONVERGE, operator::free_local_address, operator::http_get, wait_until};

/// A running Alertmanager (killed when dropped).
pub struct AlertmanagerProcess {
    /// The process.
    pub child: Child,
    /// Its HTTP address.
    pub address: SocketAddr,
}

impl AlertmanagerProcess {
    /// Starts one keeping its data under `dir`, clustering off; returns once it is ready.
    pub async fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("the Alertmanager's directory");
        let config = dir.join("alertmanager.yml");
        std::fs::write(&config, "route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n")
            .expect("its configuration");
        let address = free_local_address();
        let child = Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("alertmanager.log")).expect("its log"))
            .kill_on_drop(true)
            .spawn()
            .expect("prometheus-alertmanager starts (tests/setup.sh installs it)");
        wait_until("Alertmanager to be ready", CONVERGE, || async {
            match http_get(address, "/-/ready").await {
                Ok((200, _)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
        Self { child, address }
    }

    /// The alerts it holds now (`GET /api/v2/alerts`).
    pub async fn alerts(&self) -> Vec<serde_json::Value> {
        let (status, body) = http_get(self.address, "/api/v2/alerts").await.expect("Alertmanager answers");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("a JSON array")
    }
}
