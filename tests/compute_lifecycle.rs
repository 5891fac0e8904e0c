//! Virtual machines and volumes on libvirt's test hypervisor, through the real compute
//! operator on the local control plane: placement with anti-affinity and over-commit,
//! power states, inline disks that follow their machine, quotas, unreachable hosts.

mod support;

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams},
};
use makonis_api::compute::{HostPool, VirtualMachine, VmPhase, Volume, VolumePhase};
use serde_json::json;
use support::{
    CONVERGE,
    compute::{ComputeRun, condition, test_hypervisor_uri},
    wait_until,
};

fn machine(
    run: &ComputeRun,
    name: &str,
    pool: &str,
    vcpus: u32,
    memory: &str,
    extra: serde_json::Value,
) -> VirtualMachine {
    let mut spec = json!({"hostPool": pool, "vcpus": vcpus, "memory": memory});
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        spec[key] = value;
    }
    run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "VirtualMachine",
        "metadata": {"name": name}, "spec": spec
    }))
}

#[tokio::test]
async fn machines_are_placed_apart_started_stopped_and_removed_with_their_inline_disks() {
    let run = ComputeRun::start(300).await;
    let uri = test_hypervisor_uri();
    let small = json!({"vcpus": 4, "memoryBytes": 8u64 << 30});
    let pool = run
        .host_pool(
            "pair",
            json!([
                {"name": "hv-a", "uri": uri, "capacity": small},
                {"name": "hv-b", "uri": uri, "capacity": small}
            ]),
            None,
        )
        .await;
    let pool_name = pool.name_any();
    let namespace = run.agency("pl", |_| ()).await;
    let db = json!({"placement": {"antiAffinityGroup": "db"}, "disks": [{"name": "root", "inline": {"size": "2Gi"}}]});
    for name in ["db-1", "db-2", "db-3"] {
        run.create_in(&namespace, &machine(&run, name, &pool_name, 2, "2Gi", db.clone())).await.expect("create");
    }
    // Two of the three run, one per host; the third waits (which one is a race).
    let machines: Api<VirtualMachine> = Api::namespaced(run.admin.clone(), &namespace);
    let phase = |m: &VirtualMachine| m.status.as_ref().and_then(|s| s.phase);
    let (placed, waiting) = wait_until("two machines to run and one to wait", CONVERGE, || async {
        let all = machines.list(&Default::default()).await.map_err(|e| e.to_string())?.items;
        let (running, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|m| phase(m) == Some(VmPhase::Running));
        match (running.len(), rest.as_slice()) {
            (2, [one]) if phase(one) == Some(VmPhase::Pending) => Ok((running, one.clone())),
            _ => Err(format!("{} running, others {:?}", running.len(), rest.iter().map(phase).collect::<Vec<_>>())),
        }
    })
    .await;
    let host = |m: &VirtualMachine| m.status.as_ref().and_then(|s| s.host.clone()).unwrap();
    assert_ne!(host(&placed[0]), host(&placed[1]), "machines of one anti-affinity group share no host");
    let one = placed[0].clone();
    let first = one.name_any();
    let status = one.status.clone().unwrap();
    assert!(status.domain_uuid.is_some(), "the domain's UUID is reported");
    assert_eq!(status.domain, Some(format!("{namespace}.{first}")));
    let (_, _, why) = condition(&status.conditions, "Scheduled").unwrap();
    assert!(why.contains("after placing"), "the placement says why: {why}");
    let (status, reason, message) = condition(&waiting.status.clone().unwrap().conditions, "Ready").unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("False", "NoHostWithRoom"));
    assert!(message.contains("anti-affinity group \"db\""), "{message}");

    let root = format!("{first}-root");
    let root = root.as_str();
    let volume: Api<Volume> = Api::namespaced(run.admin.clone(), &namespace);
    let disk = volume.get(root).await.expect("the inline disk is a Volume");
    assert_eq!(disk.status.as_ref().and_then(|s| s.phase), Some(VolumePhase::InUse));
    assert_eq!(disk.owner_references()[0].name, first, "the inline disk follows its machine");

    machines
        .patch(&first, &PatchParams::default(), &Patch::Merge(json!({"spec": {"powerState": "Stopped"}})))
        .await
        .unwrap();
    let stopped = run
        .machine_until(&namespace, &first, "the machine to stop", CONVERGE, |m| {
            m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Stopped)
        })
        .await;
    assert_eq!(stopped.status.unwrap().power_state.as_deref(), Some("ShutOff"));

    machines.delete(&first, &DeleteParams::default()).await.unwrap();
    wait_until("the machine and its disk to be gone", CONVERGE, || async {
        let machine_gone = machines.get_opt(&first).await.map_err(|e| e.to_string())?.is_none();
        let disk_gone = volume.get_opt(root).await.map_err(|e| e.to_string())?.is_none();
        if machine_gone && disk_gone {
            Ok(())
        } else {
            Err(format!("machine gone {machine_gone}, disk gone {disk_gone}"))
        }
    })
    .await;
    let running = |m: &VirtualMachine| m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running);
    let third =
        run.machine_until(&namespace, &waiting.name_any(), "the third to take the freed host", CONVERGE, running).await;
    assert_eq!(host(&third), host(&one), "the waiting machine runs where the deleted one was");
    run.finish().await;
}

#[tokio::test]
async fn the_agency_quota_holds_machines_and_volumes_back_with_a_reason() {
    let run = ComputeRun::start(300).await;
    let pool = run.host_pool("quota", json!([{"name": "hv", "uri": test_hypervisor_uri()}]), None).await;
    let namespace = run
        .agency("qt", |agency| {
            agency.spec.quota.cpu = Quantity("4".into());
            agency.spec.quota.memory = Quantity("8Gi".into());
            agency.spec.quota.storage = Quantity("20Gi".into());
        })
        .await;
    run.create_in(&namespace, &machine(&run, "big", &pool.name_any(), 4, "4Gi", json!({}))).await.unwrap();
    run.machine_until(&namespace, "big", "big to run", CONVERGE, |m| {
        m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running)
    })
    .await;
    run.create_in(&namespace, &machine(&run, "one-more", &pool.name_any(), 1, "1Gi", json!({}))).await.unwrap();
    let refused = run
        .machine_until(&namespace, "one-more", "one-more to be held back", CONVERGE, |m| {
            m.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.reason == "QuotaExceeded"))
        })
        .await;
    let status = refused.status.unwrap();
    assert_eq!(status.phase, Some(VmPhase::Pending));
    assert_eq!(status.host, None, "a machine over quota is not placed");
    let (_, _, message) = condition(&status.conditions, "Ready").unwrap();
    assert!(message.contains("needs 1 vCPU but only 0 of the agency's 4 CPU are left"), "{message}");

    let volume: Volume = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume",
        "metadata": {"name": "archive"},
        "spec": {"hostPool": pool.name_any(), "host": "hv", "size": "30Gi"}
    }));
    run.create_in(&namespace, &volume).await.unwrap();
    let held = run
        .volume_until(&namespace, "archive", "the volume to be held back", |v| {
            v.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.reason == "QuotaExceeded"))
        })
        .await;
    let (_, _, message) = condition(&held.status.unwrap().conditions, "Ready").unwrap();
    assert!(message.contains("needs 30 GiB but only 20 GiB of the agency's 20 GiB storage is left"), "{message}");

    let machines: Api<VirtualMachine> = Api::namespaced(run.admin.clone(), &namespace);
    machines.delete("big", &DeleteParams::default()).await.unwrap();
    run.machine_until(&namespace, "one-more", "one-more to run once quota is freed", CONVERGE, |m| {
        m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running)
    })
    .await;
    run.finish().await;
}

#[tokio::test]
async fn an_unreachable_host_gets_no_machines_and_its_machines_say_so() {
    let run = ComputeRun::start(300).await;
    let uri = test_hypervisor_uri();
    let pool = run.host_pool("reach", json!([{"name": "hv", "uri": uri}]), None).await;
    let namespace = run.agency("ur", |_| ()).await;
    run.create_in(&namespace, &machine(&run, "web", &pool.name_any(), 1, "1Gi", json!({}))).await.unwrap();
    run.machine_until(&namespace, "web", "web to run", CONVERGE, |m| {
        m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running)
    })
    .await;
    // Nothing listens on port 1: the host stops answering.
    let pools: Api<HostPool> = Api::all(run.admin.clone());
    let gone = json!({"spec": {"hosts": [{"name": "hv", "uri": "qemu+tcp://127.0.0.1:1/system"}]}});
    pools.patch(&pool.name_any(), &PatchParams::default(), &Patch::Merge(gone)).await.unwrap();
    let lost = run
        .machine_until(&namespace, "web", "web to be marked HostUnreachable", Duration::from_secs(90), |m| {
            m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::HostUnreachable)
        })
        .await;
    assert_eq!(lost.status.as_ref().and_then(|s| s.host.as_deref()), Some("hv"), "it is left where it is");
    let pool = wait_until("the pool to report the host unreachable", CONVERGE, || async {
        let pool = pools.get(&pool.name_any()).await.map_err(|e| e.to_string())?;
        let status = pool.status.clone().unwrap_or_default();
        if status.reachable_count == 0 { Ok(pool) } else { Err(format!("{status:?}")) }
    })
    .await;
    let (ready, reason, _) = condition(&pool.status.clone().unwrap().conditions, "Ready").unwrap();
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "HostUnreachable"));

    run.create_in(&namespace, &machine(&run, "new", &pool.name_any(), 1, "1Gi", json!({}))).await.unwrap();
    let waiting = run
        .machine_until(&namespace, "new", "new to wait", CONVERGE, |m| {
            m.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.reason == "NoHostWithRoom"))
        })
        .await;
    let (_, _, message) = condition(&waiting.status.unwrap().conditions, "Ready").unwrap();
    assert!(message.contains("hv is unreachable"), "{message}");
    // The machines on the lost host are removed from Kubernetes once their domain can be
    // undefined; here the test gives the host back first.
    let back = json!({"spec": {"hosts": [{"name": "hv", "uri": test_hypervisor_uri()}]}});
    pools.patch(&pool.name_any(), &PatchParams::default(), &Patch::Merge(back)).await.unwrap();
    run.finish().await;
}

/// The API server's message for a refused create or update, or a panic if it was not.
fn refusal<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> String {
    match result {
        Err(kube::Error::Api(status)) => status.message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn invalid_specs_are_refused_at_admission_with_the_field_path() {
    let run = ComputeRun::start(300).await;
    let pool = run.host_pool("admit", json!([{"name": "hv", "uri": test_hypervisor_uri()}]), None).await;
    let pool_name = pool.name_any();
    let namespace = run.agency("ad", |_| ()).await;

    let zero = refusal(run.create_in(&namespace, &machine(&run, "zero", &pool_name, 0, "1Gi", json!({}))).await);
    assert!(zero.contains("spec.vcpus"), "{zero}");
    let nowhere = refusal(run.create_in(&namespace, &machine(&run, "lost", "no-such-pool", 1, "1Gi", json!({}))).await);
    assert!(nowhere.contains("spec.hostPool: HostPool no-such-pool does not exist"), "{nowhere}");
    let tier = json!({"disks": [{"name": "root", "inline": {"size": "1Gi", "tier": "gold"}}]});
    let gold = refusal(run.create_in(&namespace, &machine(&run, "gold", &pool_name, 1, "1Gi", tier)).await);
    assert!(
        gold.contains("spec.disks[0].inline.tier: HostPool") && gold.contains("has no storage tier gold"),
        "{gold}"
    );

    let schedule: makonis_api::compute::BackupPolicy = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "BackupPolicy",
        "metadata": {"name": "nightly"},
        "spec": {"volumeSelector": {}, "schedule": "30 25 * * *", "retention": {"keepDaily": 7},
                 "target": {"hostPool": pool_name, "host": "hv", "storagePool": "backup"}}
    }));
    let hour = refusal(run.create_in(&namespace, &schedule).await);
    assert!(hour.contains("spec.schedule: field 2 (hour): 25 is outside 0–23"), "{hour}");

    let data: Volume = run.object(json!({
        "apiVersion": "compute.makonis.lv/v1alpha1", "kind": "Volume",
        "metadata": {"name": "data"}, "spec": {"hostPool": pool_name, "size": "2Gi", "reclaimPolicy": "Delete"}
    }));
    run.create_in(&namespace, &data).await.expect("a valid volume");
    let volumes: Api<Volume> = Api::namespaced(run.admin.clone(), &namespace);
    let shrink = json!({"spec": {"size": "1Gi"}});
    let smaller = refusal(volumes.patch("data", &PatchParams::default(), &Patch::Merge(shrink)).await);
    assert!(smaller.contains("spec.size") && smaller.contains("can grow but not shrink"), "{smaller}");

    let user = json!({"disks": [{"name": "data", "volume": "data"}]});
    run.create_in(&namespace, &machine(&run, "user", &pool_name, 1, "1Gi", user)).await.expect("a valid machine");
    run.machine_until(&namespace, "user", "the machine to run", CONVERGE, |m| {
        m.status.as_ref().and_then(|s| s.phase) == Some(VmPhase::Running)
    })
    .await;
    let in_use = refusal(volumes.delete("data", &DeleteParams::default()).await);
    assert!(in_use.contains("Volume data is used by VirtualMachine user"), "{in_use}");
    assert!(volumes.get_opt("data").await.unwrap().is_some(), "the volume and its data are still there");
    let pools: Api<HostPool> = Api::all(run.admin.clone());
    let held = refusal(pools.delete(&pool_name, &DeleteParams::default()).await);
    assert!(held.contains("still holds 1 virtual machines and 1 volumes"), "{held}");
    run.finish().await;
}
