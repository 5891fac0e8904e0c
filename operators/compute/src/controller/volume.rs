//! The Volume controller: creates the disk on its host (empty, from an image, as a clone
//! or from a backup), grows it, and removes its data only when asked to.

use std::sync::Arc;

use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::compute::{ReclaimPolicy, Volume, VolumePhase, VolumeStatus};
use makonis_operator_kit::{
    conditions::DesiredCondition,
    error::error_chain,
    finalizers::{add_finalizer, remove_finalizer},
};

use super::{Context, Refusal, status};
use crate::{
    MANAGER,
    error::Error,
    hypervisor::{self, VolumeInfo},
    naming,
    quota::{self, Limits},
};

/// The finalizer that decides what happens to the data when the volume is deleted.
pub const FINALIZER: &str = "compute.makonis.lv/volume-data";

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
    let settled = matches!(outcome.phase, VolumePhase::Available | VolumePhase::InUse);
    let desired = volume_status(&volume, &namespace, &ctx, outcome);
    status::write(&ctx, &api, &*volume, volume.status.as_ref(), &desired).await?;
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(Action::requeue(if settled { ctx.resync } else { std::time::Duration::from_secs(10) }))
}

/// What a pass found.
struct Outcome {
    phase: VolumePhase,
    reason: &'static str,
    message: String,
    host: Option<String>,
    storage_pool: Option<String>,
    info: Option<VolumeInfo>,
}

impl Outcome {
    fn waiting(phase: VolumePhase, reason: &'static str, message: impl Into<String>) -> Self {
        Self { phase, reason, message: message.into(), host: None, storage_pool: None, info: None }
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
    let user = ctx.views.user_of(namespace, &name);
    let previous = volume.status.clone().unwrap_or_default();
    let host = volume
        .spec
        .host
        .clone()
        .or(previous.host.clone())
        .or_else(|| user.as_ref().and_then(|m| m.status.as_ref()?.host.clone()));
    let Some(host) = host else {
        return Ok(Outcome::waiting(
            VolumePhase::Pending,
            "WaitingForPlacement",
            "waiting for the virtual machine that uses it to be placed (or set spec.host)",
        ));
    };
    let Some(tier) = pool.spec.storage_tiers.iter().find(|t| t.name == volume.spec.tier) else {
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
    let storage_pool = tier.storage_pool.clone();
    let libvirt_name =
        naming::volume_name(namespace, &name, &volume.uid().unwrap_or_default(), volume.spec.format.as_str());
    let size = quota::bytes(&volume.spec.size.0).unwrap_or(0) as i64;
    let lookup = libvirt_name.clone();
    let lookup_pool = storage_pool.clone();
    let existing = ctx.hosts.call(&pool, &host, move |hv| hv.find_volume(&lookup_pool, &lookup)).await?;
    let placed = |phase, reason, message: String, info| Outcome {
        phase,
        reason,
        message,
        host: Some(host.clone()),
        storage_pool: Some(storage_pool.clone()),
        info,
    };
    let info = match existing {
        Some(info) => info,
        None => {
            if let Err(message) = claim_storage(ctx, namespace, volume, size).await? {
                return Ok(placed(
                    VolumePhase::Pending,
                    "QuotaExceeded",
                    format!("{message}; free storage or ask for a larger quota"),
                    None,
                ));
            }
            let created = create(volume, namespace, &libvirt_name, &storage_pool, &pool, &host, size, ctx).await;
            if !matches!(created, Ok(Ok(_))) {
                ctx.storage_claims.lock().expect("storage claims lock").remove(&volume.uid().unwrap_or_default());
            }
            match created? {
                Ok(info) => info,
                Err((reason, message)) => {
                    let phase = if reason == "SourceNotReady" { VolumePhase::Pending } else { VolumePhase::Failed };
                    return Ok(placed(phase, reason, message, None));
                }
            }
        }
    };
    let info = if (info.capacity_bytes as i64) < size {
        let attached = user.as_ref().and_then(|machine| super::machine_facts::running_disk(machine, namespace, &name));
        let (pool_name, volume_name) = (storage_pool.clone(), libvirt_name.clone());
        ctx.hosts
            .call(&pool, &host, move |hv| {
                hv.resize_volume(
                    &pool_name,
                    &volume_name,
                    size as u64,
                    attached.as_ref().map(|(d, t)| (d.as_str(), t.as_str())),
                )?;
                hv.find_volume(&pool_name, &volume_name)
            })
            .await?
            .unwrap_or(info)
    } else {
        info
    };
    let (phase, message) = match &user {
        Some(machine) => {
            (VolumePhase::InUse, format!("{} on host {host}, used by {}", volume.spec.size.0, machine.name_any()))
        }
        None => (VolumePhase::Available, format!("{} on host {host}", volume.spec.size.0)),
    };
    Ok(placed(phase, if phase == VolumePhase::InUse { "InUse" } else { "Available" }, message, Some(info)))
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

/// Creates the libvirt volume from the volume's source. The inner error is a condition
/// reason and message (the source is not ready or not usable).
#[allow(clippy::too_many_arguments)]
async fn create(
    volume: &Volume,
    namespace: &str,
    libvirt_name: &str,
    storage_pool: &str,
    pool: &makonis_api::compute::HostPool,
    host: &str,
    size: i64,
    ctx: &Context,
) -> Result<Result<VolumeInfo, Refusal>, Error> {
    let format = super::machine_facts::disk_format(volume.spec.format);
    let source = volume.spec.source.clone().unwrap_or(makonis_api::compute::VolumeSource {
        image: None,
        volume: None,
        backup: None,
    });
    let libvirt_source = if let Some(image) = &source.image {
        hypervisor::VolumeSource::Clone { pool: image.storage_pool.clone(), name: image.name.clone() }
    } else if let Some(other) = &source.volume {
        let other_status = ctx.views.volume(namespace, other).and_then(|v| v.status.clone()).unwrap_or_default();
        match (other_status.host.as_deref(), other_status.storage_pool, other_status.volume_name) {
            (Some(other_host), Some(pool_name), Some(name)) if other_host == host => {
                hypervisor::VolumeSource::Clone { pool: pool_name, name }
            }
            (Some(other_host), _, _) if other_host != host => {
                return Ok(Err((
                    "SourceOnOtherHost",
                    format!("Volume {other} is on host {other_host}; a clone must be on the same host (not {host})"),
                )));
            }
            _ => return Ok(Err(("SourceNotReady", format!("waiting for Volume {other} to be created")))),
        }
    } else if let Some(backup) = &source.backup {
        return super::restore::into_new_volume(ctx, namespace, backup, pool, host, storage_pool, libvirt_name, size)
            .await;
    } else {
        hypervisor::VolumeSource::Empty
    };
    let spec = hypervisor::VolumeSpec {
        name: libvirt_name.to_string(),
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

/// Keeps a volume in use; otherwise removes its data (with `Delete`) or keeps it
/// (`Retain`, saying where), then lets the volume go.
async fn remove(volume: &Volume, api: &Api<Volume>, ctx: &Context) -> Result<Action, Error> {
    let namespace = volume.namespace().unwrap_or_default();
    let name = volume.name_any();
    if let Some(machine) = ctx.views.user_of(&namespace, &name)
        && (machine.metadata.deletion_timestamp.is_none()
            || machine.finalizers().iter().any(|f| f == super::machine_facts::FINALIZER))
    {
        return Ok(Action::requeue(std::time::Duration::from_secs(10)));
    }
    let status = volume.status.clone().unwrap_or_default();
    if let (Some(host), Some(storage_pool), Some(libvirt_name)) = (status.host, status.storage_pool, status.volume_name)
    {
        let reference = volume.object_ref(&());
        match (volume.spec.reclaim_policy, ctx.views.pool(&volume.spec.host_pool)) {
            (ReclaimPolicy::Delete, Some(pool)) => {
                let (p, n) = (storage_pool.clone(), libvirt_name.clone());
                ctx.hosts.call(&pool, &host, move |hv| hv.delete_volume(&p, &n)).await?;
                ctx.events
                    .normal(&reference, "DataDeleted", "Delete", format!("deleted {libvirt_name} from host {host}"))
                    .await;
            }
            _ => {
                ctx.events
                    .normal(
                        &reference,
                        "DataRetained",
                        "Delete",
                        format!(
                            "reclaimPolicy Retain: the data stays on host {host} in storage pool {storage_pool} as {libvirt_name}"
                        ),
                    )
                    .await;
            }
        }
    }
    ctx.storage_claims.lock().expect("storage claims lock").remove(&volume.uid().unwrap_or_default());
    remove_finalizer(api, volume, FINALIZER, MANAGER, &ctx.metrics).await?;
    Ok(Action::await_change())
}

fn volume_status(volume: &Volume, namespace: &str, ctx: &Context, outcome: Outcome) -> VolumeStatus {
    let previous = volume.status.clone().unwrap_or_default();
    let generation = volume.metadata.generation;
    let condition = DesiredCondition {
        type_: "Ready",
        status: matches!(outcome.phase, VolumePhase::Available | VolumePhase::InUse),
        reason: outcome.reason,
        message: outcome.message,
    };
    let info = outcome.info;
    VolumeStatus {
        phase: Some(outcome.phase),
        conditions: status::conditions(&previous.conditions, vec![condition], generation),
        observed_generation: generation,
        host: outcome.host.or(previous.host),
        storage_pool: outcome.storage_pool.or(previous.storage_pool),
        volume_name: info.as_ref().map(|i| i.name.clone()).or(previous.volume_name),
        path: info.as_ref().map(|i| i.path.clone()).or(previous.path),
        capacity_bytes: info.as_ref().map(|i| i.capacity_bytes as i64).or(previous.capacity_bytes),
        allocation_bytes: info.as_ref().map(|i| i.allocation_bytes as i64).or(previous.allocation_bytes),
        used_by: ctx.views.user_of(namespace, &volume.name_any()).map(|m| m.name_any()),
    }
}
