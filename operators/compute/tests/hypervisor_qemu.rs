//! The hypervisor layer against real QEMU guests of an unprivileged session daemon, started by
//! `tests/compute/session.sh start`; `eval "$(tests/compute/session.sh env)"` sets
//! MAKONIS_TEST_QEMU_URI and MAKONIS_TEST_QEMU_POOL (./test.sh does both).

use std::path::Path;
use std::time::Duration;

use makonis_compute::hypervisor::{
    DiskSpec, DomainSpec, Hypervisor, NetworkSpec, PowerState, VolumeFormat, VolumeSource, VolumeSpec, checksum_volume,
    copy_volume, freeze_disk, stream_volume, thaw_disk, verify_volume,
};
use sha2::{Digest, Sha256};

const MIB: u64 = 1 << 20;
const BACKUP_POOL: &str = "makonis-backup";

/// The session under test and its disk pool.
fn session() -> (Hypervisor, String) {
    let uri = std::env::var("MAKONIS_TEST_QEMU_URI").unwrap_or_else(|_| {
        panic!("MAKONIS_TEST_QEMU_URI is not set: run `tests/compute/session.sh start` and `eval \"$(tests/compute/session.sh env)\"`")
    });
    let pool = std::env::var("MAKONIS_TEST_QEMU_POOL").unwrap_or_else(|_| "makonis".into());
    (Hypervisor::open(&uri, None).expect("the session daemon answers"), pool)
}

/// Seeded pseudo-random bytes (xorshift64*), the same on every run.
fn pseudo_random(len: usize, mut state: u64) -> Vec<u8> {
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        data.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    data.truncate(len);
    data
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// The user running the QEMU process of domain `name`, from /proc.
fn qemu_user(name: &str) -> Option<String> {
    let needle = format!("guest={name},");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline);
        if !cmdline.starts_with("/usr/bin/qemu-system") || !cmdline.contains(&needle) {
            continue;
        }
        let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
        let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"))?.split_whitespace().next()?.to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        return passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.get(2) == Some(&uid.as_str()))
            .map(|f| f[0].to_string())
            .or(Some(uid));
    }
    None
}

/// The live disk source of `dev` in domain `name`, read with virt directly.
fn live_source(uri: &str, name: &str, dev: &str) -> String {
    let conn = virt::connect::Connect::open(Some(uri)).unwrap();
    let xml = conn.lookup_domain_by_name(name).unwrap().xml_desc(0).unwrap();
    let disk = xml.split("<disk ").find(|d| d.contains(&format!("<target dev='{dev}'"))).unwrap().to_string();
    let at = disk.find("<source file='").unwrap() + "<source file='".len();
    disk[at..at + disk[at..].find('\'').unwrap()].to_string()
}

/// Removes what the test made, also when it fails halfway.
struct Cleanup<'a> {
    host: &'a Hypervisor,
    domain: String,
    volumes: Vec<(String, String)>,
    /// A pool the test defined, removed at the end.
    pool: Option<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.host.undefine_domain(&self.domain) {
            eprintln!("cleanup: {e}");
        }
        for (pool, name) in &self.volumes {
            if let Err(e) = self.host.delete_volume(pool, name) {
                eprintln!("cleanup: {e}");
            }
        }
        if let Some(pool) = &self.pool {
            let conn = virt::connect::Connect::open(Some(self.host.uri())).unwrap();
            let pool = conn.lookup_storage_pool_by_name(pool).unwrap();
            for result in [pool.destroy(), pool.delete(0), pool.undefine()] {
                if let Err(e) = result {
                    eprintln!("cleanup: {e}");
                }
            }
        }
    }
}

#[test]
fn backup_and_restore_of_a_running_guest() {
    let (host, pool) = session();
    let facts = host.facts().unwrap();
    assert_eq!(facts.hypervisor, "QEMU");
    let pool_path = host.pool(&pool).unwrap().path.expect("a directory pool");
    let backup_path = Path::new(&pool_path).parent().unwrap().join(BACKUP_POOL);
    let backup_pool_existed = host.pool(BACKUP_POOL).is_ok();
    host.ensure_pool_dir(BACKUP_POOL, backup_path.to_str().unwrap()).unwrap();

    let tag = std::process::id();
    let domain = format!("mk-it-{tag}");
    let (root, grow, backup) = (format!("{domain}-root"), format!("{domain}-grow"), format!("{domain}-backup"));
    let _cleanup = Cleanup {
        host: &host,
        domain: domain.clone(),
        volumes: vec![(pool.clone(), root.clone()), (pool.clone(), grow.clone()), (BACKUP_POOL.into(), backup.clone())],
        pool: (!backup_pool_existed).then(|| BACKUP_POOL.to_string()),
    };

    let size = 32 * MIB;
    let data = pseudo_random(size as usize, 0x006d_616b_6f6e_6973);
    let expected = sha256_hex(&data);
    let empty = |name: &str, capacity_bytes| VolumeSpec {
        name: name.into(),
        capacity_bytes,
        format: VolumeFormat::Raw,
        source: VolumeSource::Empty,
    };
    let root_volume = host.create_volume(&pool, &empty(&root, size)).unwrap();
    assert_eq!(host.upload(&pool, &root, &mut data.as_slice()).unwrap(), size);
    assert_eq!(checksum_volume(&host, &pool, &root).unwrap().sha256, expected);
    let grow_volume = host.create_volume(&pool, &empty(&grow, 16 * MIB)).unwrap();

    let spec = DomainSpec {
        name: domain.clone(),
        owner_uid: format!("uid-{tag}"),
        owner_namespace: "it".into(),
        owner_name: "guest".into(),
        vcpus: 1,
        memory_bytes: 64 * MIB,
        disks: vec![
            DiskSpec { path: root_volume.path.clone(), format: VolumeFormat::Raw, target: "vda".into() },
            DiskSpec { path: grow_volume.path.clone(), format: VolumeFormat::Raw, target: "vdb".into() },
        ],
        networks: vec![NetworkSpec::User],
        cdrom: None,
    };
    host.define_domain(&spec).unwrap();
    host.start_domain(&domain).unwrap();
    assert_eq!(host.find_domain(&domain).unwrap().unwrap().state, PowerState::Running);
    let user = qemu_user(&domain).expect("a QEMU process for the domain");
    println!("QEMU of {domain} runs as {user}");
    assert_ne!(user, "root");
    assert!(host.domain_addresses(&domain).unwrap().is_empty(), "user networking has no leases");

    // A consistent copy of the running guest's disk.
    let frozen = freeze_disk(&host, &domain, "vda").unwrap();
    assert_eq!(frozen.base_path(), root_volume.path);
    assert_eq!(live_source(host.uri(), &domain, "vda"), frozen.overlay_path());
    assert!(freeze_disk(&host, &domain, "vda").unwrap_err().to_string().contains("already frozen"));
    // Through libvirt's streams (the path between two machines)…
    let mut reports = Vec::new();
    let copied = stream_volume(&host, &pool, &root, &host, BACKUP_POOL, &backup, &mut |n| reports.push(n)).unwrap();
    assert_eq!((copied.bytes, copied.sha256.as_str()), (size, expected.as_str()));
    assert_eq!(reports.last(), Some(&size));
    // …and on this host's files (the session is local): the same bytes either way.
    let local_copy = format!("{backup}.local");
    let local = copy_volume(&host, &pool, &root, &host, BACKUP_POOL, &local_copy, &mut |_| {}).unwrap();
    assert_eq!((local.bytes, local.sha256.as_str()), (size, expected.as_str()));
    assert_eq!(checksum_volume(&host, BACKUP_POOL, &local_copy).unwrap().sha256, expected);
    host.delete_volume(BACKUP_POOL, &local_copy).unwrap();
    let overlay = frozen.overlay_path().to_string();
    thaw_disk(&host, frozen).unwrap();
    assert_eq!(live_source(host.uri(), &domain, "vda"), root_volume.path);
    assert!(!Path::new(&overlay).exists(), "the overlay {overlay} is gone");
    assert!(host.list_volumes(&pool).unwrap().iter().all(|v| !v.contains("frozen")));

    // Online grow of an attached disk.
    host.resize_volume(&pool, &grow, 24 * MIB, Some((&domain, "vdb"))).unwrap();
    assert_eq!(host.find_volume(&pool, &grow).unwrap().unwrap().capacity_bytes, 24 * MIB);
    let conn = virt::connect::Connect::open(Some(host.uri())).unwrap();
    let guest_view = conn.lookup_domain_by_name(&domain).unwrap().block_info("vdb", 0).unwrap();
    assert_eq!(guest_view.capacity, 24 * MIB);

    host.stop_domain(&domain, Duration::from_secs(3)).unwrap();
    assert_eq!(host.find_domain(&domain).unwrap().unwrap().state, PowerState::ShutOff);

    // Lose the data, restore it in place from the backup.
    let zeros = vec![0u8; size as usize];
    host.upload(&pool, &root, &mut zeros.as_slice()).unwrap();
    assert_eq!(checksum_volume(&host, &pool, &root).unwrap().sha256, sha256_hex(&zeros));
    let wrong = verify_volume(&host, &pool, &root, &expected).unwrap_err();
    assert_eq!(wrong.category(), "checksum");
    let restored = copy_volume(&host, BACKUP_POOL, &backup, &host, &pool, &root, &mut |_| {}).unwrap();
    assert_eq!(restored.sha256, expected);
    assert_eq!(checksum_volume(&host, &pool, &root).unwrap().sha256, expected);
    verify_volume(&host, &pool, &root, &expected.to_uppercase()).unwrap();

    host.undefine_domain(&domain).unwrap();
    assert!(host.find_domain(&domain).unwrap().is_none());
}
