//! The test control plane: an admin client, the platform installed from `crds/` and
//! `manifests/`, and clients acting as ordinary (non-admin) identities.

use std::path::{Path, PathBuf};

use k8s_openapi::api::{
    authentication::v1::{TokenRequest, TokenRequestSpec},
    core::v1::ServiceAccount,
};
use kube::{
    Api, Client, Config, ResourceExt,
    api::{DynamicObject, Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    discovery::{Discovery, Scope},
};
use makonis_operator_kit::crds::{CrdState, crd_state};
use serde_json::Value;

use super::{CONVERGE, wait_until};

/// The ServiceAccount the tenancy operator runs as (from manifests/base/rbac).
pub const OPERATOR_NAMESPACE: &str = "makonis-system";
/// The mail system's namespace: the mail operator's ServiceAccount and its Secrets.
pub const MAIL_NAMESPACE: &str = "makonis-mail";
/// See [`OPERATOR_NAMESPACE`].
pub const OPERATOR_SERVICE_ACCOUNT: &str = "makonis-tenancy-operator";

/// The admin kubeconfig of the test control plane.
pub fn admin_kubeconfig_path() -> PathBuf {
    std::env::var_os("MAKONIS_TEST_KUBECONFIG")
        .map(PathBuf::from)
        .expect("MAKONIS_TEST_KUBECONFIG is not set: the integration tests need the local control plane; run ./test.sh")
}

async fn config_from(path: &Path) -> Config {
    let kubeconfig = Kubeconfig::read_from(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("a usable kubeconfig")
}

/// A cluster-admin client.
pub async fn admin_client() -> Client {
    client_from(&admin_kubeconfig_path()).await
}

/// A client for the kubeconfig at `path`.
pub async fn client_from(path: &Path) -> Client {
    Client::try_from(config_from(path).await).expect("a Kubernetes client")
}

/// A client that acts as `user` in `groups` (admin impersonation): RBAC decides what it
/// may do exactly as for a real directory user.
pub async fn client_as(user: &str, groups: &[&str]) -> Client {
    let mut config = config_from(&admin_kubeconfig_path()).await;
    config.auth_info.impersonate = Some(user.to_string());
    config.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
    Client::try_from(config).expect("impersonating client")
}

/// A client that acts as the ServiceAccount `name` in `makonis-system` (impersonated),
/// with the groups the API server gives every ServiceAccount there.
pub async fn platform_service_account(name: &str) -> Client {
    service_account_client(OPERATOR_NAMESPACE, name).await
}

/// A client that acts as the ServiceAccount `namespace/name` (impersonated).
pub async fn service_account_client(namespace: &str, name: &str) -> Client {
    client_as(
        &format!("system:serviceaccount:{namespace}:{name}"),
        &["system:serviceaccounts", &format!("system:serviceaccounts:{namespace}"), "system:authenticated"],
    )
    .await
}

/// A client that acts as the portal's ServiceAccount (impersonated).
pub async fn portal_client() -> Client {
    platform_service_account("makonis-portal").await
}

/// The ServiceAccount (namespace, name) that owns the status of each Mākonis API group,
/// as `manifests/base/policy/status-writers.yaml` names it.
pub fn status_owner(group: &str) -> (&'static str, &'static str) {
    match group {
        "tenancy.makonis.lv" => (OPERATOR_NAMESPACE, "makonis-tenancy-operator"),
        "catalog.makonis.lv" => (OPERATOR_NAMESPACE, "makonis-catalog-operator"),
        "compute.makonis.lv" => (OPERATOR_NAMESPACE, "makonis-compute-operator"),
        "slo.makonis.lv" => (OPERATOR_NAMESPACE, "makonis-slo"),
        "security.makonis.lv" => (OPERATOR_NAMESPACE, "makonis-siem"),
        "identity.makonis.lv" => (OPERATOR_NAMESPACE, "makonis-identity-operator"),
        "mail.makonis.lv" => (MAIL_NAMESPACE, "makonis-mail-operator"),
        other => panic!("no operator owns the status of {other}: add it here and to status-writers.yaml"),
    }
}

/// A client allowed to write the status of `group`'s kinds: its operator's ServiceAccount.
/// Tests that stage a status (a phase an operator would report, a forged record) write it
/// with this, since the status-writers policy refuses everyone else, cluster admins too.
pub async fn status_writer(group: &str) -> Client {
    let (namespace, name) = status_owner(group);
    service_account_client(namespace, name).await
}

/// The documents of `manifests/base`, read as its `kustomization.yaml` lists them (one
/// level of nested kustomizations, such as `crds/generated`): `(CRDs, everything else)`.
/// Tests install exactly what an administrator would.
pub fn base_manifests() -> (Vec<Value>, Vec<Value>) {
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests/base");
    let (mut crds, mut rest) = (Vec::new(), Vec::new());
    for entry in kustomization_resources(&base) {
        if entry.is_dir() {
            crds.extend(kustomization_resources(&entry).iter().flat_map(|file| read_documents(file)));
        } else {
            rest.extend(read_documents(&entry));
        }
    }
    (crds, rest)
}

fn kustomization_resources(dir: &Path) -> Vec<PathBuf> {
    let kustomization = read_documents(&dir.join("kustomization.yaml")).remove(0);
    kustomization["resources"].as_array().expect("resources").iter().map(|r| dir.join(r.as_str().unwrap())).collect()
}

fn read_documents(path: &Path) -> Vec<Value> {
    yaml_documents(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())))
}

/// Applies the CRDs and `manifests/base` (namespace, RBAC, agency roles) as an
/// administrator installing Mākonis would, and waits for the CRDs to be served.
pub async fn install_platform(admin: &Client) {
    let (crds, rest) = base_manifests();
    apply_documents(admin, &crds).await;
    for name in crds.iter().filter_map(|crd| crd["metadata"]["name"].as_str()) {
        wait_until(&format!("the CRD {name} to be established"), CONVERGE, || async {
            match crd_state(admin, name).await {
                Ok(CrdState::Established) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        })
        .await;
    }
    apply_documents(admin, &rest).await;
}

/// Every document of a YAML stream, as JSON.
pub fn yaml_documents(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .filter(|doc| !doc.is_null())
        .collect()
}

/// Server-side applies `documents` with the field manager `makonis-tests`.
pub async fn apply_documents(client: &Client, documents: &[Value]) {
    // Right after a CRD is created its group can be listed before its version is served
    // (404): discover again until the API server's view is consistent.
    let discovery = wait_until("API discovery", CONVERGE, || async {
        Discovery::new(client.clone()).run().await.map_err(|e| e.to_string())
    })
    .await;
    for document in documents {
        let object: DynamicObject = serde_json::from_value(document.clone()).expect("a Kubernetes object");
        let types = object.types.as_ref().expect("apiVersion and kind");
        let (group, version) = types.api_version.split_once('/').unwrap_or(("", &types.api_version));
        let gvk = kube::api::GroupVersionKind::gvk(group, version, &types.kind);
        let (resource, caps) =
            discovery.resolve_gvk(&gvk).unwrap_or_else(|| panic!("the API server does not serve {gvk:?}"));
        let api: Api<DynamicObject> = match (caps.scope, object.namespace()) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), &ns, &resource),
            _ => Api::all_with(client.clone(), &resource),
        };
        api.patch(&object.name_any(), &PatchParams::apply("makonis-tests").force(), &Patch::Apply(document))
            .await
            .unwrap_or_else(|e| panic!("applying {} {}: {e}", types.kind, object.name_any()));
    }
}

/// Writes a kubeconfig that authenticates as the ServiceAccount `namespace/name` with a
/// token from the TokenRequest API, and returns its path. It never holds admin rights.
pub async fn service_account_kubeconfig(admin: &Client, namespace: &str, name: &str) -> PathBuf {
    service_account_kubeconfig_at(&admin_kubeconfig_path(), admin, namespace, name).await
}

/// [`service_account_kubeconfig`] for the cluster whose admin kubeconfig is `admin_path`.
pub async fn service_account_kubeconfig_at(admin_path: &Path, admin: &Client, namespace: &str, name: &str) -> PathBuf {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
    let request = TokenRequest {
        spec: Some(TokenRequestSpec { audiences: None, expiration_seconds: Some(3600), ..TokenRequestSpec::default() }),
        ..TokenRequest::default()
    };
    let token = accounts
        .create_token_request(name, &PostParams::default(), &request)
        .await
        .expect("a ServiceAccount token")
        .status
        .expect("token status")
        .token;
    let mut kubeconfig = Kubeconfig::read_from(admin_path).expect("admin kubeconfig");
    for auth in &mut kubeconfig.auth_infos {
        if let Some(info) = auth.auth_info.as_mut() {
            *info = kube::config::AuthInfo { token: token.clone().map(Into::into), ..Default::default() };
        }
    }
    // One file per call: tests of one binary run at once, and an operator reading a file
    // another test is rewriting would start without credentials.
    let call = format!("{}-{}", std::process::id(), super::agencies::unique_id());
    let path = admin_path.with_file_name(format!("kubeconfig-{namespace}-{name}-{call}"));
    let text = serde_yaml_ng::to_string(&kubeconfig).expect("kubeconfig serialises");
    write_private(&path, &text);
    path
}

fn write_private(path: &PathBuf, text: &str) {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("kubeconfig file");
    file.write_all(text.as_bytes()).expect("kubeconfig written");
}
