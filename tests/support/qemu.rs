//! The libvirt QEMU session of `tests/compute/session.sh` as a host of a test run: its
//! URI and storage pools, a host pool on it, known data for its volumes, reading its
//! volumes and domains from the test (unlike the test hypervisor, which lives inside the
//! operator's process), and writing an object's status as the compute operator does.

use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use makonis_compute::hypervisor::{Hypervisor, checksum_volume};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{cluster::status_writer, compute::ComputeRun};

/// The session daemon's URI, disk pool and backup pool, from `tests/compute/session.sh env`.
pub fn session() -> (String, String, String) {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run `tests/compute/session.sh start` and `eval \"$(tests/compute/session.sh env)\"`"
            )
        })
    };
    (var("MAKONIS_TEST_QEMU_URI"), var("MAKONIS_TEST_QEMU_POOL"), var("MAKONIS_TEST_QEMU_BACKUP_POOL"))
}

/// A host pool of the run with the host `kvm` (the session) and `more_hosts`, the tiers
/// `standard` (the session's disk pool) and `backup` (its backup pool), and `networks`
/// (every agency on libvirt's `default` network and on user-mode networking when `None`).
pub async fn session_pool(run: &ComputeRun, more_hosts: &[Value], networks: Option<Value>) -> String {
    let (uri, pool, backup) = session();
    let mut hosts = vec![json!({"name": "kvm", "uri": uri})];
    hosts.extend(more_hosts.iter().cloned());
    let networks = networks.unwrap_or(json!([
        {"name": "default", "agencies": ["*"]},
        {"kind": "User", "agencies": ["*"]}
    ]));
    let spec = json!({
        "hosts": hosts,
        "storageTiers": [{"name": "standard", "storagePool": pool}, {"name": "backup", "storagePool": backup}],
        "networks": networks,
    });
    run.host_pool_with("qemu", spec).await.meta().name.clone().expect("a named pool")
}

/// Runs `call` against the session daemon on a blocking thread.
pub async fn with_session<T: Send + 'static>(call: impl FnOnce(&Hypervisor) -> T + Send + 'static) -> T {
    let (uri, _, _) = session();
    tokio::task::spawn_blocking(move || call(&Hypervisor::open(&uri, None).expect("the session daemon answers")))
        .await
        .expect("the libvirt call finishes")
}

/// The volumes of the session's storage pool `pool`.
pub async fn volumes_in(pool: &str) -> Vec<String> {
    let pool = pool.to_string();
    with_session(move |hv| hv.list_volumes(&pool).expect("list the pool's volumes")).await
}

/// The SHA-256 of volume `name` of the session's pool `pool`.
pub async fn checksum(pool: &str, name: &str) -> String {
    let (pool, name) = (pool.to_string(), name.to_string());
    with_session(move |hv| checksum_volume(hv, &pool, &name).expect("checksum the volume").sha256).await
}

/// Writes `data` into volume `name` of the session's pool `pool`.
pub async fn write_volume(pool: &str, name: &str, data: Vec<u8>) {
    let (pool, name) = (pool.to_string(), name.to_string());
    with_session(move |hv| hv.upload(&pool, &name, &mut data.as_slice()).expect("write the volume")).await;
}

/// The disk source files of the session's domain `name`, or `None` when it has no such
/// domain; read with libvirt directly from the domain's XML.
pub async fn domain_disks(name: &str) -> Option<Vec<String>> {
    let (uri, _, _) = session();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let conn = virt::connect::Connect::open(Some(&uri)).expect("the session daemon answers");
        let domain = conn.lookup_domain_by_name(&name).ok()?;
        let xml = domain.xml_desc(0).expect("the domain's XML");
        Some(
            xml.split("<disk ")
                .skip(1)
                .filter_map(|disk| {
                    let at = disk.find("<source file='")? + "<source file='".len();
                    Some(disk[at..at + disk[at..].find('\'')?].to_string())
                })
                .collect(),
        )
    })
    .await
    .expect("the libvirt call finishes")
}

/// `size` bytes that no compression or sparseness can shortcut, the same for `seed`.
pub fn known_data(size: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size / 8)
        .flat_map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()
        })
        .collect()
}

/// The SHA-256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Merges `status` into the status of `name` in `namespace`, written as the compute
/// operator's ServiceAccount: a forged status, as an agency could write it wherever its
/// role reaches `*/status`, or any identity a status policy would still let through.
pub async fn forge_status<K>(namespace: &str, name: &str, status: Value)
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(status_writer("compute.makonis.lv").await, namespace);
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(json!({"status": status})))
        .await
        .unwrap_or_else(|e| panic!("forging the status of {name}: {e}"));
}
