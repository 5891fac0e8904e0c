//! The Restore controller, and the restore of a backup into a new volume that the
//! Volume controller uses for `source.backup`.
//!
//! Either way the backup's data is streamed with its SHA-256 computed on the way, and
//! the result is used only when it equals the checksum recorded when the backup
//! completed.

use std::sync::Arc;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{Api, Resource, ResourceExt, api::ObjectMeta, runtime::controller::Action};
use makonis_api::compute::{
    Backup, BackupPhase, HostPool, PowerState as WantedPower, ReclaimPolicy, Restore, RestorePhase, RestoreStatus,
    Volume, VolumePhase, VolumeSource, VolumeSpec,
};
use makonis_operator_kit::{apply::ApiCallError, conditions::DesiredCondition};

use super::{Context, Refusal, status};
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
    status::write(&ctx, &api, &*restore, restore.status.as_ref(), &desired).await?;
    match desired.phase {
        Some(RestorePhase::Completed) => ctx.compute_metrics.record_restore("completed"),
        Some(RestorePhase::Failed) => ctx.compute_metrics.record_restore("failed"),
        _ => {}
    }
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
        let Some(source) = ctx.views.volume(namespace, &backup.spec.volume) else {
            return Ok(Step::Failed(
                "SourceVolumeGone",
                format!(
                    "the backed-up Volume {} no longer exists, so its pool, host and size are unknown; create a Volume with source.backup {} instead",
                    backup.spec.volume,
                    backup.name_any()
                ),
            ));
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
                host: source.status.as_ref().and_then(|s| s.host.clone()),
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

/// Overwrites the backed-up volume, after checking the machine is stopped and the
/// backup still matches its checksum.
async fn in_place(backup: &Backup, namespace: &str, ctx: &Context) -> Result<Step, Error> {
    let Some(volume) = ctx.views.volume(namespace, &backup.spec.volume) else {
        return Ok(Step::Failed(
            "VolumeGone",
            format!("Volume {} no longer exists; restore to a new volume instead", backup.spec.volume),
        ));
    };
    if let Some(machine) = ctx.views.user_of(namespace, &volume.name_any())
        && (machine.spec.power_state != WantedPower::Stopped || !super::machine_facts::is_shut_off(&machine))
    {
        return Ok(Step::Waiting(
            "MachineRunning",
            format!(
                "Volume {} is used by VirtualMachine {}, which must be stopped first: set its spec.powerState to Stopped",
                volume.name_any(),
                machine.name_any()
            ),
        ));
    }
    let volume_status = volume.status.clone().unwrap_or_default();
    let backup_status = backup.status.clone().unwrap_or_default();
    let (Some(host), Some(storage_pool), Some(libvirt_name), Some(location), Some(expected)) = (
        volume_status.host,
        volume_status.storage_pool,
        volume_status.volume_name,
        backup_status.location,
        backup_status.sha256,
    ) else {
        return Ok(Step::Waiting(
            "VolumeNotReady",
            format!("waiting for Volume {} to exist on a host", volume.name_any()),
        ));
    };
    let (Some(pool), Some(backup_pool)) = (ctx.views.pool(&volume.spec.host_pool), ctx.views.pool(&location.host_pool))
    else {
        return Ok(Step::Waiting("HostPoolNotFound", "the volume's or the backup's HostPool does not exist".into()));
    };
    let key = format!("restore/{}", volume.uid().unwrap_or_default());
    if !ctx.jobs.lock().expect("jobs lock").insert(key.clone()) {
        return Ok(Step::Waiting("Restoring", "a restore into this volume is running".into()));
    }
    let result =
        copy_checked(ctx, &backup_pool, &location, &expected, &pool, &host, &storage_pool, &libvirt_name, true).await;
    ctx.jobs.lock().expect("jobs lock").remove(&key);
    Ok(match result? {
        Ok((bytes, sha256)) => Step::Done { volume: volume.name_any(), bytes, sha256 },
        Err((reason, message)) => Step::Failed(reason, message),
    })
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
    let found = ctx
        .views
        .backups
        .state()
        .into_iter()
        .find(|b| b.namespace().as_deref() == Some(namespace) && b.name_any() == backup);
    let status = found.as_ref().and_then(|b| b.status.clone()).unwrap_or_default();
    let (Some(BackupPhase::Completed), Some(location), Some(expected)) = (status.phase, status.location, status.sha256)
    else {
        return Ok(Err(("SourceNotReady", format!("waiting for Backup {backup} to complete"))));
    };
    let Some(backup_pool) = ctx.views.pool(&location.host_pool) else {
        return Ok(Err(("SourceNotReady", format!("waiting for HostPool {}", location.host_pool))));
    };
    match copy_checked(ctx, &backup_pool, &location, &expected, pool, host, storage_pool, libvirt_name, false).await? {
        Ok(_) => {}
        Err(refusal) => return Ok(Err(refusal)),
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

/// Streams the backup's data into `libvirt_name`, replacing it when `replace`, and
/// keeps the result only when its SHA-256 equals `expected`. The backup's own data is
/// checked first when replacing, so a damaged backup never overwrites a volume.
#[allow(clippy::too_many_arguments)]
async fn copy_checked(
    ctx: &Context,
    backup_pool: &HostPool,
    location: &makonis_api::compute::BackupLocation,
    expected: &str,
    pool: &HostPool,
    host: &str,
    storage_pool: &str,
    libvirt_name: &str,
    replace: bool,
) -> Result<Result<(u64, String), Refusal>, Error> {
    let source = ctx.hosts.dedicated(backup_pool, &location.host).await?;
    let target = ctx.hosts.dedicated(pool, host).await?;
    let (location, expected) = (location.clone(), expected.to_string());
    let (storage_pool, libvirt_name) = (storage_pool.to_string(), libvirt_name.to_string());
    let work = move || -> Result<Result<(u64, String), Refusal>, HypervisorError> {
        if replace {
            let checked = hypervisor::checksum_volume(&source, &location.storage_pool, &location.volume_name)?;
            if checked.sha256 != expected {
                return Ok(Err((
                    "ChecksumMismatch",
                    format!(
                        "the backup's data no longer matches its checksum (recorded {expected}, now {}); the volume was left untouched",
                        checked.sha256
                    ),
                )));
            }
            target.delete_volume(&storage_pool, &libvirt_name)?;
        }
        let copied = hypervisor::copy_volume(
            &source,
            &location.storage_pool,
            &location.volume_name,
            &target,
            &storage_pool,
            &libvirt_name,
            &mut |_| {},
        )?;
        if copied.sha256 != expected {
            target.delete_volume(&storage_pool, &libvirt_name)?;
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
