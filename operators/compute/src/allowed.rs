//! What a HostPool offers, and to whom: the networks each agency's machines may join, the
//! storage pools images are copied from, and the storage pools backups are written to.
//!
//! HostPools are cluster-scoped and written by platform administrators only; agencies
//! name networks, images and backup targets in their own objects, and these rules decide
//! whether the pool offers them. The webhook refuses with them at admission, and the
//! controllers check them again before they act on a host (the webhook can be bypassed,
//! and a HostPool can change after admission). Pure.

use makonis_api::{
    compute::{ALL_AGENCIES, HostPool, ImageSource, NetworkAttachment, NetworkKind},
    tenancy::code_of_namespace,
};

/// Whether a machine in `namespace` may have the network attachment `attachment` in
/// `pool`; otherwise why not, naming what the pool offers that agency.
pub fn network(pool: &HostPool, namespace: &str, attachment: &NetworkAttachment) -> Result<(), String> {
    let agency = code_of_namespace(namespace);
    let admits = |agencies: &[String]| agencies.iter().any(|a| a == ALL_AGENCIES || Some(a.as_str()) == agency);
    let wanted = attachment.network.as_deref().filter(|_| attachment.kind == NetworkKind::Network);
    let mut listed = pool.spec.networks.iter().filter(|n| n.kind == attachment.kind && n.name.as_deref() == wanted);
    if listed.any(|n| admits(&n.agencies)) {
        return Ok(());
    }
    let what = match wanted {
        Some(name) => format!("network {name}"),
        None => "QEMU user-mode networking".to_string(),
    };
    let whose = match agency {
        Some(code) => format!("agency {code}"),
        None => format!("namespace {namespace} (no agency's)"),
    };
    let offered: Vec<String> = pool
        .spec
        .networks
        .iter()
        .filter(|n| admits(&n.agencies))
        .map(|n| match (&n.kind, &n.name) {
            (NetworkKind::Network, Some(name)) => name.clone(),
            _ => "User".to_string(),
        })
        .collect();
    let offered = if offered.is_empty() { "none".to_string() } else { offered.join(", ") };
    Err(format!(
        "HostPool {} does not offer {what} to {whose} (its networks for {whose}: {offered}); a platform administrator lists the networks each agency may join in the pool's spec.networks",
        name_of(pool)
    ))
}

/// Whether `image` lies in one of the pool's image storage pools; otherwise why not.
pub fn image(pool: &HostPool, image: &ImageSource) -> Result<(), String> {
    if pool.spec.image_storage_pools.contains(&image.storage_pool) {
        return Ok(());
    }
    Err(format!(
        "storage pool {} is not an image storage pool of HostPool {} (it has {}); images are copied only from the pools the platform lists as image pools",
        image.storage_pool,
        name_of(pool),
        list(&pool.spec.image_storage_pools)
    ))
}

/// Whether backups may be written to `storage_pool` of the pool's hosts: a storage tier's
/// pool or one of its backup storage pools, never an image pool; otherwise why not.
pub fn backup_pool(pool: &HostPool, storage_pool: &str) -> Result<(), String> {
    let tiers = pool.spec.storage_tiers.iter().map(|t| t.storage_pool.as_str());
    let allowed: Vec<&str> = tiers.chain(pool.spec.backup_storage_pools.iter().map(String::as_str)).collect();
    let is_image = pool.spec.image_storage_pools.iter().any(|p| p == storage_pool);
    if allowed.contains(&storage_pool) && !is_image {
        return Ok(());
    }
    Err(format!(
        "storage pool {storage_pool} is not a backup target of HostPool {}; backups go to its storage tiers' pools or its backupStoragePools: {}",
        name_of(pool),
        allowed.join(", ")
    ))
}

fn name_of(pool: &HostPool) -> &str {
    pool.metadata.name.as_deref().unwrap_or_default()
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".to_string() } else { items.join(", ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(extra: serde_json::Value) -> HostPool {
        let mut spec = serde_json::json!({
            "hosts": [{"name": "hv-1", "uri": "test:///default"}],
            "storageTiers": [{"name": "standard", "storagePool": "disks"}],
        });
        spec.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        HostPool::new("dc1", serde_json::from_value(spec).unwrap())
    }

    fn attach(kind: NetworkKind, network: Option<&str>) -> NetworkAttachment {
        NetworkAttachment { kind, network: network.map(Into::into) }
    }

    #[test]
    fn the_default_offers_libvirts_default_network_to_everyone_and_nothing_else() {
        let pool = pool(serde_json::json!({}));
        assert_eq!(network(&pool, "agency-vdi", &attach(NetworkKind::Network, Some("default"))), Ok(()));
        assert_eq!(network(&pool, "platform", &attach(NetworkKind::Network, Some("default"))), Ok(()));
        let other = network(&pool, "agency-vdi", &attach(NetworkKind::Network, Some("dmz"))).unwrap_err();
        assert!(
            other.starts_with(
                "HostPool dc1 does not offer network dmz to agency vdi (its networks for agency vdi: default)"
            ),
            "{other}"
        );
        let user = network(&pool, "agency-vdi", &attach(NetworkKind::User, None)).unwrap_err();
        assert!(user.contains("does not offer QEMU user-mode networking to agency vdi"), "{user}");
    }

    #[test]
    fn networks_are_offered_per_agency() {
        let pool = pool(serde_json::json!({"networks": [
            {"name": "vdi-net", "agencies": ["vdi"]},
            {"name": "shared", "agencies": ["vdi", "lm"]},
            {"kind": "User", "agencies": ["*"]},
            {"name": "vdi-net", "agencies": ["vm"]}
        ]}));
        let vdi_net = attach(NetworkKind::Network, Some("vdi-net"));
        assert_eq!(network(&pool, "agency-vdi", &vdi_net), Ok(()));
        let refused = network(&pool, "agency-lm", &vdi_net).unwrap_err();
        assert!(refused.contains("(its networks for agency lm: shared, User)"), "{refused}");
        assert_eq!(network(&pool, "agency-vm", &vdi_net), Ok(()), "a network listed twice opens to both entries");
        assert!(network(&pool, "vdi", &vdi_net).is_err(), "a namespace named like a code is not the agency's");
        assert!(network(&pool, "agency-vdi", &attach(NetworkKind::Network, Some("default"))).is_err());
        assert_eq!(network(&pool, "agency-lm", &attach(NetworkKind::User, None)), Ok(()));
        // A User attachment with a network name is still user-mode networking.
        assert_eq!(network(&pool, "agency-lm", &attach(NetworkKind::User, Some("vdi-net"))), Ok(()));
    }

    #[test]
    fn images_come_only_from_image_pools() {
        let image_of = |pool: &str| ImageSource { storage_pool: pool.into(), name: "debian-12.qcow2".into() };
        assert_eq!(image(&pool(serde_json::json!({})), &image_of("images")), Ok(()), "the default image pool");
        let tier = image(&pool(serde_json::json!({})), &image_of("disks")).unwrap_err();
        assert!(
            tier.starts_with("storage pool disks is not an image storage pool of HostPool dc1 (it has images)"),
            "{tier}"
        );
        let none = image(&pool(serde_json::json!({"imageStoragePools": []})), &image_of("images")).unwrap_err();
        assert!(none.contains("(it has none)"), "{none}");
    }

    #[test]
    fn backups_go_to_tiers_and_backup_pools_only() {
        let pool = pool(serde_json::json!({"backupStoragePools": ["vault"]}));
        assert_eq!(backup_pool(&pool, "disks"), Ok(()));
        assert_eq!(backup_pool(&pool, "vault"), Ok(()));
        let images = backup_pool(&pool, "images").unwrap_err();
        assert!(images.ends_with("its backupStoragePools: disks, vault"), "{images}");
        assert!(backup_pool(&pool, "somewhere").is_err());
    }
}
