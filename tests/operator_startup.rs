//! Start-up on a cluster without the CRDs: the operator does not crash-loop; it says which
//! CRDs are missing and how to install them, stays unready, and starts working as soon as
//! they are installed. It also stops cleanly on SIGTERM.
//!
//! A cluster without CRDs is needed, so this test starts a second, empty control plane of
//! its own (and stops it); it lives in its own test binary.

mod support;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use kube::{Api, api::PostParams};
use makonis_api::tenancy::Agency;
use support::{
    agencies::{test_agency, unique_id},
    cluster::{
        OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, admin_kubeconfig_path, apply_documents, base_manifests,
        client_from, service_account_kubeconfig_at,
    },
    operator::{OperatorOptions, OperatorProcess, http_get},
    tenancy::wait_ready,
    wait_until,
};

/// A control plane started for one test and stopped when dropped.
struct OwnCluster {
    dir: PathBuf,
    port: u16,
}

impl OwnCluster {
    fn start(name: &str) -> Self {
        let dir = admin_kubeconfig_path().parent().unwrap().with_file_name(name);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Self { dir, port };
        assert!(cluster.script("start"), "the second control plane starts");
        cluster
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// Runs `cluster.sh COMMAND` for this cluster; its output is shown only if it fails.
    fn script(&self, command: &str) -> bool {
        let output = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cluster/cluster.sh"))
            .arg(command)
            .env("MAKONIS_CLUSTER_DIR", &self.dir)
            .env("MAKONIS_CLUSTER_PORT", self.port.to_string())
            .output()
            .expect("run cluster.sh");
        if !output.status.success() {
            eprintln!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        }
        output.status.success()
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.script("stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn readyz(operator: &OperatorProcess) -> u16 {
    http_get(operator.ops_address, "/readyz").await.map(|(code, _)| code).unwrap_or(0)
}

#[tokio::test]
async fn operator_waits_for_missing_crds_and_says_how_to_install_them() {
    let cluster = OwnCluster::start(&format!("startup-{}", std::process::id()));
    let admin_path: &Path = &cluster.kubeconfig();
    let admin = client_from(admin_path).await;
    // Everything but the CRDs: the operator runs as its own ServiceAccount.
    let (crds, rest) = base_manifests();
    apply_documents(&admin, &rest).await;
    let kubeconfig =
        service_account_kubeconfig_at(admin_path, &admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT).await;
    let run = unique_id();
    let mut operator = OperatorProcess::spawn(OperatorOptions {
        controllers: "tenancy",
        kubeconfig: &kubeconfig,
        run: &run,
        resync_seconds: 300,
        extra_args: &[],
    });

    let line = wait_until("the operator to report the missing CRD", Duration::from_secs(60), || async {
        let log = operator.log();
        log.lines()
            .find(|l| l.contains("required CRDs are not installed"))
            .map(str::to_string)
            .ok_or_else(|| format!("log so far: {log}"))
    })
    .await;
    assert!(line.contains("agencies.tenancy.makonis.lv"), "names the CRD: {line}");
    assert!(line.contains("makonis crds | kubectl apply --server-side -f -"), "says how to install: {line}");
    assert_eq!(readyz(&operator).await, 503, "unready while CRDs are missing");

    apply_documents(&admin, &crds).await;
    operator.wait_ready().await;
    let agencies: Api<Agency> = Api::all(admin.clone());
    let code = format!("p{run}");
    agencies.create(&PostParams::default(), &test_agency(&code, &run)).await.expect("create agency");
    wait_ready(&agencies, &code).await;
    assert_eq!(operator.log().matches("required CRDs are not installed").count(), 1, "said once, not in a loop");

    operator.stop().await;
}
