//! Steps the catalog tests share: a tenancy operator and a catalog operator (each as its
//! own ServiceAccount) for one test run, the run's webhook registration, a small test
//! item, and waiting for an instance's phase.

use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::{
    Api, Client,
    api::{DeleteParams, ObjectMeta, PostParams},
};
use makonis_api::{
    catalog::{CatalogItem, Phase, ServiceInstance, ServiceInstanceSpec},
    tenancy::Agency,
};
use serde_json::Value;

use super::{
    CONVERGE,
    agencies::{TEST_LABEL, test_agency, unique_id},
    cluster::{OPERATOR_NAMESPACE, admin_client, install_platform, service_account_kubeconfig},
    operator::{OperatorOptions, OperatorProcess, free_local_address},
    tenancy::{start_operator, wait_quota_counts, wait_ready},
    wait_until,
    webhook::register_webhook,
};

/// The ResourceQuota key that counts an agency's instances.
const COUNT_KEY: &str = "count/serviceinstances.catalog.makonis.lv";

/// The catalog operator's ServiceAccount (manifests/base/rbac/catalog-operator.yaml).
pub const CATALOG_SERVICE_ACCOUNT: &str = "makonis-catalog-operator";

/// One catalog test's world.
pub struct CatalogRun {
    /// Cluster-admin client, for setting up and inspecting.
    pub admin: Client,
    /// The run id; names of this run's objects contain it.
    pub run: String,
    /// The tenancy operator (agencies → namespaces).
    pub tenancy: OperatorProcess,
    /// The catalog operator under test, serving the webhook.
    pub catalog: OperatorProcess,
    /// The name of this run's webhook registration.
    pub webhook: String,
    /// Where the catalog operator serves the webhook.
    webhook_address: std::net::SocketAddr,
    resync_seconds: u64,
}

impl CatalogRun {
    /// Installs the platform, starts both operators and registers the run's webhook
    /// (for objects labelled with the run only, so that runs never judge each other's).
    pub async fn start(resync_seconds: u64) -> Self {
        let admin = admin_client().await;
        let run = unique_id();
        install_platform(&admin).await;
        let tenancy = start_operator(&admin, &run, resync_seconds).await;
        let webhook = format!("makonis-catalog-{run}");
        let address = free_local_address();
        register_webhook(&admin, &run, &webhook, address.port(), "catalog-webhook.yaml", CATALOG_SERVICE_ACCOUNT).await;
        let catalog = start_catalog_operator(&admin, &run, &webhook, address, resync_seconds).await;
        Self { admin, run, tenancy, catalog, webhook, webhook_address: address, resync_seconds }
    }

    /// Kills the catalog operator (SIGKILL, no clean-up) and starts a new one in its
    /// place, serving the webhook on the same address.
    pub async fn kill_and_restart_catalog(self) -> Self {
        let Self { admin, run, tenancy, catalog, webhook, webhook_address, resync_seconds } = self;
        catalog.kill().await;
        let catalog = start_catalog_operator(&admin, &run, &webhook, webhook_address, resync_seconds).await;
        Self { admin, run, tenancy, catalog, webhook, webhook_address, resync_seconds }
    }

    /// Creates an agency for this run (quota: 8 CPU, 32Gi memory, 1Ti storage, 5
    /// instances) and waits until it is Ready and the quota controller has counted its
    /// instances (until then the API server refuses orders: "status unknown for quota");
    /// returns its namespace.
    pub async fn agency(&self, prefix: &str) -> String {
        self.agency_with(prefix, |_| ()).await
    }

    /// Like [`Self::agency`], with the test agency changed by `adjust` first (a larger
    /// quota, for example).
    pub async fn agency_with(&self, prefix: &str, adjust: impl FnOnce(&mut Agency)) -> String {
        let code = format!("{prefix}{}", self.run);
        let agencies: Api<Agency> = Api::all(self.admin.clone());
        let mut agency = test_agency(&code, &self.run);
        adjust(&mut agency);
        agencies.create(&PostParams::default(), &agency).await.expect("create agency");
        let namespace = wait_ready(&agencies, &code).await.namespace_name();
        wait_quota_counts(&self.admin, &namespace, COUNT_KEY).await;
        namespace
    }

    /// The name of a catalog item of this run.
    pub fn item_name(&self, base: &str) -> String {
        format!("{base}-{}", self.run)
    }

    /// Publishes `item` (labelled with the run), as an administrator would.
    pub async fn publish(&self, mut item: CatalogItem) -> Result<CatalogItem, kube::Error> {
        item.metadata.labels.get_or_insert_with(Default::default).insert(TEST_LABEL.into(), self.run.clone());
        Api::<CatalogItem>::all(self.admin.clone()).create(&PostParams::default(), &item).await
    }

    /// An instance of `item` with `plan` and `parameters`, labelled with the run.
    pub fn instance(&self, namespace: &str, name: &str, item: &str, plan: &str, parameters: Value) -> ServiceInstance {
        ServiceInstance {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                labels: Some([(TEST_LABEL.to_string(), self.run.clone())].into()),
                ..Default::default()
            },
            spec: ServiceInstanceSpec { catalog_item: item.into(), plan: plan.into(), parameters },
            status: None,
        }
    }

    /// Removes the run's webhook registration and items.
    pub async fn finish(self) {
        let _ = Api::<ValidatingWebhookConfiguration>::all(self.admin.clone())
            .delete(&self.webhook, &DeleteParams::default())
            .await;
        let items: Api<CatalogItem> = Api::all(self.admin.clone());
        let _ = items
            .delete_collection(
                &DeleteParams::default(),
                &kube::api::ListParams::default().labels(&format!("{TEST_LABEL}={}", self.run)),
            )
            .await;
        self.catalog.stop().await;
        self.tenancy.stop().await;
    }
}

async fn start_catalog_operator(
    admin: &Client,
    run: &str,
    webhook: &str,
    address: std::net::SocketAddr,
    resync_seconds: u64,
) -> OperatorProcess {
    let kubeconfig = service_account_kubeconfig(admin, OPERATOR_NAMESPACE, CATALOG_SERVICE_ACCOUNT).await;
    // Every run shares the certificate Secret of manifests/ (its RBAC names it); each
    // run's registration gets its CA.
    let args = [
        "--webhook-address".to_string(),
        address.to_string(),
        "--webhook-configuration".to_string(),
        webhook.to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let operator = OperatorProcess::start(OperatorOptions {
        kubeconfig: &kubeconfig,
        controllers: "catalog",
        run,
        resync_seconds,
        extra_args: &args,
    })
    .await;
    wait_until("the webhook's CA bundle to be published", CONVERGE, || async {
        let configuration =
            Api::<ValidatingWebhookConfiguration>::all(admin.clone()).get(webhook).await.map_err(|e| e.to_string())?;
        let published = configuration.webhooks.iter().flatten().all(|h| h.client_config.ca_bundle.is_some());
        if published { Ok(()) } else { Err("no caBundle yet".into()) }
    })
    .await;
    operator
}

/// The condition `type_` of the instance, as `(status, reason, message)`.
pub fn condition(instance: &ServiceInstance, type_: &str) -> Option<(String, String, String)> {
    let c = instance.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Waits until the instance reports `phase` for its current generation, and returns it.
pub async fn wait_phase(api: &Api<ServiceInstance>, name: &str, phase: Phase, timeout: Duration) -> ServiceInstance {
    wait_until(&format!("instance {name} to be {phase:?}"), timeout, || async {
        let instance = api.get(name).await.map_err(|e| e.to_string())?;
        let status = instance.status.as_ref();
        let current = status.and_then(|s| s.observed_generation) == instance.metadata.generation;
        match status.and_then(|s| s.phase) {
            Some(p) if p == phase && current => Ok(instance),
            other => Err(format!("phase {other:?}, current {current}, Ready {:?}", condition(&instance, "Ready"))),
        }
    })
    .await
}

/// A small but complete test item: a Deployment, a Service, a ConfigMap, a data claim
/// (retained on retire), and a PodDisruptionBudget when the plan has more than one
/// replica. Plans: `small` (1 replica), `large` (2 replicas), `huge` (more CPU than a
/// test agency has).
pub fn test_item(name: &str) -> CatalogItem {
    let yaml = include_str!("catalog_test_item.yaml").replace("NAME", name);
    serde_yaml_ng::from_str(&yaml).expect("the test item parses")
}
