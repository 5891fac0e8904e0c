//! The compute admission checks, pure: each takes the object and what it refers to, and
//! returns the problems found, each with the field path it concerns.

use jiff::tz::TimeZone;
use makonis_api::compute::{Backup, BackupPolicy, BackupTarget, HostPool, NetworkKind, VirtualMachine, Volume};

use crate::{allowed, quota, schedule::Schedule};

/// One refusal: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field path, e.g. `spec.hostPool`.
    pub field: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The problems of a volume, given the pool it names (if it exists).
pub fn volume(volume: &Volume, pool: Option<&HostPool>) -> Vec<Problem> {
    let Some(pool) = pool else {
        return vec![missing_pool("spec.hostPool", &volume.spec.host_pool)];
    };
    let mut problems = Vec::new();
    if let Some(host) = &volume.spec.host
        && !pool.spec.hosts.iter().any(|h| &h.name == host)
    {
        problems.push(Problem::new(
            "spec.host",
            format!("HostPool {} has no host {host}; it has {}", pool_name(pool), hosts(pool)),
        ));
    }
    if !pool.spec.storage_tiers.iter().any(|t| t.name == volume.spec.tier) {
        problems.push(Problem::new("spec.tier", unknown_tier(pool, &volume.spec.tier)));
    }
    if let Some(image) = volume.spec.source.as_ref().and_then(|s| s.image.as_ref())
        && let Err(message) = allowed::image(pool, image)
    {
        problems.push(Problem::new("spec.source.image.storagePool", message));
    }
    problems
}

/// The problems of a machine in `namespace`, given the pool it names (if it exists).
pub fn machine(machine: &VirtualMachine, namespace: &str, pool: Option<&HostPool>) -> Vec<Problem> {
    let Some(pool) = pool else {
        return vec![missing_pool("spec.hostPool", &machine.spec.host_pool)];
    };
    let mut problems = Vec::new();
    for (index, disk) in machine.spec.disks.iter().enumerate() {
        let Some(inline) = &disk.inline else { continue };
        let tier = inline.tier.as_deref().unwrap_or("standard");
        if !pool.spec.storage_tiers.iter().any(|t| t.name == tier) {
            problems.push(Problem::new(format!("spec.disks[{index}].inline.tier"), unknown_tier(pool, tier)));
        }
        if quota::bytes(&inline.size.0).is_none_or(|b| b < 1 << 20) {
            problems.push(Problem::new(
                format!("spec.disks[{index}].inline.size"),
                format!("{} is not a size of at least 1Mi", inline.size.0),
            ));
        }
        if let Some(image) = &inline.image
            && let Err(message) = allowed::image(pool, image)
        {
            problems.push(Problem::new(format!("spec.disks[{index}].inline.image.storagePool"), message));
        }
    }
    for (index, attachment) in machine.spec.networks.iter().enumerate() {
        if let Err(message) = allowed::network(pool, namespace, attachment) {
            let field = match attachment.kind {
                NetworkKind::Network => format!("spec.networks[{index}].network"),
                NetworkKind::User => format!("spec.networks[{index}].kind"),
            };
            problems.push(Problem::new(field, message));
        }
    }
    problems
}

/// The problems of a backup policy, given the pool of its target (if it exists).
pub fn policy(policy: &BackupPolicy, target_pool: Option<&HostPool>) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(error) = Schedule::parse(&policy.spec.schedule) {
        problems.push(Problem::new("spec.schedule", error.to_string()));
    }
    if TimeZone::get(&policy.spec.time_zone).is_err() {
        problems.push(Problem::new(
            "spec.timeZone",
            format!("{} is not a known time zone; use an IANA name such as Europe/Riga", policy.spec.time_zone),
        ));
    }
    problems.extend(target(&policy.spec.target, target_pool, "spec.target"));
    problems
}

/// The problems of a backup's own target, if it has one.
pub fn backup(backup: &Backup, target_pool: Option<&HostPool>) -> Vec<Problem> {
    match &backup.spec.target {
        Some(t) => target(t, target_pool, "spec.target"),
        None if backup.spec.policy.is_none() => {
            vec![Problem::new("spec.target", "set spec.target, or spec.policy to use the policy's target")]
        }
        None => Vec::new(),
    }
}

fn target(target: &BackupTarget, pool: Option<&HostPool>, at: &str) -> Vec<Problem> {
    let Some(pool) = pool else {
        return vec![missing_pool(&format!("{at}.hostPool"), &target.host_pool)];
    };
    let mut problems = Vec::new();
    if !pool.spec.hosts.iter().any(|h| h.name == target.host) {
        problems.push(Problem::new(
            format!("{at}.host"),
            format!("HostPool {} has no host {}; it has {}", pool_name(pool), target.host, hosts(pool)),
        ));
    }
    if let Err(message) = allowed::backup_pool(pool, &target.storage_pool) {
        problems.push(Problem::new(format!("{at}.storagePool"), message));
    }
    problems
}

fn missing_pool(field: &str, name: &str) -> Problem {
    Problem::new(field, format!("HostPool {name} does not exist; `kubectl get hostpools` lists the pools"))
}

fn unknown_tier(pool: &HostPool, tier: &str) -> String {
    let tiers: Vec<&str> = pool.spec.storage_tiers.iter().map(|t| t.name.as_str()).collect();
    format!("HostPool {} has no storage tier {tier}; it has {}", pool_name(pool), tiers.join(", "))
}

fn hosts(pool: &HostPool) -> String {
    pool.spec.hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>().join(", ")
}

fn pool_name(pool: &HostPool) -> &str {
    pool.metadata.name.as_deref().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> HostPool {
        let mut pool = HostPool::new(
            "local",
            serde_json::from_value(serde_json::json!({
                "hosts": [{"name": "hv-1", "uri": "test:///default"}],
                "storageTiers": [{"name": "standard", "storagePool": "default-pool"}]
            }))
            .unwrap(),
        );
        pool.metadata.name = Some("local".into());
        pool
    }

    fn from<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_unknown_pool_is_refused_at_its_field() {
        let vm: VirtualMachine = from(serde_json::json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine",
            "metadata": {"name": "web"}, "spec": {"hostPool": "nowhere", "vcpus": 1, "memory": "1Gi"}
        }));
        let problems = machine(&vm, "agency-vdi", None);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "spec.hostPool");
        assert!(problems[0].message.starts_with("HostPool nowhere does not exist"));
    }

    #[test]
    fn unknown_tiers_and_hosts_name_what_exists() {
        let vol: Volume = from(serde_json::json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume",
            "metadata": {"name": "data"}, "spec": {"hostPool": "local", "host": "hv-9", "size": "1Gi", "tier": "fast"}
        }));
        let problems = volume(&vol, Some(&pool()));
        assert_eq!(
            problems,
            vec![
                Problem::new("spec.host", "HostPool local has no host hv-9; it has hv-1"),
                Problem::new("spec.tier", "HostPool local has no storage tier fast; it has standard"),
            ]
        );
    }

    #[test]
    fn inline_disks_are_checked_one_by_one() {
        let vm: VirtualMachine = from(serde_json::json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine",
            "metadata": {"name": "web"}, "spec": {"hostPool": "local", "vcpus": 1, "memory": "1Gi", "disks": [
                {"name": "root", "inline": {"size": "10Gi"}},
                {"name": "data", "inline": {"size": "1Ki", "tier": "gold"}}
            ]}
        }));
        let fields: Vec<String> = machine(&vm, "agency-vdi", Some(&pool())).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, vec!["spec.disks[1].inline.tier", "spec.disks[1].inline.size"]);
    }

    #[test]
    fn networks_images_and_backup_pools_must_be_offered() {
        let vm: VirtualMachine = from(serde_json::json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine",
            "metadata": {"name": "web"}, "spec": {"hostPool": "local", "vcpus": 1, "memory": "1Gi",
                "disks": [{"name": "root", "inline": {"size": "1Gi",
                    "image": {"storagePool": "default-pool", "name": "agency-b.secret.raw"}}}],
                "networks": [{"network": "default"}, {"network": "dmz"}, {"kind": "User"}]}
        }));
        let fields: Vec<String> = machine(&vm, "agency-vdi", Some(&pool())).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["spec.disks[0].inline.image.storagePool", "spec.networks[1].network", "spec.networks[2].kind"]
        );
        let vol: Volume = from(serde_json::json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume", "metadata": {"name": "loot"},
            "spec": {"hostPool": "local", "size": "1Gi",
                "source": {"image": {"storagePool": "default-pool", "name": "agency-b.secret.raw"}}}
        }));
        let refused = volume(&vol, Some(&pool()));
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].field, "spec.source.image.storagePool");
        assert!(refused[0].message.contains("is not an image storage pool"), "{}", refused[0].message);
        let backup: Backup = from(serde_json::json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Backup", "metadata": {"name": "b"},
            "spec": {"volume": "data", "target": {"hostPool": "local", "host": "hv-1", "storagePool": "images"}}
        }));
        let refused = super::backup(&backup, Some(&pool()));
        assert_eq!(refused.iter().map(|p| p.field.as_str()).collect::<Vec<_>>(), ["spec.target.storagePool"]);
    }

    #[test]
    fn a_broken_schedule_says_which_cron_field() {
        let bp: BackupPolicy = from(serde_json::json!({
            "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "BackupPolicy",
            "metadata": {"name": "nightly"}, "spec": {
                "volumeSelector": {}, "schedule": "30 25 * * *", "timeZone": "Mars/Olympus",
                "retention": {"keepDaily": 7}, "target": {"hostPool": "local", "host": "hv-1", "storagePool": "default-pool"}
            }
        }));
        let problems = policy(&bp, Some(&pool()));
        assert_eq!(problems[0].field, "spec.schedule");
        assert!(problems[0].message.contains("hour"), "{}", problems[0].message);
        assert_eq!(problems[1].field, "spec.timeZone");
        assert_eq!(problems.len(), 2);
    }
}
