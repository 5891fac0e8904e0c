//! Steps most tenancy tests share: start an operator for one test run, wait for Ready.

use std::time::Duration;

use k8s_openapi::{api::core::v1::ResourceQuota, apimachinery::pkg::apis::meta::v1::Condition};
use kube::{Api, Client};
use makonis_api::tenancy::Agency;

use super::{
    CONVERGE,
    cluster::{OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, install_platform, service_account_kubeconfig},
    operator::{OperatorOptions, OperatorProcess},
    wait_until,
};

/// Installs the platform and starts an operator, as its own ServiceAccount, that
/// reconciles the agencies labelled with `run`.
pub async fn start_operator(admin: &Client, run: &str, resync_seconds: u64) -> OperatorProcess {
    install_platform(admin).await;
    let kubeconfig = service_account_kubeconfig(admin, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT).await;
    OperatorProcess::start(OperatorOptions {
        kubeconfig: &kubeconfig,
        controllers: "tenancy",
        run,
        resync_seconds,
        extra_args: &[],
    })
    .await
}

/// Waits until the quota controller counts `resource` (e.g.
/// `count/mailboxes.mail.makonis.lv`) in the agency quota of `namespace`: until then, a
/// minute or two after the kind first appears, the API server refuses such objects with
/// "status unknown for quota".
pub async fn wait_quota_counts(admin: &Client, namespace: &str, resource: &str) {
    let quotas: Api<ResourceQuota> = Api::namespaced(admin.clone(), namespace);
    wait_until(&format!("the quota controller to count {resource}"), Duration::from_secs(180), || async {
        let quota = quotas.get("makonis-quota").await.map_err(|e| e.to_string())?;
        let used = quota.status.and_then(|s| s.used).unwrap_or_default();
        match used.contains_key(resource) {
            true => Ok(()),
            false => Err(format!("counted so far: {:?}", used.keys().collect::<Vec<_>>())),
        }
    })
    .await
}

/// The condition `type_` of the agency, if any.
pub fn condition<'a>(agency: &'a Agency, type_: &str) -> Option<&'a Condition> {
    agency.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)
}

/// Waits until the Agency is Ready for its current generation and returns it.
pub async fn wait_ready(agencies: &Api<Agency>, name: &str) -> Agency {
    wait_until(&format!("agency {name} to be Ready"), CONVERGE, || async {
        let agency = agencies.get(name).await.map_err(|e| e.to_string())?;
        let current = agency.status.as_ref().and_then(|s| s.observed_generation) == agency.metadata.generation;
        match condition(&agency, "Ready") {
            Some(c) if c.status == "True" && current => Ok(agency),
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// Waits until the Agency no longer exists.
pub async fn wait_gone(agencies: &Api<Agency>, name: &str) {
    wait_until(&format!("agency {name} to be gone"), CONVERGE, || async {
        match agencies.get_opt(name).await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(agency) => Err(format!("still there: {:?}", condition(&agency, "Ready"))),
        }
    })
    .await
}

/// One test's world: a unique run id, an admin client, and an operator (as its own
/// ServiceAccount) that reconciles only the agencies created for this run.
pub struct TestRun {
    /// Cluster-admin client, for setting up and inspecting.
    pub admin: Client,
    /// The run id; agency codes of this test contain it.
    pub run: String,
    /// Agencies, as the admin sees them.
    pub agencies: Api<Agency>,
    /// The operator under test.
    pub operator: OperatorProcess,
}

impl TestRun {
    /// Installs the platform and starts the run's operator.
    pub async fn start(resync_seconds: u64) -> Self {
        let admin = super::cluster::admin_client().await;
        let run = super::agencies::unique_id();
        let operator = start_operator(&admin, &run, resync_seconds).await;
        Self { agencies: Api::all(admin.clone()), admin, run, operator }
    }

    /// An agency code unique to this run, starting with `prefix`.
    pub fn code(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.run)
    }

    /// Creates the test agency `code` for this run.
    pub async fn create(&self, code: &str) {
        let agency = super::agencies::test_agency(code, &self.run);
        self.agencies.create(&kube::api::PostParams::default(), &agency).await.expect("create agency");
    }

    /// Creates the test agency `code` and waits until it is Ready.
    pub async fn create_ready(&self, code: &str) -> Agency {
        self.create(code).await;
        wait_ready(&self.agencies, code).await
    }
}
