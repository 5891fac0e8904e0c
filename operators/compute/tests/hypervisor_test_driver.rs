//! The hypervisor layer against libvirt's in-process `test:///default` driver (no daemon).
//! Every test uses names of its own: all connections of a process share the driver's state.

use std::time::Duration;

use makonis_compute::hypervisor::{
    DiskSpec, DomainSpec, Hypervisor, NetworkSpec, PowerState, VolumeFormat, VolumeSource, VolumeSpec,
};

const URI: &str = "test:///default";
const POOL: &str = "default-pool";
const MIB: u64 = 1 << 20;

fn spec(name: &str, uid: &str) -> DomainSpec {
    DomainSpec {
        name: name.into(),
        owner_uid: uid.into(),
        owner_namespace: "team-a".into(),
        owner_name: format!("{name} <vm>"),
        vcpus: 1,
        memory_bytes: 128 * MIB,
        disks: vec![DiskSpec { path: format!("/pool/{name}.img"), format: VolumeFormat::Raw, target: "vda".into() }],
        networks: vec![NetworkSpec::User],
        cdrom: Some(format!("/pool/{name}-seed.iso")),
    }
}

#[test]
fn facts_of_the_test_host() {
    let host = Hypervisor::open(URI, None).unwrap();
    assert_eq!(host.uri(), URI);
    let facts = host.facts().unwrap();
    assert_eq!(facts.hypervisor, "TEST");
    assert_eq!(facts.libvirt_version, "9.0.0");
    assert!(facts.cpus > 0 && facts.memory_bytes > 0, "{facts:?}");
    assert!(!facts.hostname.is_empty());
}

#[test]
fn domains_are_idempotent_and_guarded() {
    let host = Hypervisor::open(URI, None).unwrap();
    let name = "mk-td-web";
    let first = host.define_domain(&spec(name, "uid-1")).unwrap();
    let second = host.define_domain(&spec(name, "uid-1")).unwrap();
    assert_eq!(first.uuid, second.uuid);
    assert_eq!(second.state, PowerState::ShutOff);
    assert_eq!(second.owner_uid.as_deref(), Some("uid-1"));
    assert_eq!((second.vcpus, second.memory_bytes), (1, 128 * MIB));

    let managed = host.list_managed_domains().unwrap();
    assert_eq!(managed.iter().filter(|d| d.name == name).count(), 1);
    assert!(managed.iter().all(|d| d.name != "test" && d.owner_uid.is_some()), "{managed:?}");
    assert!(host.find_domain("test").unwrap().is_some_and(|d| d.owner_uid.is_none()));

    let stranger = host.define_domain(&spec(name, "uid-2")).unwrap_err();
    assert_eq!(stranger.category(), "refused");
    assert!(stranger.to_string().contains("belongs to the Mākonis VM with uid uid-1"), "{stranger}");
    let unmanaged = host.define_domain(&spec("test", "uid-3")).unwrap_err();
    assert!(unmanaged.to_string().contains("not managed by Mākonis"), "{unmanaged}");

    let mut bigger = spec(name, "uid-1");
    bigger.vcpus = 2;
    bigger.memory_bytes = 256 * MIB;
    let redefined = host.define_domain(&bigger).unwrap();
    assert_eq!((redefined.uuid.as_str(), redefined.vcpus, redefined.memory_bytes), (first.uuid.as_str(), 2, 256 * MIB));

    host.start_domain(name).unwrap();
    host.start_domain(name).unwrap();
    assert_eq!(host.find_domain(name).unwrap().unwrap().state, PowerState::Running);
    let mut while_running = bigger.clone();
    while_running.vcpus = 4;
    let left = host.define_domain(&while_running).unwrap();
    assert_eq!((left.state, left.vcpus), (PowerState::Running, 2), "a running domain is left alone");
    let addresses = host.domain_addresses(name).unwrap();
    println!("test driver addresses of {name}: {addresses:?}");

    host.stop_domain(name, Duration::from_secs(2)).unwrap();
    assert_eq!(host.find_domain(name).unwrap().unwrap().state, PowerState::ShutOff);
    host.stop_domain(name, Duration::from_secs(2)).unwrap();
    host.stop_domain("mk-td-absent", Duration::from_secs(2)).unwrap();
    assert_eq!(host.start_domain("mk-td-absent").unwrap_err().category(), "not-found");

    host.start_domain(name).unwrap();
    host.undefine_domain(name).unwrap();
    assert!(host.find_domain(name).unwrap().is_none());
    host.undefine_domain(name).unwrap();
}

#[test]
fn volumes_in_the_default_pool() {
    let host = Hypervisor::open(URI, None).unwrap();
    let pool = host.pool(POOL).unwrap();
    assert!(pool.active && pool.capacity_bytes > 0, "{pool:?}");
    let missing = host.pool("mk-td-nope").unwrap_err();
    assert_eq!(missing.category(), "not-found");
    assert!(missing.to_string().contains("storage pool mk-td-nope does not exist on test:///default"), "{missing}");

    let data = VolumeSpec {
        name: "mk-td-data".into(),
        capacity_bytes: 16 * MIB,
        format: VolumeFormat::Raw,
        source: VolumeSource::Empty,
    };
    let created = host.create_volume(POOL, &data).unwrap();
    assert_eq!(host.create_volume(POOL, &data).unwrap().key, created.key, "idempotent");
    assert_eq!(created.capacity_bytes, 16 * MIB);
    assert_eq!(host.find_volume(POOL, "mk-td-data").unwrap(), Some(created.clone()));
    assert!(host.find_volume(POOL, "mk-td-none").unwrap().is_none());
    assert!(host.list_volumes(POOL).unwrap().contains(&"mk-td-data".to_string()));

    // The test driver has no virStorageVolResize: growing reaches libvirt and is unsupported
    // there (hypervisor_qemu.rs grows for real); same size and shrinking never reach libvirt.
    let grow = host.resize_volume(POOL, "mk-td-data", 32 * MIB, None).unwrap_err();
    assert_eq!(grow.category(), "unsupported");
    assert!(grow.is_unsupported());
    assert!(grow.to_string().contains("cannot grow volume mk-td-data in pool default-pool to 32 MiB"), "{grow}");
    host.resize_volume(POOL, "mk-td-data", 16 * MIB, None).unwrap();
    let shrink = host.resize_volume(POOL, "mk-td-data", 8 * MIB, None).unwrap_err();
    assert_eq!(shrink.category(), "refused");
    assert!(
        shrink.to_string().contains(
            "volume mk-td-data on pool default-pool is 16 MiB; shrinking to 8 MiB would destroy data and is refused"
        ),
        "{shrink}"
    );

    let clone = VolumeSpec {
        name: "mk-td-clone".into(),
        capacity_bytes: 48 * MIB,
        format: VolumeFormat::Raw,
        source: VolumeSource::Clone { pool: POOL.into(), name: "mk-td-data".into() },
    };
    let cloned = host.create_volume(POOL, &clone).unwrap();
    assert_eq!(cloned.capacity_bytes, 48 * MIB, "a clone grows to the requested capacity");

    for name in ["mk-td-data", "mk-td-clone"] {
        host.delete_volume(POOL, name).unwrap();
        host.delete_volume(POOL, name).unwrap();
        assert!(host.find_volume(POOL, name).unwrap().is_none());
    }
}

#[test]
fn directory_pools_are_ensured() {
    let host = Hypervisor::open(URI, None).unwrap();
    let created = host.ensure_pool_dir("mk-td-pool", "/var/lib/makonis/mk-td-pool").unwrap();
    assert!(created.active);
    assert_eq!(created.path.as_deref(), Some("/var/lib/makonis/mk-td-pool"));
    assert_eq!(host.ensure_pool_dir("mk-td-pool", "/var/lib/makonis/mk-td-pool").unwrap().name, "mk-td-pool");
}
