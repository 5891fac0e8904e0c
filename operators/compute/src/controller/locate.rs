//! Finding an object's data and domain on the hosts of its pool, by the names computed from
//! the object itself.
//!
//! A status records where things were put, but anything in a status may have been
//! written by someone else, so it is only a hint of where to look first. The answer is
//! what libvirt reports for the computed name: a volume's data is the volume named with
//! its UID in the storage pool of its tier, a machine's domain is the domain of its name
//! whose metadata carries its UID. [`VolumeData`] can only be made here, so whatever
//! attaches, overwrites or deletes a volume's data holds the proof that it is the
//! volume's own.

use kube::ResourceExt;
use makonis_api::compute::{HostPool, VirtualMachine, Volume};
use makonis_operator_kit::error::ErrorCategory;

use super::Context;
use crate::{
    error::Error,
    hypervisor::{DomainInfo, VolumeInfo},
    naming,
};

/// Where something of one object is on the hosts of its pool.
#[derive(Debug, Clone)]
pub enum Found<T> {
    /// On this host.
    At(String, T),
    /// On no host that answered; `unreachable` lists those that did not.
    Nowhere {
        /// Hosts that did not answer (or that the pool reports as not answering).
        unreachable: Vec<String>,
    },
}

/// A volume's data, found under the name computed from the volume: its owner's UID is in
/// the name (or it is the legacy name computed from the same volume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeData {
    storage_pool: String,
    info: VolumeInfo,
}

impl VolumeData {
    /// The libvirt storage pool (the volume's tier on its pool).
    pub fn storage_pool(&self) -> &str {
        &self.storage_pool
    }

    /// The libvirt volume's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// What libvirt reports of it: its path, capacity and allocation.
    pub fn info(&self) -> &VolumeInfo {
        &self.info
    }
}

#[cfg(test)]
impl VolumeData {
    /// Data as a test describes it.
    pub fn described(storage_pool: &str, info: VolumeInfo) -> Self {
        Self { storage_pool: storage_pool.into(), info }
    }
}

/// The names a volume's data may have: the current one, then the legacy one.
pub fn volume_names(volume: &Volume) -> [String; 2] {
    let (namespace, name, uid) = identity(volume);
    let format = volume.spec.format.as_str();
    [naming::volume_name(&namespace, &name, &uid, format), naming::legacy::volume_name(&namespace, &name, &uid, format)]
}

/// The storage pool of the volume's tier in `pool`, if the pool has that tier.
pub fn tier_pool(pool: &HostPool, volume: &Volume) -> Option<String> {
    pool.spec.storage_tiers.iter().find(|t| t.name == volume.spec.tier).map(|t| t.storage_pool.clone())
}

/// The hosts of `pool` in the order to search them: the `hints` that are hosts of the
/// pool first, then the others in the pool's order, each once.
pub fn search_order(pool: &HostPool, hints: &[Option<&str>]) -> Vec<String> {
    let mut order: Vec<String> = Vec::with_capacity(pool.spec.hosts.len());
    let hinted = hints.iter().flatten().copied();
    for host in hinted.chain(pool.spec.hosts.iter().map(|h| h.name.as_str())) {
        if pool.spec.hosts.iter().any(|h| h.name == host) && !order.iter().any(|o| o == host) {
            order.push(host.to_string());
        }
    }
    order
}

/// Whether the pool's last check found `host` not answering.
pub fn reported_unreachable(pool: &HostPool, host: &str) -> bool {
    pool.status.as_ref().and_then(|s| s.hosts.iter().find(|h| h.name == host)).is_some_and(|h| !h.reachable)
}

/// The volume's data on the hosts of `pool` (the volume's own pool), searching the
/// `hints` first. Hosts that do not answer are skipped and listed.
pub async fn volume_data(
    ctx: &Context,
    pool: &HostPool,
    volume: &Volume,
    hints: &[Option<&str>],
) -> Result<Found<VolumeData>, Error> {
    let Some(storage_pool) = tier_pool(pool, volume) else {
        return Ok(Found::Nowhere { unreachable: Vec::new() });
    };
    let (_, _, uid) = identity(volume);
    let names = volume_names(volume);
    search(ctx, pool, hints, move |hv| {
        for name in &names {
            if let Some(info) = hv.find_volume(&storage_pool, name)?
                && naming::owned_by(&info.name, &uid, &names[1])
            {
                return Ok(Some(VolumeData { storage_pool: storage_pool.clone(), info }));
            }
        }
        Ok(None)
    })
    .await
}

/// The machine's domain on the hosts of `pool`: the domain of its name whose metadata
/// carries its UID (a domain of that name with another UID is not its own).
pub async fn domain(
    ctx: &Context,
    pool: &HostPool,
    machine: &VirtualMachine,
    hints: &[Option<&str>],
) -> Result<Found<DomainInfo>, Error> {
    let name = naming::domain_name(&machine.namespace().unwrap_or_default(), &machine.name_any());
    let uid = machine.uid().unwrap_or_default();
    search(ctx, pool, hints, move |hv| {
        Ok(hv.find_domain(&name)?.filter(|d| !uid.is_empty() && d.owner_uid.as_deref() == Some(uid.as_str())))
    })
    .await
}

/// Asks each host in [`search_order`] with `probe` until one answers `Some`.
async fn search<T, F>(ctx: &Context, pool: &HostPool, hints: &[Option<&str>], probe: F) -> Result<Found<T>, Error>
where
    T: Send + 'static,
    F: Fn(&crate::hypervisor::Hypervisor) -> Result<Option<T>, crate::hypervisor::HypervisorError>
        + Send
        + Sync
        + 'static,
{
    let probe = std::sync::Arc::new(probe);
    let mut unreachable = Vec::new();
    for host in search_order(pool, hints) {
        if reported_unreachable(pool, &host) {
            unreachable.push(host);
            continue;
        }
        let probe = probe.clone();
        match ctx.hosts.call(pool, &host, move |hv| probe(hv)).await {
            Ok(Some(item)) => return Ok(Found::At(host, item)),
            Ok(None) => {}
            Err(error) if error.category() == "unreachable" => unreachable.push(host),
            Err(error) => return Err(error),
        }
    }
    Ok(Found::Nowhere { unreachable })
}

fn identity(volume: &Volume) -> (String, String, String) {
    (volume.namespace().unwrap_or_default(), volume.name_any(), volume.uid().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> HostPool {
        let mut pool = HostPool::new(
            "dc1",
            serde_json::from_value(serde_json::json!({
                "hosts": [{"name": "a", "uri": "test:///default"}, {"name": "b", "uri": "test:///default"},
                          {"name": "c", "uri": "test:///default"}],
                "storageTiers": [{"name": "standard", "storagePool": "disks"}]
            }))
            .unwrap(),
        );
        pool.status = Some(
            serde_json::from_value(serde_json::json!({
                "hosts": [{"name": "a", "reachable": true}, {"name": "b", "reachable": false}]
            }))
            .unwrap(),
        );
        pool
    }

    #[test]
    fn hints_come_first_and_unknown_hosts_are_never_searched() {
        let pool = pool();
        assert_eq!(search_order(&pool, &[]), ["a", "b", "c"]);
        assert_eq!(search_order(&pool, &[Some("c"), None, Some("a")]), ["c", "a", "b"]);
        assert_eq!(search_order(&pool, &[Some("/dev/sda"), Some("c"), Some("c")]), ["c", "a", "b"]);
    }

    #[test]
    fn only_the_pools_own_check_says_a_host_is_down() {
        let pool = pool();
        assert!(!reported_unreachable(&pool, "a"));
        assert!(reported_unreachable(&pool, "b"));
        assert!(!reported_unreachable(&pool, "c"), "not checked yet: asked");
    }

    #[test]
    fn a_volumes_names_and_tier_come_from_the_volume_and_its_pool() {
        let mut volume = Volume::new(
            "data",
            serde_json::from_value(serde_json::json!({"hostPool": "dc1", "size": "1Gi", "format": "qcow2"})).unwrap(),
        );
        volume.metadata.namespace = Some("agency-vdi".into());
        volume.metadata.uid = Some("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0".into());
        volume.status = Some(
            serde_json::from_value(serde_json::json!({
                "storagePool": "images", "volumeName": "agency-b.secret.0f1e2d3c.qcow2", "path": "/dev/sda"
            }))
            .unwrap(),
        );
        assert_eq!(
            volume_names(&volume),
            [
                "agency-vdi.data.0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0.qcow2".to_string(),
                "agency-vdi.data.0f1e2d3c.qcow2".to_string()
            ]
        );
        assert_eq!(tier_pool(&pool(), &volume).as_deref(), Some("disks"), "the tier's pool, not the status's");
    }
}
