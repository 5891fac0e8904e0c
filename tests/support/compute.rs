//! A compute test run: the compute operator as its own ServiceAccount, reconciling only
//! the run's objects, with the run's registration of the compute webhook; host pools on
//! libvirt's test hypervisor or on a real QEMU session; agencies with quotas.

use std::{net::SocketAddr, time::Duration};

use k8s_openapi::api::{admissionregistration::v1::ValidatingWebhookConfiguration, core::v1::Namespace};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, ListParams, ObjectMeta, PostParams},
};
use makonis_api::{
    compute::{HostPool, VirtualMachine, Volume},
    tenancy::Agency,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{
    CONVERGE,
    agencies::{TEST_LABEL, test_agency, unique_id},
    cluster::{OPERATOR_NAMESPACE, admin_client, install_platform, service_account_kubeconfig},
    operator::{OperatorOptions, OperatorProcess, free_local_address},
    wait_until,
    webhook::register_webhook,
};

/// The compute operator's ServiceAccount (manifests/base/rbac/compute-operator.yaml).
pub const COMPUTE_SERVICE_ACCOUNT: &str = "makonis-compute-operator";

/// One run: its id, the operator and the webhook registration.
pub struct ComputeRun {
    /// Cluster-admin client, for setting up and inspecting.
    pub admin: Client,
    /// The run id; labels and names of this run's objects contain it.
    pub run: String,
    /// The compute operator.
    pub operator: OperatorProcess,
    webhook: String,
    webhook_address: SocketAddr,
    resync_seconds: u64,
}

impl ComputeRun {
    /// Installs the platform, registers the run's webhook and starts the operator.
    pub async fn start(resync_seconds: u64) -> Self {
        let admin = admin_client().await;
        let run = unique_id();
        install_platform(&admin).await;
        let webhook = format!("makonis-compute-{run}");
        let webhook_address = free_local_address();
        register_webhook(
            &admin,
            &run,
            &webhook,
            webhook_address.port(),
            "compute-webhook.yaml",
            COMPUTE_SERVICE_ACCOUNT,
        )
        .await;
        let operator =
            start_operator(&admin, &run, Some((&webhook, webhook_address)), &selector(&run), resync_seconds).await;
        Self { admin, run, operator, webhook, webhook_address, resync_seconds }
    }

    /// Kills the operator (SIGKILL, no clean-up) and starts a new one in its place.
    pub async fn kill_and_restart(self) -> Self {
        let Self { admin, run, operator, webhook, webhook_address, resync_seconds } = self;
        operator.kill().await;
        let operator =
            start_operator(&admin, &run, Some((&webhook, webhook_address)), &selector(&run), resync_seconds).await;
        Self { admin, run, operator, webhook, webhook_address, resync_seconds }
    }

    /// `value` as a `K`, labelled with the run (and named `<name>-<run>` for cluster
    /// kinds, so runs never share one).
    pub fn object<K: DeserializeOwned + Resource>(&self, mut value: Value) -> K {
        value["metadata"]["labels"][TEST_LABEL] = json!(self.run);
        serde_json::from_value(value).expect("a valid object")
    }

    /// Creates `object` in `namespace` as the administrator.
    pub async fn create_in<K>(&self, namespace: &str, object: &K) -> Result<K, kube::Error>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        Api::<K>::namespaced(self.admin.clone(), namespace).create(&PostParams::default(), object).await
    }

    /// A host pool of this run named `<prefix>-<run>` with `hosts`, and tiers
    /// `standard` → `default-pool` and `backup` → `backup` unless `tiers` says otherwise.
    pub async fn host_pool(&self, prefix: &str, hosts: Value, tiers: Option<Value>) -> HostPool {
        let tiers = tiers.unwrap_or(json!([
            {"name": "standard", "storagePool": "default-pool"},
            {"name": "backup", "storagePool": "backup"}
        ]));
        self.host_pool_with(prefix, json!({"hosts": hosts, "storageTiers": tiers})).await
    }

    /// A host pool of this run named `<prefix>-<run>` with the whole `spec`.
    pub async fn host_pool_with(&self, prefix: &str, spec: Value) -> HostPool {
        let pool: HostPool = self.object(json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "HostPool",
            "metadata": {"name": format!("{prefix}-{}", self.run)},
            "spec": spec,
        }));
        Api::<HostPool>::all(self.admin.clone())
            .create(&PostParams::default(), &pool)
            .await
            .expect("create the host pool")
    }

    /// Creates `object` in `namespace` past the compute webhook, as if admission had been
    /// bypassed: removes the run's webhook registration, then retries while the API
    /// server still calls the webhook (it drops a deleted registration from its cache a
    /// moment later, not at once).
    pub async fn create_past_admission<K>(&self, namespace: &str, object: &K) -> K
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let registrations = Api::<ValidatingWebhookConfiguration>::all(self.admin.clone());
        if registrations.get_opt(&self.webhook).await.expect("look up the run's webhook registration").is_some() {
            registrations
                .delete(&self.webhook, &DeleteParams::default())
                .await
                .expect("remove the run's webhook registration");
        }
        wait_until("the API server to stop calling the removed webhook", CONVERGE, || async {
            match self.create_in(namespace, object).await {
                Ok(created) => Ok(created),
                Err(kube::Error::Api(status))
                    if status.message.contains("admission webhook \"compute.makonis.lv\"") =>
                {
                    Err(status.message)
                }
                Err(other) => panic!("create past admission: {other}"),
            }
        })
        .await
    }

    /// An agency of this run (with `adjust` applied to it) and its namespace. The agency
    /// is not reconciled by a tenancy operator: the namespace is made here, which is all
    /// the compute controllers need from it.
    pub async fn agency(&self, prefix: &str, adjust: impl FnOnce(&mut Agency)) -> String {
        let code = format!("{prefix}{}", self.run);
        let mut agency = test_agency(&code, &format!("{}-agency", self.run));
        adjust(&mut agency);
        let namespace = agency.namespace_name();
        Api::<Agency>::all(self.admin.clone()).create(&PostParams::default(), &agency).await.expect("create agency");
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(namespace.clone()),
                labels: Some([(TEST_LABEL.to_string(), self.run.clone())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(self.admin.clone()).create(&PostParams::default(), &ns).await.expect("create namespace");
        namespace
    }

    /// Waits until the machine `name` satisfies `check`, returning it.
    pub async fn machine_until(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&VirtualMachine) -> bool,
    ) -> VirtualMachine {
        let api: Api<VirtualMachine> = Api::namespaced(self.admin.clone(), namespace);
        wait_until(what, timeout, || async {
            let machine = api.get(name).await.map_err(|e| e.to_string())?;
            if check(&machine) { Ok(machine) } else { Err(describe(&machine)) }
        })
        .await
    }

    /// Waits until the volume `name` satisfies `check`, returning it.
    pub async fn volume_until(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        check: impl Fn(&Volume) -> bool,
    ) -> Volume {
        let api: Api<Volume> = Api::namespaced(self.admin.clone(), namespace);
        wait_until(what, CONVERGE, || async {
            let volume = api.get(name).await.map_err(|e| e.to_string())?;
            if check(&volume) { Ok(volume) } else { Err(format!("{:?}", volume.status)) }
        })
        .await
    }

    /// Deletes the run's objects (machines first, so their volumes are released) and
    /// stops the operator.
    pub async fn finish(self) {
        let selector = ListParams::default().labels(&format!("{TEST_LABEL}={}", self.run));
        let machines: Api<VirtualMachine> = Api::all(self.admin.clone());
        for machine in machines.list(&selector).await.map(|l| l.items).unwrap_or_default() {
            let api: Api<VirtualMachine> =
                Api::namespaced(self.admin.clone(), &machine.namespace().unwrap_or_default());
            let _ = api.delete(&machine.name_any(), &DeleteParams::default()).await;
        }
        wait_until("the run's machines to be gone", CONVERGE, || async {
            let left = machines.list(&selector).await.map_err(|e| e.to_string())?.items.len();
            if left == 0 { Ok(()) } else { Err(format!("{left} left")) }
        })
        .await;
        // The operator still runs, so volumes and backups release their data (finalizers)
        // as their namespaces go.
        let namespaces: Api<Namespace> = Api::all(self.admin.clone());
        for namespace in namespaces.list(&selector).await.map(|l| l.items).unwrap_or_default() {
            let _ = namespaces.delete(&namespace.name_any(), &DeleteParams::default()).await;
        }
        wait_until("the run's namespaces to be gone", Duration::from_secs(120), || async {
            let left = namespaces.list(&selector).await.map_err(|e| e.to_string())?.items.len();
            if left == 0 { Ok(()) } else { Err(format!("{left} left")) }
        })
        .await;
        let pools: Api<HostPool> = Api::all(self.admin.clone());
        let _ = pools.delete_collection(&DeleteParams::default(), &selector).await;
        let _ = Api::<ValidatingWebhookConfiguration>::all(self.admin.clone())
            .delete(&self.webhook, &DeleteParams::default())
            .await;
        self.operator.stop().await;
    }
}

/// The URI of the test hypervisor of manifests/examples/compute/test-hypervisor.xml.
pub fn test_hypervisor_uri() -> String {
    format!("test://{}/manifests/examples/compute/test-hypervisor.xml", env!("CARGO_MANIFEST_DIR"))
}

/// A machine's phase and Ready message, for failure messages.
pub fn describe(machine: &VirtualMachine) -> String {
    let status = machine.status.clone().unwrap_or_default();
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    format!("{:?}: {ready}", status.phase)
}

/// The `(status, reason, message)` of condition `type_` in `conditions`.
pub fn condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<(String, String, String)> {
    let c = conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

fn selector(run: &str) -> String {
    format!("{TEST_LABEL}={run}")
}

/// Starts the compute operator as its ServiceAccount for the objects matching
/// `selector`, serving the webhook `(registration, address)` when given.
pub async fn start_operator(
    admin: &Client,
    run: &str,
    webhook: Option<(&str, SocketAddr)>,
    selector: &str,
    resync_seconds: u64,
) -> OperatorProcess {
    let kubeconfig = service_account_kubeconfig(admin, OPERATOR_NAMESPACE, COMPUTE_SERVICE_ACCOUNT).await;
    let pki = std::env::temp_dir().join(format!("makonis-pki-{run}"));
    let mut args = vec![
        "--compute-selector".to_string(),
        selector.to_string(),
        "--libvirt-pki-dir".to_string(),
        pki.display().to_string(),
    ];
    if let Some((name, address)) = webhook {
        args.extend([
            "--webhook-address".to_string(),
            address.to_string(),
            "--webhook-configuration".to_string(),
            name.into(),
        ]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let operator = OperatorProcess::start(OperatorOptions {
        kubeconfig: &kubeconfig,
        controllers: "compute",
        run,
        resync_seconds,
        extra_args: &args,
    })
    .await;
    if let Some((name, _)) = webhook {
        wait_until("the compute webhook's CA bundle to be published", CONVERGE, || async {
            let configuration =
                Api::<ValidatingWebhookConfiguration>::all(admin.clone()).get(name).await.map_err(|e| e.to_string())?;
            let published = configuration.webhooks.iter().flatten().all(|h| h.client_config.ca_bundle.is_some());
            if published { Ok(()) } else { Err("no caBundle yet".into()) }
        })
        .await;
    }
    operator
}
