//! Backups and restores of real QEMU guests through the real compute operator: a guest
//! runs under an unprivileged libvirt session (software emulation), its disk holds known
//! data, a backup is taken while it runs, the data is destroyed, and restores bring back
//! the identical bytes. A backup whose operator is killed mid-copy never completes.
//!
//! Needs `tests/compute/session.sh start` (./test.sh starts it) and its environment.

mod support;

use std::time::Duration;

use kube::{
    Api,
    api::{Patch, PatchParams},
};
use makonis_api::compute::{Backup, BackupPhase, Restore, RestorePhase, VirtualMachine, VmPhase, Volume, VolumePhase};
use makonis_compute::hypervisor::checksum_volume;
use serde_json::json;
use support::{
    CONVERGE,
    compute::ComputeRun,
    qemu::{known_data, session, session_pool, sha256_hex, with_session},
    wait_until,
};

const MIB: usize = 1 << 20;

fn volume(run: &ComputeRun, name: &str, pool: &str, size: &str) -> Volume {
    run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume",
        "metadata": {"name": name},
        "spec": {"hostPool": pool, "host": "kvm", "size": size, "reclaimPolicy": "Delete"}
    }))
}

fn backup(run: &ComputeRun, name: &str, volume: &str, pool: &str) -> Backup {
    let (_, _, backup_pool) = session();
    run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Backup",
        "metadata": {"name": name},
        "spec": {"volume": volume, "target": {"hostPool": pool, "host": "kvm", "storagePool": backup_pool}}
    }))
}

async fn wait_backup(api: &Api<Backup>, name: &str, phase: BackupPhase, timeout: Duration) -> Backup {
    wait_until(&format!("backup {name} to be {phase:?}"), timeout, || async {
        let backup = api.get(name).await.map_err(|e| e.to_string())?;
        let status = backup.status.clone().unwrap_or_default();
        if status.phase == Some(phase) {
            Ok(backup)
        } else {
            Err(format!("{:?}: {:?}", status.phase, status.conditions))
        }
    })
    .await
}

async fn wait_restore(api: &Api<Restore>, name: &str) -> Restore {
    wait_until(&format!("restore {name} to complete"), CONVERGE, || async {
        let restore = api.get(name).await.map_err(|e| e.to_string())?;
        let status = restore.status.clone().unwrap_or_default();
        match status.phase {
            Some(RestorePhase::Completed) => Ok(restore),
            Some(RestorePhase::Failed) => panic!("restore {name} failed: {:?}", status.conditions),
            _ => Err(format!("{:?}: {:?}", status.phase, status.conditions)),
        }
    })
    .await
}

#[tokio::test]
async fn a_backup_of_a_running_guest_restores_to_identical_bytes() {
    let (_, storage_pool, backup_pool) = session();
    let run = ComputeRun::start(300).await;
    let pool = session_pool(&run, &[], None).await;
    let namespace = run.agency("bk", |_| ()).await;

    run.create_in(&namespace, &volume(&run, "data", &pool, "32Mi")).await.expect("create the volume");
    let data = run
        .volume_until(&namespace, "data", "the volume to be created", |v| {
            v.status.as_ref().and_then(|s| s.phase) == Some(VolumePhase::Available)
        })
        .await;
    let libvirt_name = data.status.unwrap().volume_name.expect("the volume's libvirt name");
    let known = known_data(32 * MIB, 442);
    let expected = sha256_hex(&known);
    let (target, bytes) = (storage_pool.clone(), libvirt_name.clone());
    with_session(move |hv| hv.upload(&target, &bytes, &mut known.as_slice()).expect("write the known data")).await;

    let guest: VirtualMachine = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine",
        "metadata": {"name": "guest"},
        "spec": {
            "hostPool": pool, "vcpus": 1, "memory": "128Mi",
            "disks": [{"name": "data", "volume": "data"}],
            "networks": [{"kind": "User"}],
            "cloudInit": {"userData": "#cloud-config\nhostname: guest\n"}
        }
    }));
    run.create_in(&namespace, &guest).await.expect("create the guest");
    let running = run
        .machine_until(&namespace, "guest", "the guest to run under QEMU", Duration::from_secs(120), |m| {
            m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running)
        })
        .await;
    let domain = running.status.unwrap().domain.expect("the domain's name");
    let (qemu_user, seed_names) = with_session({
        let (domain, storage_pool) = (domain.clone(), storage_pool.clone());
        move |hv| {
            let found = hv.find_domain(&domain).expect("look up the domain").expect("the domain exists");
            let seeds: Vec<String> =
                hv.list_volumes(&storage_pool).unwrap().into_iter().filter(|v| v.ends_with(".cidata.iso")).collect();
            (found.state, seeds)
        }
    })
    .await;
    assert_eq!(format!("{qemu_user:?}"), "Running", "libvirt runs the guest");
    assert!(
        seed_names.iter().any(|n| n.starts_with(&format!("{namespace}.guest."))),
        "the cloud-init seed disk is in the pool: {seed_names:?}"
    );

    let backups: Api<Backup> = Api::namespaced(run.admin.clone(), &namespace);
    run.create_in(&namespace, &backup(&run, "before", "data", &pool)).await.expect("create the backup");
    let done = wait_backup(&backups, "before", BackupPhase::Completed, CONVERGE).await;
    let status = done.status.unwrap();
    assert_eq!(status.sha256.as_deref(), Some(expected.as_str()), "the backup holds the known data");
    assert_eq!(status.bytes, Some((32 * MIB) as i64));
    let consistency = status.consistency.unwrap_or_default();
    assert!(consistency.contains("snapshot of the running domain"), "{consistency}");
    let location = status.location.expect("where the backup is");
    let listed = with_session({
        let backup_pool = backup_pool.clone();
        move |hv| hv.list_volumes(&backup_pool).unwrap()
    })
    .await;
    assert!(listed.contains(&location.volume_name), "the data is in the backup pool: {listed:?}");
    assert!(listed.iter().any(|n| n.ends_with(".manifest.json")), "its manifest was written last: {listed:?}");
    let completed = run.operator.counter("makonis_compute_backups_total", r#"outcome="completed""#).await;
    assert_eq!(completed, 1.0, "the operator counts the completed backup");
    assert_eq!(run.operator.total("makonis_compute_backup_bytes_total").await, (32 * MIB) as f64);

    // Destroy the data: stop the guest and overwrite the disk with zeros.
    let machines: Api<VirtualMachine> = Api::namespaced(run.admin.clone(), &namespace);
    machines
        .patch("guest", &PatchParams::default(), &Patch::Merge(json!({"spec": {"powerState": "Stopped"}})))
        .await
        .unwrap();
    run.machine_until(&namespace, "guest", "the guest to stop", CONVERGE, |m| {
        m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Stopped)
    })
    .await;
    let destroyed = with_session({
        let (target, name) = (storage_pool.clone(), libvirt_name.clone());
        move |hv| {
            hv.upload(&target, &name, &mut vec![0u8; 32 * MIB].as_slice()).unwrap();
            checksum_volume(hv, &target, &name).unwrap().sha256
        }
    })
    .await;
    assert_ne!(destroyed, expected, "the data is gone");

    let restores: Api<Restore> = Api::namespaced(run.admin.clone(), &namespace);
    let in_place: Restore = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Restore",
        "metadata": {"name": "in-place"}, "spec": {"backup": "before", "target": {"inPlace": true}}
    }));
    run.create_in(&namespace, &in_place).await.expect("create the restore");
    let restored = wait_restore(&restores, "in-place").await;
    assert_eq!(run.operator.counter("makonis_compute_restores_total", r#"outcome="completed""#).await, 1.0);
    assert_eq!(restored.status.unwrap().sha256.as_deref(), Some(expected.as_str()));
    let now = with_session({
        let (target, name) = (storage_pool.clone(), libvirt_name.clone());
        move |hv| checksum_volume(hv, &target, &name).unwrap().sha256
    })
    .await;
    assert_eq!(now, expected, "the disk holds the known data again, byte for byte");

    let to_new: Restore = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Restore",
        "metadata": {"name": "to-new"}, "spec": {"backup": "before", "target": {"newVolume": "data-copy"}}
    }));
    run.create_in(&namespace, &to_new).await.expect("create the restore");
    wait_restore(&restores, "to-new").await;
    let copy = run
        .volume_until(&namespace, "data-copy", "the restored volume", |v| {
            v.status.as_ref().and_then(|s| s.phase) == Some(VolumePhase::Available)
        })
        .await;
    let copy_name = copy.status.unwrap().volume_name.unwrap();
    let copied = with_session({
        let target = storage_pool.clone();
        move |hv| checksum_volume(hv, &target, &copy_name).unwrap().sha256
    })
    .await;
    assert_eq!(copied, expected, "the new volume holds the known data");
    run.finish().await;
}

#[tokio::test]
async fn a_backup_cut_short_by_a_dying_operator_is_never_complete() {
    let (_, _, backup_pool) = session();
    let run = ComputeRun::start(300).await;
    let pool = session_pool(&run, &[], None).await;
    let namespace = run.agency("ki", |_| ()).await;
    // Large enough that the copy takes seconds even on the host-local path, so that the
    // kill lands while the backup runs.
    run.create_in(&namespace, &volume(&run, "big", &pool, "4Gi")).await.expect("create the volume");
    run.volume_until(&namespace, "big", "the volume to be created", |v| {
        v.status.as_ref().and_then(|s| s.phase) == Some(VolumePhase::Available)
    })
    .await;
    // A running guest, to see that a restarted operator defines nothing twice.
    let steady: VirtualMachine = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine",
        "metadata": {"name": "steady"},
        "spec": {"hostPool": pool, "vcpus": 1, "memory": "64Mi", "networks": [{"kind": "User"}]}
    }));
    run.create_in(&namespace, &steady).await.expect("create the guest");
    let is_running = |m: &VirtualMachine| m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running);
    let before =
        run.machine_until(&namespace, "steady", "the guest to run", Duration::from_secs(120), is_running).await;
    let uuid = before.status.clone().unwrap().domain_uuid.expect("the domain's UUID");

    let backups: Api<Backup> = Api::namespaced(run.admin.clone(), &namespace);
    run.create_in(&namespace, &backup(&run, "cut", "big", &pool)).await.expect("create the backup");
    let running = wait_backup(&backups, "cut", BackupPhase::Running, CONVERGE).await;
    let data_name = running.status.unwrap().location.expect("the run's location").volume_name;

    let run = run.kill_and_restart().await;
    let failed = wait_backup(&backups, "cut", BackupPhase::Failed, CONVERGE).await;
    let status = failed.status.unwrap();
    assert_eq!(status.sha256, None, "an interrupted backup has no checksum");
    let message = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap();
    assert!(message.starts_with("interrupted"), "{message}");
    let left = with_session(move |hv| hv.list_volumes(&backup_pool).unwrap()).await;
    assert!(!left.contains(&data_name), "the partial data was removed: {left:?}");
    let interrupted = run.operator.counter("makonis_compute_backups_total", r#"outcome="interrupted""#).await;
    assert_eq!(interrupted, 1.0, "the new operator counts the interrupted run");

    let machines: Api<VirtualMachine> = Api::namespaced(run.admin.clone(), &namespace);
    machines
        .patch("steady", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})))
        .await
        .expect("touch the guest, so the new operator reconciles it");
    let after = run.machine_until(&namespace, "steady", "the guest to be seen again", CONVERGE, is_running).await;
    assert_eq!(after.status.unwrap().domain_uuid.as_deref(), Some(uuid.as_str()), "the same domain, not a new one");
    let domain = format!("{namespace}.steady");
    let same_name =
        with_session(move |hv| hv.list_managed_domains().unwrap().into_iter().filter(|d| d.name == domain).count())
            .await;
    assert_eq!(same_name, 1, "one domain of that name on the host");

    run.create_in(&namespace, &backup(&run, "again", "big", &pool)).await.expect("create the backup");
    let again = wait_backup(&backups, "again", BackupPhase::Completed, Duration::from_secs(120)).await;
    assert!(again.status.unwrap().sha256.is_some(), "the next backup completes");
    run.finish().await;
}
