//! Threats: compute (see docs/security/threat-model.md, "Status and host-side actions").
//!
//! An agency can write its objects' specs, and wherever its role reaches `*/status`, their
//! statuses. None of that may make the compute operator touch a host path, a volume,
//! a backup or a network that is not the agency's own. Each test runs the real compute
//! operator as its ServiceAccount against the libvirt QEMU session of
//! `tests/compute/session.sh` (which the test can inspect, unlike the test hypervisor in
//! the operator's process) and the real API server with the run's compute webhook.
//!
//! Forged statuses are written as the compute operator's own ServiceAccount: the one
//! identity a policy that limits status writes to the owning operator still lets through,
//! so these tests hold with or without such a policy. A controller corrects a forged status
//! as soon as it reconciles the object, so to read a forged status deterministically the
//! tests give the forged object to another shard of the operator (left outside this
//! operator's `--compute-selector`, as `--compute-selector` splits the work in
//! production), or keep its controller from finding its data (a host that does not answer),
//! or forge a status its controller does not rewrite (a completed Backup's).

use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
};
use makonis_api::compute::{
    Backup, BackupPhase, HostPool, Restore, RestorePhase, VirtualMachine, VmPhase, Volume, VolumePhase,
};
use serde_json::{Value, json};

use crate::support::{
    CONVERGE,
    agencies::TEST_LABEL,
    compute::{ComputeRun, describe},
    events::warning_about,
    qemu::{self, checksum, forge_status, known_data, session, session_pool, sha256_hex, volumes_in, write_volume},
    wait_until,
};

const MIB: usize = 1 << 20;
/// The Event reason of a status the operator found untrue.
const MISMATCH: &str = "StatusMismatch";

/// A Volume of the run on host `host` of `pool` (labelled with the run unless `shard` is
/// false: then another shard of the operator owns it).
fn volume(run: &ComputeRun, name: &str, pool: &str, host: &str, reclaim: &str, shard: bool) -> Volume {
    let value = json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume",
        "metadata": {"name": name},
        "spec": {"hostPool": pool, "host": host, "size": "1Mi", "reclaimPolicy": reclaim}
    });
    if shard { run.object(value) } else { serde_json::from_value(value).unwrap() }
}

/// A stopped machine of the run (defined, never booted) with `disks` and `networks`.
fn machine(run: &ComputeRun, name: &str, pool: &str, disks: Value, networks: Value) -> VirtualMachine {
    run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine",
        "metadata": {"name": name},
        "spec": {"hostPool": pool, "vcpus": 1, "memory": "64Mi", "powerState": "Stopped",
                 "disks": disks, "networks": networks}
    }))
}

/// Creates a volume of known data in `namespace` and returns its libvirt name and the
/// data's SHA-256.
async fn volume_with_data(run: &ComputeRun, namespace: &str, name: &str, pool: &str, seed: u64) -> (String, String) {
    let (_, disks, _) = session();
    run.create_in(namespace, &volume(run, name, pool, "kvm", "Retain", true)).await.expect("create the volume");
    let created = run
        .volume_until(namespace, name, "the volume to be created", |v| {
            v.status.as_ref().and_then(|s| s.phase) == Some(VolumePhase::Available)
        })
        .await;
    let libvirt_name = created.status.and_then(|s| s.volume_name).expect("the volume's libvirt name");
    let data = known_data(MIB, seed);
    let sha = sha256_hex(&data);
    write_volume(&disks, &libvirt_name, data).await;
    (libvirt_name, sha)
}

/// Waits for a Warning Event `StatusMismatch` about `name` and returns its note.
async fn mismatch_reported(run: &ComputeRun, namespace: &str, name: &str) -> String {
    wait_until(&format!("a {MISMATCH} Warning about {name}"), CONVERGE, || async {
        warning_about(&run.admin, namespace, name, MISMATCH).await.ok_or_else(|| "none yet".to_string())
    })
    .await
}

/// The API server's message for a refused create, or a panic if it was admitted.
fn refusal<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(status)) => status.message,
        other => panic!("expected a refusal at admission, got {other:?}"),
    }
}

#[tokio::test]
async fn forged_volume_path_never_reaches_a_domains_disk() {
    let (_, disks, _) = session();
    let run = ComputeRun::start(300).await;
    let pool = session_pool(&run, &[], None).await;
    let namespace = run.agency("fp", |_| ()).await;

    // The volume's status says it is the hypervisor's /dev/sda.
    run.create_in(&namespace, &volume(&run, "data", &pool, "kvm", "Delete", false)).await.expect("create the volume");
    let forged = json!({
        "phase": "Available", "host": "kvm", "storagePool": disks, "volumeName": "sda",
        "path": "/dev/sda", "capacityBytes": MIB
    });
    forge_status::<Volume>(&namespace, "data", forged).await;
    let disk = json!([{"name": "data", "volume": "data"}]);
    run.create_in(&namespace, &machine(&run, "vm", &pool, disk, json!([{"kind": "User"}])))
        .await
        .expect("create the machine");
    let settled = run
        .machine_until(&namespace, "vm", "the machine to settle", CONVERGE, |m| {
            let status = m.status.clone().unwrap_or_default();
            status.phase == Some(VmPhase::Stopped)
                || status.conditions.iter().any(|c| c.type_ == "Ready" && c.reason == "VolumeNotReady")
        })
        .await;
    let domain = format!("{namespace}.vm");
    let defined = qemu::domain_disks(&domain).await.unwrap_or_default();
    assert!(!defined.iter().any(|d| d == "/dev/sda"), "the domain's disks are {defined:?} ({})", describe(&settled));

    // Once the volume is this operator's, its own data becomes the disk and the forged
    // status is reported and corrected.
    let volumes: Api<Volume> = Api::namespaced(run.admin.clone(), &namespace);
    let label = json!({"metadata": {"labels": {TEST_LABEL: run.run}}});
    volumes.patch("data", &PatchParams::default(), &Patch::Merge(label)).await.expect("hand the volume over");
    let note = mismatch_reported(&run, &namespace, "data").await;
    assert!(note.contains("/dev/sda"), "{note}");
    run.machine_until(&namespace, "vm", "the machine to be defined", CONVERGE, |m| {
        m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Stopped)
    })
    .await;
    let real = volumes.get("data").await.unwrap().status.unwrap_or_default();
    let own = format!("{namespace}.data.{}.raw", volumes.get("data").await.unwrap().uid().unwrap());
    assert_eq!(real.volume_name.as_deref(), Some(own.as_str()), "the status names the volume's own data");
    assert!(volumes_in(&disks).await.contains(&own));
    let path = real.path.expect("the path libvirt reports");
    assert_ne!(path, "/dev/sda");
    assert_eq!(qemu::domain_disks(&domain).await, Some(vec![path]), "the disk is the volume's own data");
    run.finish().await;
}

#[tokio::test]
async fn forged_volume_name_pool_or_host_never_deletes_another_agencys_volume() {
    let (_, disks, _) = session();
    let run = ComputeRun::start(300).await;
    // A second host that never answers: the attacker's volume lives there, so its
    // controller cannot find (and so cannot correct) the data its status claims.
    let dead = json!({"name": "dead", "uri": "qemu+tcp://127.0.0.1:1/system"});
    let pool = session_pool(&run, &[dead], None).await;
    let victim = run.agency("fv", |_| ()).await;
    let (precious, sha) = volume_with_data(&run, &victim, "precious", &pool, 7).await;

    let attacker = run.agency("fa", |_| ()).await;
    run.create_in(&attacker, &volume(&run, "bait", &pool, "dead", "Delete", true)).await.expect("create the bait");
    run.volume_until(&attacker, "bait", "the bait to wait for its host", |v| {
        v.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.reason == "HostUnreachable"))
    })
    .await;
    let forged = json!({
        "phase": "Available", "host": "kvm", "storagePool": disks, "volumeName": precious,
        "path": format!("/somewhere/{precious}")
    });
    forge_status::<Volume>(&attacker, "bait", forged).await;
    let baits: Api<Volume> = Api::namespaced(run.admin.clone(), &attacker);
    baits.delete("bait", &DeleteParams::default()).await.expect("delete the bait");
    wait_until("the bait's deletion to be decided", CONVERGE, || async {
        let gone = baits.get_opt("bait").await.map_err(|e| e.to_string())?.is_none();
        let refused = warning_about(&run.admin, &attacker, "bait", MISMATCH).await.is_some();
        if gone || refused { Ok(()) } else { Err("the bait is still being deleted".into()) }
    })
    .await;
    assert!(volumes_in(&disks).await.contains(&precious), "the other agency's volume was deleted");
    assert_eq!(checksum(&disks, &precious).await, sha, "the other agency's data is intact");
    let note = mismatch_reported(&run, &attacker, "bait").await;
    assert!(note.contains(&precious), "{note}");

    // With the silent host gone from the pool, the bait goes, and still nothing else.
    let pools: Api<HostPool> = Api::all(run.admin.clone());
    let (uri, _, _) = session();
    let one_host = json!({"spec": {"hosts": [{"name": "kvm", "uri": uri}]}});
    pools.patch(&pool, &PatchParams::default(), &Patch::Merge(one_host)).await.expect("drop the silent host");
    wait_until("the bait to be gone", CONVERGE, || async {
        match baits.get_opt("bait").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("still there".into()),
        }
    })
    .await;
    assert_eq!(checksum(&disks, &precious).await, sha, "the other agency's data is intact");
    run.finish().await;
}

#[tokio::test]
async fn forged_backup_location_never_restores_or_deletes_another_agencys_data() {
    let (_, disks, backup_pool) = session();
    let run = ComputeRun::start(300).await;
    let pool = session_pool(&run, &[], None).await;
    let victim = run.agency("bv", |_| ()).await;
    let (precious, victim_sha) = volume_with_data(&run, &victim, "precious", &pool, 11).await;

    let attacker = run.agency("ba", |_| ()).await;
    let (_, own_sha) = volume_with_data(&run, &attacker, "mine", &pool, 13).await;
    let backup: Backup = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Backup", "metadata": {"name": "bk"},
        "spec": {"volume": "mine", "target": {"hostPool": pool, "host": "kvm", "storagePool": backup_pool}}
    }));
    run.create_in(&attacker, &backup).await.expect("create the backup");
    let backups: Api<Backup> = Api::namespaced(run.admin.clone(), &attacker);
    let done = wait_until("the backup to complete", CONVERGE, || async {
        let b = backups.get("bk").await.map_err(|e| e.to_string())?;
        let phase = b.status.as_ref().and_then(|s| s.phase);
        if phase == Some(BackupPhase::Completed) { Ok(b) } else { Err(format!("{:?}", b.status)) }
    })
    .await;
    let own_data = done.status.unwrap().location.expect("where the backup is").volume_name;

    // The completed backup's status now claims the other agency's disk, with its checksum.
    let forged = json!({
        "sha256": victim_sha,
        "location": {"hostPool": pool, "host": "kvm", "storagePool": disks, "volumeName": precious}
    });
    forge_status::<Backup>(&attacker, "bk", forged).await;
    let restore: Restore = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Restore", "metadata": {"name": "loot"},
        "spec": {"backup": "bk", "target": {"newVolume": "loot"}}
    }));
    run.create_in(&attacker, &restore).await.expect("create the restore");
    let restores: Api<Restore> = Api::namespaced(run.admin.clone(), &attacker);
    wait_until("the restore to end", CONVERGE, || async {
        let r = restores.get("loot").await.map_err(|e| e.to_string())?;
        let phase = r.status.as_ref().and_then(|s| s.phase);
        if matches!(phase, Some(RestorePhase::Completed | RestorePhase::Failed)) {
            Ok(())
        } else {
            Err(format!("{:?}", r.status))
        }
    })
    .await;
    let loot = Api::<Volume>::namespaced(run.admin.clone(), &attacker).get("loot").await.ok();
    if let Some(name) = loot.and_then(|v| v.status).and_then(|s| s.volume_name) {
        let restored = checksum(&disks, &name).await;
        assert_ne!(restored, victim_sha, "the restore copied the other agency's disk");
        assert_eq!(restored, own_sha, "the restore brought back the backup's own data");
    }
    let note = mismatch_reported(&run, &attacker, "bk").await;
    assert!(note.contains(&precious), "{note}");

    // Deleting the backup deletes its own data, and nothing of the other agency's.
    backups.delete("bk", &DeleteParams::default()).await.expect("delete the backup");
    wait_until("the backup to be gone", CONVERGE, || async {
        match backups.get_opt("bk").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(_) => Err("still there".into()),
        }
    })
    .await;
    assert!(volumes_in(&disks).await.contains(&precious), "the other agency's volume was deleted");
    assert_eq!(checksum(&disks, &precious).await, victim_sha, "the other agency's data is intact");
    assert!(!volumes_in(&backup_pool).await.contains(&own_data), "the backup's own data went with it");
    run.finish().await;
}

#[tokio::test]
async fn forged_volume_status_never_makes_a_backup_or_restore_touch_another_agencys_volume() {
    let (_, disks, backup_pool) = session();
    let run = ComputeRun::start(300).await;
    let pool = session_pool(&run, &[], None).await;
    let victim = run.agency("rv", |_| ()).await;
    let (precious, victim_sha) = volume_with_data(&run, &victim, "precious", &pool, 17).await;
    let attacker = run.agency("ra", |_| ()).await;
    let (_, own_sha) = volume_with_data(&run, &attacker, "mine", &pool, 19).await;
    let own_backup: Backup = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Backup", "metadata": {"name": "own"},
        "spec": {"volume": "mine", "target": {"hostPool": pool, "host": "kvm", "storagePool": backup_pool}}
    }));
    run.create_in(&attacker, &own_backup).await.expect("create the backup");
    let backups: Api<Backup> = Api::namespaced(run.admin.clone(), &attacker);
    let own = wait_until("the attacker's own backup to complete", CONVERGE, || async {
        let b = backups.get("own").await.map_err(|e| e.to_string())?;
        if b.status.as_ref().and_then(|s| s.phase) == Some(BackupPhase::Completed) {
            Ok(b)
        } else {
            Err(format!("{:?}", b.status))
        }
    })
    .await;
    let own_location = own.status.unwrap().location.expect("where the backup is");

    // "ghost" belongs to another shard; its status claims the other agency's volume.
    run.create_in(&attacker, &volume(&run, "ghost", &pool, "kvm", "Retain", false)).await.expect("create ghost");
    let claims_precious = json!({
        "phase": "Available", "host": "kvm", "storagePool": disks, "volumeName": precious, "capacityBytes": MIB
    });
    forge_status::<Volume>(&attacker, "ghost", claims_precious).await;

    // A backup of ghost must not copy the other agency's disk.
    let exfiltrate: Backup = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Backup", "metadata": {"name": "copy"},
        "spec": {"volume": "ghost", "target": {"hostPool": pool, "host": "kvm", "storagePool": backup_pool}}
    }));
    run.create_in(&attacker, &exfiltrate).await.expect("create the backup of ghost");
    let decided = wait_until("the backup of ghost to be decided", CONVERGE, || async {
        let b = backups.get("copy").await.map_err(|e| e.to_string())?;
        let status = b.status.clone().unwrap_or_default();
        let waiting = status.conditions.iter().any(|c| c.reason == "VolumeNotReady");
        let ended = matches!(status.phase, Some(BackupPhase::Completed | BackupPhase::Failed));
        if waiting || ended { Ok(status) } else { Err(format!("{status:?}")) }
    })
    .await;
    assert_ne!(decided.sha256.as_deref(), Some(victim_sha.as_str()), "the backup copied the other agency's disk");
    assert_ne!(decided.phase, Some(BackupPhase::Completed), "a backup of a volume without data: {decided:?}");

    // An in-place restore into ghost must not overwrite the other agency's disk. Its
    // backup (another shard's too) claims to be complete, pointing at the attacker's own
    // backup data.
    let claims_own: Backup = serde_json::from_value(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Backup", "metadata": {"name": "ghost-bk"},
        "spec": {"volume": "ghost", "target": {"hostPool": pool, "host": "kvm", "storagePool": backup_pool}}
    }))
    .unwrap();
    run.create_in(&attacker, &claims_own).await.expect("create the ghost's backup");
    let completed = json!({
        "phase": "Completed", "sha256": own_sha, "bytes": MIB,
        "location": {"hostPool": own_location.host_pool, "host": "kvm", "storagePool": backup_pool,
                     "volumeName": own_location.volume_name}
    });
    forge_status::<Backup>(&attacker, "ghost-bk", completed).await;
    let overwrite: Restore = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Restore", "metadata": {"name": "overwrite"},
        "spec": {"backup": "ghost-bk", "target": {"inPlace": true}}
    }));
    run.create_in(&attacker, &overwrite).await.expect("create the restore");
    let restores: Api<Restore> = Api::namespaced(run.admin.clone(), &attacker);
    let decided = wait_until("the in-place restore to be decided", CONVERGE, || async {
        let r = restores.get("overwrite").await.map_err(|e| e.to_string())?;
        let status = r.status.clone().unwrap_or_default();
        let waiting = status.conditions.iter().any(|c| c.reason == "VolumeNotReady");
        let ended = matches!(status.phase, Some(RestorePhase::Completed | RestorePhase::Failed));
        if waiting || ended { Ok(status) } else { Err(format!("{status:?}")) }
    })
    .await;
    assert_ne!(decided.phase, Some(RestorePhase::Completed), "{decided:?}");
    assert_eq!(checksum(&disks, &precious).await, victim_sha, "the other agency's disk was overwritten");
    run.finish().await;
}

#[tokio::test]
async fn an_image_source_naming_another_agencys_volume_is_refused() {
    let (_, disks, _) = session();
    let run = ComputeRun::start(300).await;
    let pool = session_pool(&run, &[], None).await;
    let victim = run.agency("iv", |_| ()).await;
    // A short name, so that the whole libvirt name fits an image name.
    let (precious, _) = volume_with_data(&run, &victim, "p", &pool, 23).await;
    let attacker = run.agency("ia", |_| ()).await;
    let clone: Volume = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume", "metadata": {"name": "loot"},
        "spec": {"hostPool": pool, "host": "kvm", "size": "1Mi",
                 "source": {"image": {"storagePool": disks, "name": precious}}}
    }));
    let refused = refusal(run.create_in(&attacker, &clone).await);
    assert!(refused.contains("spec.source.image.storagePool"), "{refused}");
    assert!(refused.contains("is not an image storage pool"), "{refused}");

    // Past admission, the controller refuses it too and copies nothing.
    run.create_past_admission(&attacker, &clone).await;
    let failed = run
        .volume_until(&attacker, "loot", "the volume to be refused", |v| {
            v.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.reason == "ImageNotOffered"))
        })
        .await;
    assert_eq!(failed.status.unwrap().phase, Some(VolumePhase::Failed));
    let prefix = format!("{attacker}.loot.");
    let made: Vec<String> = volumes_in(&disks).await.into_iter().filter(|v| v.starts_with(&prefix)).collect();
    assert!(made.is_empty(), "a copy was made: {made:?}");
    run.finish().await;
}

#[tokio::test]
async fn a_machine_on_a_network_its_agency_may_not_join_is_refused() {
    let run = ComputeRun::start(300).await;
    let allowed = run.agency("na", |_| ()).await;
    let code = allowed.strip_prefix("agency-").expect("an agency namespace").to_string();
    let networks = json!([{"name": "vdi-net", "agencies": [code]}, {"kind": "User", "agencies": ["*"]}]);
    let pool = session_pool(&run, &[], Some(networks)).await;
    let outsider = run.agency("no", |_| ()).await;
    let on_vdi_net = json!([{"network": "vdi-net"}]);

    let refused = refusal(run.create_in(&outsider, &machine(&run, "spy", &pool, json!([]), on_vdi_net.clone())).await);
    assert!(refused.contains("spec.networks[0].network"), "{refused}");
    assert!(refused.contains("does not offer network vdi-net"), "{refused}");
    run.create_in(&allowed, &machine(&run, "member", &pool, json!([]), on_vdi_net.clone()))
        .await
        .expect("the agency the network is for may use it");
    run.machine_until(&allowed, "member", "the member's machine to be defined", CONVERGE, |m| {
        m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Stopped)
    })
    .await;

    // Past admission, the controller refuses to define it.
    run.create_past_admission(&outsider, &machine(&run, "spy", &pool, json!([]), on_vdi_net)).await;
    let failed = run
        .machine_until(&outsider, "spy", "the machine to be refused", CONVERGE, |m| {
            m.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.reason == "NetworkNotAllowed"))
        })
        .await;
    let status = failed.status.unwrap_or_default();
    assert_eq!(status.phase, Some(VmPhase::Failed));
    assert_eq!(status.host, None, "not even placed");
    assert_eq!(qemu::domain_disks(&format!("{outsider}.spy")).await, None, "no domain was defined");
    run.finish().await;
}
