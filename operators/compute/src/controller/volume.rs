//! The Volume controller: creates the disk on its host (empty, from an image, as a clone
//! or from a backup), grows it, and removes its data only when asked to.
//!
//! The disk is always the libvirt volume named with the Volume's UID in its tier's storage
//! pool (see [`super::locate`]); the status only reports where that is. Images come only
//! from the pool's image storage pools, clones only from another Volume of the namespace
//! found by its own UID.

use std::{sync::Arc, time::Duration};

use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::compute::{HostPool, ReclaimPolicy, Volume, VolumePhase, VolumeStatus};
use makonis_operator_kit::{
    conditions::DesiredCondition,
    error::error_chain,
    finalizers::{add_finalizer, remove_finalizer},
};

use super::{
    Context, Refusal,
    locate::{self, Found, VolumeData},
    machine_facts,
    mismatch::{self, Mismatch},
    status,
};
use crate::{
    MANAGER, allowed,
    error::Error,
    hypervisor::{self, VolumeInfo},
    quota::{self, Limits},
};

/// The finalizer that decides what happens to the data when the volume is deleted.
pub const FINALIZER: &str = "compute.makonis.lv/volume-data";
/// How often a volume whose data cannot be confirmed gone is looked at again.
const UNCONFIRMED_RECHECK: Duration = Duration::from_secs(30);

/// Brings one volume to its spec.
pub async fn reconcile(volume: Arc<Volume>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = volume.namespace().unwrap_or_default();
    let api: Api<Volume> = Api::namespaced(ctx.client.clone(), &namespace);
    if volume.metadata.deletion_timestamp.is_some() {
        return remove(&volume, &api, &ctx).await;
    }
    if add_finalizer(&api, &*volume, FINALIZER, MANAGER, &ctx.metrics).await? {
        return Ok(Action::await_change());
    }
    let (outcome, failure) = match provision(&volume, &namespace, &ctx).await {
        Ok(outcome) => (outcome, None),
        Err(Error::Hypervisor(error)) => {
            // Said on the volume too, so `kubectl get volume` shows what the host answered;
            // the error is still returned, for the Event, the log and the retry.
            let reason = if error.category() == "unreachable" { "HostUnreachable" } else { "HypervisorError" };
            (Outcome::waiting(VolumePhase::Pending, reason, error_chain(&error)), Some(Error::Hypervisor(error)))
        }
        Err(error) => return Err(error),
    };
    mismatch::report(&ctx, &volume.object_ref(&()), "Volume", &outcome.mismatches).await;
    let settled = matches!(outcome.phase, VolumePhase::Available | VolumePhase::InUse);
    let desired = volume_status(&volume, &namespace, &ctx, outcome);
    status::write(&ctx, &api, &*volume, volume.status.as_ref(), &desired).await?;
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(Action::requeue(if settled { ctx.resync } else { Duration::from_secs(10) }))
}

/// What a pass found.
struct Outcome {
    phase: VolumePhase,
    reason: &'static str,
    message: String,
    /// The volume's data and its host, when found.
    data: Option<(String, VolumeData)>,
    /// Recorded status values that are not what was found.
    mismatches: Vec<Mismatch>,
}

impl Outcome {
    fn waiting(phase: VolumePhase, reason: &'static str, message: impl Into<String>) -> Self {
        Self { phase, reason, message: message.into(), data: None, mismatches: Vec::new() }
    }
}

async fn provision(volume: &Volume, namespace: &str, ctx: &Context) -> Result<Outcome, Error> {
    let name = volume.name_any();
    let Some(pool) = ctx.views.pool(&volume.spec.host_pool) else {
        return Ok(Outcome::waiting(
            VolumePhase::Pending,
            "HostPoolNotFound",
            format!("HostPool {} does not exist; create it or correct spec.hostPool", volume.spec.host_pool),
        ));
    };
    let Some(storage_pool) = locate::tier_pool(&pool, volume) else {
        let tiers: Vec<&str> = pool.spec.storage_tiers.iter().map(|t| t.name.as_str()).collect();
        return Ok(Outcome::waiting(
            VolumePhase::Failed,
            "UnknownTier",
            format!(
                "HostPool {} has no storage tier {}; it has {}",
                pool.name_any(),
                volume.spec.tier,
                tiers.join(", ")
            ),
        ));
    };
    let user = ctx.views.user_of(namespace, &name);
    let recorded = volume.status.clone().unwrap_or_default();
    let machine_host = user.as_ref().and_then(|m| placement_of(ctx, m));
    let hints = [recorded.host.as_deref(), volume.spec.host.as_deref(), machine_host.as_deref()];
    let found = locate::volume_data(ctx, &pool, volume, &hints).await?;
    let mismatches = mismatches(&recorded, &locate::volume_names(volume), &storage_pool, &found);
    let (host, data) = match found {
        Found::At(host, data) => (host, data),
        Found::Nowhere { unreachable } => {
            let waiting = |reason, message: String| Outcome {
                mismatches: mismatches.clone(),
                ..Outcome::waiting(VolumePhase::Pending, reason, message)
            };
            let Some(host) = volume.spec.host.clone().or(machine_host) else {
                return Ok(waiting(
                    "WaitingForPlacement",
                    "waiting for the virtual machine that uses it to be placed (or set spec.host)".into(),
                ));
            };
            // Data recorded as made may be on a host that does not answer: never make a
            // second copy of it elsewhere.
            let made = recorded.volume_name.as_ref().is_some_and(|n| locate::volume_names(volume).contains(n));
            let silent = unreachable.iter().find(|h| made || Some(*h) == recorded.host.as_ref() || **h == host);
            if let Some(silent) = silent {
                return Ok(waiting(
                    "HostUnreachable",
                    format!(
                        "host {silent} does not answer and the volume's data may be there; it is looked for again (and created on host {host} if it is on no host)"
                    ),
                ));
            }
            let size = quota::bytes(&volume.spec.size.0).unwrap_or(0) as i64;
            if let Err(message) = claim_storage(ctx, namespace, volume, size).await? {
                return Ok(waiting("QuotaExceeded", format!("{message}; free storage or ask for a larger quota")));
            }
            let created = create(volume, namespace, &storage_pool, &pool, &host, size, ctx).await;
            if !matches!(created, Ok(Ok(_))) {
                ctx.storage_claims.lock().expect("storage claims lock").remove(&volume.uid().unwrap_or_default());
            }
            if let Err((reason, message)) = created? {
                let phase = if reason == "SourceNotReady" { VolumePhase::Pending } else { VolumePhase::Failed };
                return Ok(Outcome { mismatches, ..Outcome::waiting(phase, reason, message) });
            }
            match locate::volume_data(ctx, &pool, volume, &[Some(&host)]).await? {
                Found::At(host, data) => (host, data),
                Found::Nowhere { .. } => {
                    return Ok(Outcome {
                        mismatches,
                        ..Outcome::waiting(
                            VolumePhase::Pending,
                            "HypervisorError",
                            format!("the volume was created on host {host} but is not found there"),
                        )
                    });
                }
            }
        }
    };
    let size = quota::bytes(&volume.spec.size.0).unwrap_or(0) as u64;
    let data = if data.info().capacity_bytes < size {
        grow(ctx, &pool, volume, namespace, user.as_deref(), &host, &data, size).await?
    } else {
        data
    };
    let (phase, message) = match &user {
        Some(machine) => {
            (VolumePhase::InUse, format!("{} on host {host}, used by {}", volume.spec.size.0, machine.name_any()))
        }
        None => (VolumePhase::Available, format!("{} on host {host}", volume.spec.size.0)),
    };
    let reason = if phase == VolumePhase::InUse { "InUse" } else { "Available" };
    Ok(Outcome { phase, reason, message, data: Some((host, data)), mismatches })
}

/// Where the machine `machine` is placed: this process's claim, or its status (a record
/// the machine's controller checks against the hosts and corrects).
fn placement_of(ctx: &Context, machine: &makonis_api::compute::VirtualMachine) -> Option<String> {
    let claimed =
        ctx.claims.lock().expect("claims lock").get(&machine.uid().unwrap_or_default()).map(|c| c.host.clone());
    claimed.or_else(|| machine.status.as_ref().and_then(|s| s.host.clone()))
}

/// The recorded values of `recorded` that what was found contradicts. Found data is the
/// answer for every field; with nothing found, a data name that is not one of `ours`, a
/// storage pool that is not the tier's, and a host (and path) that was searched are wrong.
fn mismatches(
    recorded: &VolumeStatus,
    ours: &[String; 2],
    tier_pool: &str,
    found: &Found<VolumeData>,
) -> Vec<Mismatch> {
    let compare = mismatch::compare;
    match found {
        Found::At(host, data) => [
            compare("status.host", recorded.host.as_deref(), Some(host)),
            compare("status.storagePool", recorded.storage_pool.as_deref(), Some(data.storage_pool())),
            compare("status.volumeName", recorded.volume_name.as_deref(), Some(data.name())),
            compare("status.path", recorded.path.as_deref(), Some(&data.info().path)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Found::Nowhere { unreachable } => {
            let searched = recorded.host.as_ref().is_none_or(|h| !unreachable.contains(h));
            [
                recorded
                    .volume_name
                    .as_deref()
                    .filter(|n| !ours.iter().any(|o| o == n))
                    .and_then(|n| compare("status.volumeName", Some(n), None)),
                compare("status.storagePool", recorded.storage_pool.as_deref(), Some(tier_pool)),
                compare("status.host", recorded.host.as_deref().filter(|_| searched), None),
                compare("status.path", recorded.path.as_deref().filter(|_| searched), None),
            ]
            .into_iter()
            .flatten()
            .collect()
        }
    }
}

/// Grows the volume's data to `size` bytes: online through its machine's domain when
/// libvirt runs that domain (and it is the machine's own), offline otherwise.
#[allow(clippy::too_many_arguments)]
async fn grow(
    ctx: &Context,
    pool: &HostPool,
    volume: &Volume,
    namespace: &str,
    user: Option<&makonis_api::compute::VirtualMachine>,
    host: &str,
    data: &VolumeData,
    size: u64,
) -> Result<VolumeData, Error> {
    let attached = user.and_then(|machine| machine_facts::disk_of(machine, namespace, &volume.name_any()));
    let (storage_pool, name) = (data.storage_pool().to_string(), data.name().to_string());
    ctx.hosts
        .call(pool, host, move |hv| {
            let running = match &attached {
                Some(disk) if disk.is_running(hv)? => Some((disk.domain.as_str(), disk.target.as_str())),
                _ => None,
            };
            hv.resize_volume(&storage_pool, &name, size, running)
        })
        .await?;
    Ok(match locate::volume_data(ctx, pool, volume, &[Some(host)]).await? {
        Found::At(_, grown) => grown,
        Found::Nowhere { .. } => data.clone(),
    })
}

/// Claims `size` bytes of the agency's storage for `volume` before it is created, so
/// that volumes created at the same moment never both take the last of the quota. The
/// inner error says why it does not fit. Namespaces of no agency have no quota.
async fn claim_storage(
    ctx: &Context,
    namespace: &str,
    volume: &Volume,
    size: i64,
) -> Result<Result<(), String>, Error> {
    let Some(agency) = ctx.views.agency_of(namespace) else {
        return Ok(Ok(()));
    };
    let limits = Limits::of(&agency.spec.quota).map_err(Error::Quota)?;
    let _placing = ctx.placing.lock().await;
    let uid = volume.uid().unwrap_or_default();
    let created: Vec<Arc<Volume>> = ctx
        .views
        .volumes_in(namespace)
        .into_iter()
        .filter(|v| v.status.as_ref().is_some_and(|s| s.volume_name.is_some()))
        .collect();
    let mut claims = ctx.storage_claims.lock().expect("storage claims lock");
    claims.retain(|claimed, _| !created.iter().any(|v| v.uid().as_deref() == Some(claimed.as_str())));
    let used: i64 = created
        .iter()
        .filter(|v| v.uid().as_deref() != Some(uid.as_str()))
        .map(|v| quota::bytes(&v.spec.size.0).unwrap_or(0) as i64)
        .chain(claims.iter().filter(|(claimed, (ns, _))| **claimed != uid && ns == namespace).map(|(_, (_, b))| *b))
        .sum();
    if let Err(message) = quota::volume_fits(&limits, used, size) {
        return Ok(Err(message));
    }
    claims.insert(uid, (namespace.to_string(), size));
    Ok(Ok(()))
}

/// Creates the libvirt volume from the volume's source under its computed name. The inner
/// error is a condition reason and message (the source is not ready or not usable).
async fn create(
    volume: &Volume,
    namespace: &str,
    storage_pool: &str,
    pool: &HostPool,
    host: &str,
    size: i64,
    ctx: &Context,
) -> Result<Result<VolumeInfo, Refusal>, Error> {
    let format = machine_facts::disk_format(volume.spec.format);
    let [libvirt_name, _] = locate::volume_names(volume);
    let source = volume.spec.source.clone().unwrap_or(makonis_api::compute::VolumeSource {
        image: None,
        volume: None,
        backup: None,
    });
    let libvirt_source = if let Some(image) = &source.image {
        if let Err(message) = allowed::image(pool, image) {
            return Ok(Err(("ImageNotOffered", format!("spec.source.image.storagePool: {message}"))));
        }
        hypervisor::VolumeSource::Clone { pool: image.storage_pool.clone(), name: image.name.clone() }
    } else if let Some(other) = &source.volume {
        match clone_source(ctx, pool, namespace, other, host).await? {
            Ok((pool, name)) => hypervisor::VolumeSource::Clone { pool, name },
            Err(refusal) => return Ok(Err(refusal)),
        }
    } else if let Some(backup) = &source.backup {
        return super::restore::into_new_volume(ctx, namespace, backup, pool, host, storage_pool, &libvirt_name, size)
            .await;
    } else {
        hypervisor::VolumeSource::Empty
    };
    let spec = hypervisor::VolumeSpec {
        name: libvirt_name.clone(),
        capacity_bytes: size as u64,
        format,
        source: libvirt_source,
    };
    let storage_pool = storage_pool.to_string();
    let info = ctx.hosts.call(pool, host, move |hv| hv.create_volume(&storage_pool, &spec)).await?;
    ctx.events
        .normal(&volume.object_ref(&()), "Created", "Create", format!("created {} on host {host}", info.name))
        .await;
    Ok(Ok(info))
}

/// The storage pool and name of the data of the Volume `other` of `namespace`, to clone
/// on `host`: found by that volume's own UID in `pool`, never by its status.
async fn clone_source(
    ctx: &Context,
    pool: &HostPool,
    namespace: &str,
    other: &str,
    host: &str,
) -> Result<Result<(String, String), Refusal>, Error> {
    let Some(source) = ctx.views.volume(namespace, other) else {
        return Ok(Err(("SourceNotReady", format!("waiting for Volume {other} to exist"))));
    };
    if source.spec.host_pool != pool.name_any() {
        return Ok(Err((
            "SourceOnOtherHost",
            format!(
                "Volume {other} is in HostPool {}, not {}; a clone must be on the same host",
                source.spec.host_pool,
                pool.name_any()
            ),
        )));
    }
    let hints = [Some(host), source.spec.host.as_deref()];
    Ok(match locate::volume_data(ctx, pool, &source, &hints).await? {
        Found::At(found, data) if found == host => Ok((data.storage_pool().to_string(), data.name().to_string())),
        Found::At(found, _) => Err((
            "SourceOnOtherHost",
            format!("Volume {other} is on host {found}; a clone must be on the same host (not {host})"),
        )),
        Found::Nowhere { .. } => Err(("SourceNotReady", format!("waiting for Volume {other} to be created"))),
    })
}

/// Keeps a volume in use; otherwise removes its data (with `Delete`) or keeps it
/// (`Retain`, saying where), then lets the volume go. The data is the one found under the
/// volume's own name; the status names nothing that is deleted.
async fn remove(volume: &Volume, api: &Api<Volume>, ctx: &Context) -> Result<Action, Error> {
    let namespace = volume.namespace().unwrap_or_default();
    let name = volume.name_any();
    if let Some(machine) = ctx.views.user_of(&namespace, &name)
        && (machine.metadata.deletion_timestamp.is_none()
            || machine.finalizers().iter().any(|f| f == machine_facts::FINALIZER))
    {
        return Ok(Action::requeue(Duration::from_secs(10)));
    }
    let reference = volume.object_ref(&());
    if let Some(pool) = ctx.views.pool(&volume.spec.host_pool) {
        let recorded = volume.status.clone().unwrap_or_default();
        let hints = [recorded.host.as_deref(), volume.spec.host.as_deref()];
        let found = locate::volume_data(ctx, &pool, volume, &hints).await?;
        let tier = locate::tier_pool(&pool, volume).unwrap_or_default();
        let mismatches = mismatches(&recorded, &locate::volume_names(volume), &tier, &found);
        mismatch::report(ctx, &reference, "Volume", &mismatches).await;
        match (volume.spec.reclaim_policy, found) {
            (ReclaimPolicy::Delete, Found::At(host, data)) => {
                let (storage_pool, libvirt_name) = (data.storage_pool().to_string(), data.name().to_string());
                ctx.hosts.call(&pool, &host, move |hv| hv.delete_volume(&storage_pool, &libvirt_name)).await?;
                let note = format!("deleted {} from host {host}", data.name());
                ctx.events.normal(&reference, "DataDeleted", "Delete", note).await;
            }
            (ReclaimPolicy::Delete, Found::Nowhere { unreachable }) if !unreachable.is_empty() => {
                let note = format!(
                    "reclaimPolicy Delete: the data is on no host that answers, and {} do not answer; the volume is kept until they do (or are removed from HostPool {})",
                    unreachable.join(", "),
                    pool.name_any()
                );
                ctx.events.warning(&reference, "DataUnconfirmed", "Delete", note).await;
                return Ok(Action::requeue(UNCONFIRMED_RECHECK));
            }
            (ReclaimPolicy::Retain, Found::At(host, data)) => {
                let note = format!(
                    "reclaimPolicy Retain: the data stays on host {host} in storage pool {} as {}",
                    data.storage_pool(),
                    data.name()
                );
                ctx.events.normal(&reference, "DataRetained", "Delete", note).await;
            }
            (_, Found::Nowhere { .. }) => {}
        }
    }
    ctx.storage_claims.lock().expect("storage claims lock").remove(&volume.uid().unwrap_or_default());
    remove_finalizer(api, volume, FINALIZER, MANAGER, &ctx.metrics).await?;
    Ok(Action::await_change())
}

/// The status for `outcome`: where the data is, as found. A recorded value the outcome
/// does not contradict is kept while it cannot be checked (a host does not answer).
fn volume_status(volume: &Volume, namespace: &str, ctx: &Context, outcome: Outcome) -> VolumeStatus {
    let previous = volume.status.clone().unwrap_or_default();
    let generation = volume.metadata.generation;
    let condition = DesiredCondition {
        type_: "Ready",
        status: matches!(outcome.phase, VolumePhase::Available | VolumePhase::InUse),
        reason: outcome.reason,
        message: outcome.message,
    };
    let kept =
        |field: &str, value: Option<String>| value.filter(|_| !outcome.mismatches.iter().any(|m| m.field == field));
    let (host, storage_pool, volume_name, path, capacity, allocation) = match outcome.data {
        Some((host, data)) => (
            Some(host),
            Some(data.storage_pool().to_string()),
            Some(data.name().to_string()),
            Some(data.info().path.clone()),
            Some(data.info().capacity_bytes as i64),
            Some(data.info().allocation_bytes as i64),
        ),
        None => (
            kept("status.host", previous.host),
            kept("status.storagePool", previous.storage_pool),
            kept("status.volumeName", previous.volume_name),
            kept("status.path", previous.path),
            previous.capacity_bytes,
            previous.allocation_bytes,
        ),
    };
    VolumeStatus {
        phase: Some(outcome.phase),
        conditions: status::conditions(&previous.conditions, vec![condition], generation),
        observed_generation: generation,
        host,
        storage_pool,
        volume_name,
        path,
        capacity_bytes: capacity,
        allocation_bytes: allocation,
        used_by: ctx.views.user_of(namespace, &volume.name_any()).map(|m| m.name_any()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    fn ours() -> [String; 2] {
        [format!("agency-a.data.{UID}.raw"), "agency-a.data.0f1e2d3c.raw".to_string()]
    }

    fn forged() -> VolumeStatus {
        VolumeStatus {
            host: Some("kvm".into()),
            storage_pool: Some("disks".into()),
            volume_name: Some("agency-b.precious.11111111-2222-3333-4444-555555555555.raw".into()),
            path: Some("/dev/sda".into()),
            ..VolumeStatus::default()
        }
    }

    fn fields(mismatches: &[Mismatch]) -> Vec<&str> {
        mismatches.iter().map(|m| m.field).collect()
    }

    #[test]
    fn with_nothing_found_a_foreign_name_and_a_searched_host_are_wrong() {
        let nowhere = Found::Nowhere { unreachable: vec!["dead".into()] };
        let found = mismatches(&forged(), &ours(), "disks", &nowhere);
        assert_eq!(fields(&found), ["status.volumeName", "status.host", "status.path"]);
        assert!(found.iter().all(|m| m.actual.is_none()));
        let mut on_silent_host = forged();
        on_silent_host.host = Some("dead".into());
        on_silent_host.volume_name = Some(ours()[0].clone());
        assert_eq!(
            mismatches(&on_silent_host, &ours(), "disks", &nowhere),
            Vec::new(),
            "our own record on a host that does not answer cannot be checked"
        );
        let other_pool = VolumeStatus { storage_pool: Some("images".into()), ..VolumeStatus::default() };
        let wrong_pool = mismatches(&other_pool, &ours(), "disks", &nowhere);
        assert_eq!(wrong_pool[0].actual.as_deref(), Some("disks"));
    }

    #[test]
    fn found_data_is_the_answer_for_every_field() {
        let info = VolumeInfo {
            name: ours()[0].clone(),
            key: "k".into(),
            path: format!("/pools/disks/{}", ours()[0]),
            capacity_bytes: 1 << 20,
            allocation_bytes: 0,
            format: hypervisor::VolumeFormat::Raw,
        };
        let found = Found::At("kvm-2".into(), VolumeData::described("disks", info));
        let wrong = mismatches(&forged(), &ours(), "disks", &found);
        assert_eq!(fields(&wrong), ["status.host", "status.volumeName", "status.path"]);
        assert_eq!(wrong[2].actual.as_deref(), Some(format!("/pools/disks/{}", ours()[0]).as_str()));
    }

    #[test]
    fn an_empty_status_contradicts_nothing() {
        assert!(
            mismatches(&VolumeStatus::default(), &ours(), "disks", &Found::Nowhere { unreachable: vec![] }).is_empty()
        );
    }
}
