//! The Restore controller, and the restore of a backup into a new volume that the
//! Volume controller uses for `source.backup`.
//!
//! Either way the backup's data is streamed with its SHA-256 computed on the way, and
//! the result is used only when it equals the checksum recorded when the backup
//! completed. Both ends are found by UID: the backup by its manifest on the hosts (which
//! also holds that checksum), the volume by its own data's name; neither comes from a
//! status.

use std::sync::Arc;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{Api, Resource, ResourceExt, api::ObjectMeta, runtime::controller::Action};
use makonis_api::compute::{
    Backup, BackupPhase, HostPool, PowerState as WantedPower, ReclaimPolicy, Restore, RestorePhase, RestoreStatus,
    Volume, VolumePhase, VolumeSource, VolumeSpec,
};
use makonis_operator_kit::{apply::ApiCallError, conditions::DesiredCondition};

use super::{
    Context, Refusal,
    backup_data::{self, Stored},
    locate::{self, Found},
    machine_facts::{self, AttachedDisk},
    mismatch, status,
};
use crate::{
    MANAGER,
    error::Error,
    hypervisor::{self, HypervisorError, VolumeInfo},
};

/// How often a waiting restore is checked again.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Moves one restore forward.
pub async fn reconcile(restore: Arc<Restore>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = restore.namespace().unwrap_or_default();
    let api: Api<Restore> = Api::namespaced(ctx.client.clone(), &namespace);
    let previous = restore.status.clone().unwrap_or_default();
    if matches!(previous.phase, Some(RestorePhase::Completed | RestorePhase::Failed)) {
        return Ok(Action::await_change());
    }
    let step = advance(&restore, &namespace, &ctx).await?;
    let desired = restore_status(&restore, step);
    // Counted before the status says so: whoever sees the restore end sees it counted.
    match desired.phase {
        Some(RestorePhase::Completed) => ctx.compute_metrics.record_restore("completed"),
        Some(RestorePhase::Failed) => ctx.compute_metrics.record_restore("failed"),
        _ => {}
    }
    status::write(&ctx, &api, &*restore, restore.status.as_ref(), &desired).await?;
    Ok(match desired.phase {
        Some(RestorePhase::Completed | RestorePhase::Failed) => Action::await_change(),
        _ => Action::requeue(RECHECK),
    })
}

/// Where a restore got to.
enum Step {
    Waiting(&'static str, String),
    Failed(&'static str, String),
    Done { volume: String, bytes: u64, sha256: String },
}

async fn advance(restore: &Restore, namespace: &str, ctx: &Context) -> Result<Step, Error> {
    let backups: Api<Backup> = Api::namespaced(ctx.client.clone(), namespace);
    let backup = backups.get_opt(&restore.spec.backup).await.map_err(|error| ApiCallError {
        action: "reading",
        kind: "Backup".into(),
        name: restore.spec.backup.clone(),
        error,
    })?;
    let Some(backup) = backup else {
        return Ok(Step::Waiting("BackupNotFound", format!("Backup {} does not exist", restore.spec.backup)));
    };
    let backup_status = backup.status.clone().unwrap_or_default();
    match backup_status.phase {
        Some(BackupPhase::Completed) => {}
        Some(BackupPhase::Failed) => {
            return Ok(Step::Failed(
                "BackupFailed",
                format!("Backup {} failed and cannot be restored", backup.name_any()),
            ));
        }
        _ => {
            return Ok(Step::Waiting(
                "BackupNotComplete",
                format!("waiting for Backup {} to complete", backup.name_any()),
            ));
        }
    }
    match &restore.spec.target.new_volume {
        Some(name) => to_new_volume(restore, &backup, name, namespace, ctx).await,
        None => in_place(&backup, namespace, ctx).await,
    }
}

/// Creates the new Volume with the backup as its source and follows it.
async fn to_new_volume(
    restore: &Restore,
    backup: &Backup,
    name: &str,
    namespace: &str,
    ctx: &Context,
) -> Result<Step, Error> {
    let existing = ctx.views.volume(namespace, name);
    let Some(volume) = existing else {
        let gone = || {
            Step::Failed(
                "SourceVolumeGone",
                format!(
                    "the backed-up Volume {} no longer exists (or its data is on no host that answers), so its pool, host and size are unknown; create a Volume with source.backup {} and spec.host instead",
                    backup.spec.volume,
                    backup.name_any()
                ),
            )
        };
        let Some((source, pool)) = ctx
            .views
            .volume(namespace, &backup.spec.volume)
            .and_then(|v| Some((ctx.views.pool(&v.spec.host_pool)?, v)))
            .map(|(pool, v)| (v, pool))
        else {
            return Ok(gone());
        };
        let hints = [source.status.as_ref().and_then(|s| s.host.as_deref()), source.spec.host.as_deref()];
        let Found::At(source_host, _) = locate::volume_data(ctx, &pool, &source, &hints).await? else {
            return Ok(gone());
        };
        let volume = Volume {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(namespace.into()),
                owner_references: None,
                labels: Some({
                    let mut labels = restore.labels().clone();
                    labels.insert(makonis_api::labels::MANAGED_BY.into(), MANAGER.into());
                    labels
                }),
                ..ObjectMeta::default()
            },
            spec: VolumeSpec {
                host_pool: source.spec.host_pool.clone(),
                host: Some(source_host),
                size: source.spec.size.clone(),
                tier: source.spec.tier.clone(),
                format: source.spec.format,
                source: Some(VolumeSource { image: None, volume: None, backup: Some(backup.name_any()) }),
                reclaim_policy: ReclaimPolicy::Retain,
            },
            status: None,
        };
        let api: Api<Volume> = Api::namespaced(ctx.client.clone(), namespace);
        match api.create(&Default::default(), &volume).await {
            Ok(_) => {}
            Err(kube::Error::Api(response)) if response.code == 409 => {}
            Err(error) => {
                return Err(ApiCallError { action: "creating", kind: "Volume".into(), name: name.into(), error }.into());
            }
        }
        ctx.events
            .normal(
                &restore.object_ref(&()),
                "VolumeCreated",
                "Restore",
                format!("created Volume {name} from Backup {}", backup.name_any()),
            )
            .await;
        return Ok(Step::Waiting("Restoring", format!("restoring into the new Volume {name}")));
    };
    if volume.spec.source.as_ref().and_then(|s| s.backup.as_deref()) != Some(backup.name_any().as_str()) {
        return Ok(Step::Failed(
            "VolumeExists",
            format!("Volume {name} already exists and is not a restore of {}; choose another name", backup.name_any()),
        ));
    }
    let status = volume.status.clone().unwrap_or_default();
    let message = status.conditions.iter().find(|c| c.type_ == "Ready").map(|c| c.message.clone()).unwrap_or_default();
    Ok(match status.phase {
        Some(VolumePhase::Available | VolumePhase::InUse) => Step::Done {
            volume: name.into(),
            bytes: backup.status.as_ref().and_then(|s| s.bytes).unwrap_or(0) as u64,
            sha256: backup.status.as_ref().and_then(|s| s.sha256.clone()).unwrap_or_default(),
        },
        Some(VolumePhase::Failed) => Step::Failed("VolumeFailed", format!("Volume {name}: {message}")),
        _ => Step::Waiting("Restoring", format!("restoring into Volume {name}: {message}")),
    })
}

/// Overwrites the backed-up volume's own data, after checking that its machine is
/// stopped and that the backup still matches its checksum.
async fn in_place(backup: &Backup, namespace: &str, ctx: &Context) -> Result<Step, Error> {
    let Some(volume) = ctx.views.volume(namespace, &backup.spec.volume) else {
        return Ok(Step::Failed(
            "VolumeGone",
            format!("Volume {} no longer exists; restore to a new volume instead", backup.spec.volume),
        ));
    };
    let user = ctx.views.user_of(namespace, &volume.name_any());
    let must_stop = |machine: &str| {
        Step::Waiting(
            "MachineRunning",
            format!(
                "Volume {} is used by VirtualMachine {machine}, which must be stopped first: set its spec.powerState to Stopped",
                volume.name_any()
            ),
        )
    };
    if let Some(machine) = user.as_ref().filter(|m| m.spec.power_state != WantedPower::Stopped) {
        return Ok(must_stop(&machine.name_any()));
    }
    let Some(pool) = ctx.views.pool(&volume.spec.host_pool) else {
        return Ok(Step::Waiting("HostPoolNotFound", format!("HostPool {} does not exist", volume.spec.host_pool)));
    };
    let hints = [volume.status.as_ref().and_then(|s| s.host.as_deref()), volume.spec.host.as_deref()];
    let Found::At(host, data) = locate::volume_data(ctx, &pool, &volume, &hints).await? else {
        return Ok(Step::Waiting(
            "VolumeNotReady",
            format!("waiting for Volume {}'s data to be found on a host of its pool", volume.name_any()),
        ));
    };
    let Some(stored) = stored_backup(ctx, backup).await? else {
        return Ok(not_stored(backup));
    };
    let key = format!("restore/{}", volume.uid().unwrap_or_default());
    if !ctx.jobs.lock().expect("jobs lock").insert(key.clone()) {
        return Ok(Step::Waiting("Restoring", "a restore into this volume is running".into()));
    }
    let user_name = user.as_ref().map(|m| m.name_any()).unwrap_or_default();
    let running = user.and_then(|m| machine_facts::disk_of(&m, namespace, &volume.name_any()));
    let target = Target { pool: &pool, host: &host, storage_pool: data.storage_pool(), name: data.name() };
    let result = copy_checked(ctx, &stored, target, Some(running)).await;
    ctx.jobs.lock().expect("jobs lock").remove(&key);
    Ok(match result? {
        Ok((bytes, sha256)) => Step::Done { volume: volume.name_any(), bytes, sha256 },
        Err(("MachineRunning", _)) => must_stop(&user_name),
        Err((reason, message)) => Step::Failed(reason, message),
    })
}

/// The backup as found on the hosts, by its manifest; a checksum in its status that is
/// not the manifest's is reported and ignored.
async fn stored_backup(ctx: &Context, backup: &Backup) -> Result<Option<Stored>, Error> {
    let places = backup_data::places(ctx, backup).await?;
    let stored = backup_data::find(ctx, backup, &places).await?;
    if let Some(stored) = &stored {
        let mut mismatches = backup_data::mismatches(backup);
        let recorded = backup.status.as_ref().and_then(|s| s.sha256.as_deref());
        mismatches.extend(mismatch::compare("status.sha256", recorded, Some(&stored.manifest.sha256)));
        mismatch::report(ctx, &backup.object_ref(&()), "Backup", &mismatches).await;
    }
    Ok(stored)
}

/// Why a backup that says it is complete cannot be used.
fn not_stored(backup: &Backup) -> Step {
    Step::Failed(
        "BackupNotFound",
        format!(
            "Backup {} has no manifest of its own at its target (or its target's host does not answer): its data is not there or not complete, and nothing was restored",
            backup.name_any()
        ),
    )
}

/// Where a restore writes: a volume's data, by its computed name.
struct Target<'a> {
    pool: &'a HostPool,
    host: &'a str,
    storage_pool: &'a str,
    name: &'a str,
}

/// Restores a completed backup into a new libvirt volume (the Volume controller's
/// `source.backup`). The inner error is a condition reason and message.
#[allow(clippy::too_many_arguments)]
pub async fn into_new_volume(
    ctx: &Context,
    namespace: &str,
    backup: &str,
    pool: &HostPool,
    host: &str,
    storage_pool: &str,
    libvirt_name: &str,
    size: i64,
) -> Result<Result<VolumeInfo, Refusal>, Error> {
    let found = ctx.views.backup(namespace, backup);
    let complete = found.as_ref().filter(|b| b.status.as_ref().and_then(|s| s.phase) == Some(BackupPhase::Completed));
    let Some(found) = complete else {
        return Ok(Err(("SourceNotReady", format!("waiting for Backup {backup} to complete"))));
    };
    let Some(stored) = stored_backup(ctx, found).await? else {
        return Ok(Err((
            "SourceNotReady",
            format!("Backup {backup} has no manifest of its own at its target yet (or its host does not answer)"),
        )));
    };
    let target = Target { pool, host, storage_pool, name: libvirt_name };
    if let Err(refusal) = copy_checked(ctx, &stored, target, None).await? {
        return Ok(Err(refusal));
    }
    let (p, n) = (storage_pool.to_string(), libvirt_name.to_string());
    let info = ctx
        .hosts
        .call(pool, host, move |hv| {
            let info = hv.find_volume(&p, &n)?;
            match info {
                Some(info) if (info.capacity_bytes as i64) < size => {
                    hv.resize_volume(&p, &n, size as u64, None)?;
                    hv.find_volume(&p, &n)
                }
                other => Ok(other),
            }
        })
        .await?;
    Ok(info.ok_or(("RestoreLost", format!("the restored volume {libvirt_name} vanished from host {host}"))))
}

/// Streams the stored backup's data into `target`'s volume and keeps the result only
/// when its SHA-256 equals the manifest's. With `replace` (a restore in place: the disk
/// that may use the volume) the existing data is replaced, after checking that libvirt
/// does not run that disk's domain and that the backup's own data still matches its
/// checksum, so a damaged backup never overwrites a volume.
async fn copy_checked(
    ctx: &Context,
    stored: &Stored,
    target: Target<'_>,
    replace: Option<Option<AttachedDisk>>,
) -> Result<Result<(u64, String), Refusal>, Error> {
    let source = ctx.hosts.dedicated(&stored.place.pool, &stored.place.host).await?;
    let writer = ctx.hosts.dedicated(target.pool, target.host).await?;
    let (backup_pool, data, expected) =
        (stored.place.storage_pool.clone(), stored.data.clone(), stored.manifest.sha256.clone());
    let (storage_pool, libvirt_name) = (target.storage_pool.to_string(), target.name.to_string());
    let work = move || -> Result<Result<(u64, String), Refusal>, HypervisorError> {
        if let Some(disk) = &replace {
            if let Some(disk) = disk
                && disk.is_running(&writer)?
            {
                return Ok(Err(("MachineRunning", format!("domain {} runs", disk.domain))));
            }
            let checked = hypervisor::checksum_volume(&source, &backup_pool, &data)?;
            if checked.sha256 != expected {
                return Ok(Err((
                    "ChecksumMismatch",
                    format!(
                        "the backup's data no longer matches its checksum (recorded {expected}, now {}); the volume was left untouched",
                        checked.sha256
                    ),
                )));
            }
            writer.delete_volume(&storage_pool, &libvirt_name)?;
        }
        let copied =
            hypervisor::copy_volume(&source, &backup_pool, &data, &writer, &storage_pool, &libvirt_name, &mut |_| {})?;
        if copied.sha256 != expected {
            writer.delete_volume(&storage_pool, &libvirt_name)?;
            return Ok(Err((
                "ChecksumMismatch",
                format!(
                    "the restored data's SHA-256 {} differs from the backup's {expected}; nothing was kept",
                    copied.sha256
                ),
            )));
        }
        Ok(Ok((copied.bytes, copied.sha256)))
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(error) => Err(Error::Task(error.to_string())),
    }
}

fn restore_status(restore: &Restore, step: Step) -> RestoreStatus {
    let previous = restore.status.clone().unwrap_or_default();
    let generation = restore.metadata.generation;
    let (phase, condition, done) = match step {
        Step::Waiting(reason, message) => {
            let phase = if reason == "Restoring" { RestorePhase::Running } else { RestorePhase::Pending };
            (phase, DesiredCondition::falsy("Ready", reason, message), None)
        }
        Step::Failed(reason, message) => {
            (RestorePhase::Failed, DesiredCondition::falsy("Ready", reason, message), None)
        }
        Step::Done { volume, bytes, sha256 } => (
            RestorePhase::Completed,
            DesiredCondition::truthy(
                "Ready",
                "Restored",
                format!("restored {bytes} bytes into Volume {volume}; SHA-256 matches the backup"),
            ),
            Some((volume, bytes, sha256)),
        ),
    };
    let mut status = RestoreStatus {
        phase: Some(phase),
        conditions: status::conditions(&previous.conditions, vec![condition], generation),
        ..previous
    };
    if let Some((volume, bytes, sha256)) = done {
        status.volume = Some(volume);
        status.bytes = Some(bytes as i64);
        status.sha256 = Some(sha256);
        status.completion_time = Some(Time(Timestamp::now()));
    }
    status
}
