//! The Backup controller: one run per Backup, written under a name of its own, verified,
//! and only then marked complete with its manifest written last.
//!
//! The run itself is a task of this process; its status carries this process's
//! `runner` marker. A Backup found `Running` under another runner was interrupted (the
//! operator stopped mid-copy): its partial data is removed and it is marked `Failed`.
//!
//! The source is the backed-up Volume's data, found by that volume's UID; the target is
//! the backup's own (or its policy's), a storage pool its HostPool offers for backups;
//! the data and manifest are named with the Backup's UID (see [`super::backup_data`]).
//! `status.location` only reports where that is.

use std::sync::Arc;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::compute::{Backup, BackupPhase, BackupStatus, HostPool, VolumePhase};
use makonis_operator_kit::{
    apply::ApiCallError,
    conditions::DesiredCondition,
    error::error_chain,
    finalizers::{add_finalizer, remove_finalizer},
};

use super::{
    Context,
    backup_data::{self, Manifest, Place},
    locate::{self, Found},
    machine_facts::{self, AttachedDisk},
    mismatch, status,
};
use crate::{
    MANAGER,
    error::Error,
    hypervisor::{self, HypervisorError},
};

/// The finalizer that removes a backup's data with the Backup.
pub const FINALIZER: &str = "compute.makonis.lv/backup-data";
/// How often a running backup's object is looked at.
const RUNNING_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Starts, watches over or cleans up one backup.
pub async fn reconcile(backup: Arc<Backup>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = backup.namespace().unwrap_or_default();
    let api: Api<Backup> = Api::namespaced(ctx.client.clone(), &namespace);
    let current = backup.status.clone().unwrap_or_default();
    if backup.metadata.deletion_timestamp.is_some() {
        if ctx.jobs.lock().expect("jobs lock").contains(&backup.uid().unwrap_or_default()) {
            return Ok(Action::requeue(RUNNING_RECHECK));
        }
        mismatch::report(&ctx, &backup.object_ref(&()), "Backup", &backup_data::mismatches(&backup)).await;
        delete_data(&ctx, &backup).await?;
        remove_finalizer(&api, &*backup, FINALIZER, MANAGER, &ctx.metrics).await?;
        return Ok(Action::await_change());
    }
    if add_finalizer(&api, &*backup, FINALIZER, MANAGER, &ctx.metrics).await? {
        return Ok(Action::await_change());
    }
    match current.phase {
        Some(BackupPhase::Completed | BackupPhase::Failed) => {
            check_record(&ctx, &api, &backup).await?;
            Ok(Action::await_change())
        }
        // This process's run: still copying, or its result is on its way to the API server.
        Some(BackupPhase::Running | BackupPhase::Verifying)
            if current.runner.as_deref() == Some(&ctx.config.runner) =>
        {
            Ok(Action::requeue(RUNNING_RECHECK))
        }
        Some(BackupPhase::Running | BackupPhase::Verifying) => {
            // Another process's run. The cache may lag behind its last write: only a run
            // the API server still shows as running was interrupted.
            let fresh = api.get_opt(&backup.name_any()).await.map_err(|error| ApiCallError {
                action: "reading",
                kind: "Backup".into(),
                name: backup.name_any(),
                error,
            })?;
            let still_running = fresh.as_ref().and_then(|b| b.status.as_ref()).is_some_and(|s| {
                matches!(s.phase, Some(BackupPhase::Running | BackupPhase::Verifying)) && s.runner == current.runner
            });
            if !still_running {
                return Ok(Action::await_change());
            }
            delete_data(&ctx, &backup).await?;
            let runner = current.runner.clone().unwrap_or_default();
            let why = format!(
                "interrupted: the operator ({runner}) stopped during the run; the partial data was removed and the backup is not usable. The policy's next run makes a new one."
            );
            ctx.events.warning(&backup.object_ref(&()), "BackupInterrupted", "Backup", why.clone()).await;
            ctx.compute_metrics.record_backup("interrupted", None, 0);
            let failed = finished(&backup, Err(why));
            status::write(&ctx, &api, &*backup, backup.status.as_ref(), &failed).await?;
            Ok(Action::await_change())
        }
        Some(BackupPhase::Pending) | None => start(&backup, &namespace, &api, &ctx).await,
    }
}

/// Resolves the source and target; when both are there, marks the backup `Running`
/// (with this process as its runner) and starts the run.
async fn start(backup: &Arc<Backup>, namespace: &str, api: &Api<Backup>, ctx: &Arc<Context>) -> Result<Action, Error> {
    let pending = |reason: &'static str, message: String| {
        let mut status = backup.status.clone().unwrap_or_default();
        status.phase = Some(BackupPhase::Pending);
        status.location = None;
        status.conditions = status::conditions(
            &status.conditions,
            vec![DesiredCondition::falsy("Ready", reason, message)],
            backup.metadata.generation,
        );
        status
    };
    let not_ready =
        || pending("VolumeNotReady", format!("waiting for Volume {} to exist on a host", backup.spec.volume));
    let Some((source, source_pool)) = ctx
        .views
        .volume(namespace, &backup.spec.volume)
        .filter(|v| {
            matches!(v.status.as_ref().and_then(|s| s.phase), Some(VolumePhase::Available | VolumePhase::InUse))
        })
        .and_then(|v| Some((ctx.views.pool(&v.spec.host_pool)?, v)))
        .map(|(pool, v)| (v, pool))
    else {
        status::write(ctx, api, &**backup, backup.status.as_ref(), &not_ready()).await?;
        return Ok(Action::requeue(RUNNING_RECHECK * 2));
    };
    let hints = [source.status.as_ref().and_then(|s| s.host.as_deref()), source.spec.host.as_deref()];
    let (source_host, source_data) = match locate::volume_data(ctx, &source_pool, &source, &hints).await? {
        Found::At(host, data) => (host, data),
        Found::Nowhere { .. } => {
            status::write(ctx, api, &**backup, backup.status.as_ref(), &not_ready()).await?;
            return Ok(Action::requeue(RUNNING_RECHECK * 2));
        }
    };
    let target = match backup_data::target_of(backup, ctx).await?.and_then(|t| backup_data::place_of(ctx, &t)) {
        Ok(target) => target,
        Err(message) => {
            let desired = pending("NoTarget", message);
            status::write(ctx, api, &**backup, backup.status.as_ref(), &desired).await?;
            return Ok(Action::requeue(ctx.resync));
        }
    };
    if target.host == source_host
        && target.storage_pool == source_data.storage_pool()
        && target.pool.name_any() == source_pool.name_any()
    {
        let desired = finished(
            backup,
            Err(format!(
                "the target is the volume's own storage pool {} on host {source_host}; a backup must be written to another pool or host",
                target.storage_pool
            )),
        );
        status::write(ctx, api, &**backup, backup.status.as_ref(), &desired).await?;
        return Ok(Action::await_change());
    }
    let names = backup_data::names(backup);
    let location = target.location(&names.data);
    let disk = ctx
        .views
        .user_of(namespace, &backup.spec.volume)
        .and_then(|m| machine_facts::disk_of(&m, namespace, &backup.spec.volume));
    let running_disk = match disk {
        Some(disk) => {
            let asked = disk.clone();
            ctx.hosts.call(&source_pool, &source_host, move |hv| asked.is_running(hv)).await?.then_some(disk)
        }
        None => None,
    };
    let mut running = backup.status.clone().unwrap_or_default();
    running.phase = Some(BackupPhase::Running);
    running.runner = Some(ctx.config.runner.clone());
    running.start_time = Some(Time(Timestamp::now()));
    running.location = Some(location.clone());
    running.source_host = Some(source_host.clone());
    running.consistency = Some(match &running_disk {
        Some(disk) => format!("disk snapshot of the running domain {}", disk.domain),
        None => "volume not used by a running machine".into(),
    });
    running.conditions = status::conditions(
        &running.conditions,
        vec![DesiredCondition::falsy(
            "Ready",
            "Running",
            format!("copying to {} on host {}", location.storage_pool, location.host),
        )],
        backup.metadata.generation,
    );
    status::write(ctx, api, &**backup, backup.status.as_ref(), &running).await?;
    ctx.jobs.lock().expect("jobs lock").insert(backup.uid().unwrap_or_default());
    let job = Job {
        source_pool,
        source_host,
        source_storage: source_data.storage_pool().to_string(),
        source_name: source_data.name().to_string(),
        target,
        data: names.data,
        manifest: names.manifest,
        running_disk,
        verify: backup.spec.verify,
    };
    let (ctx, backup) = (ctx.clone(), backup.clone());
    let started = std::time::Instant::now();
    tokio::spawn(async move {
        let result = job.run(&ctx, &backup).await;
        let api: Api<Backup> = Api::namespaced(ctx.client.clone(), &backup.namespace().unwrap_or_default());
        record_result(&ctx, &api, &backup, started.elapsed(), result).await;
        ctx.jobs.lock().expect("jobs lock").remove(&backup.uid().unwrap_or_default());
    });
    Ok(Action::requeue(RUNNING_RECHECK))
}

/// Checks what the status of an ended backup records against the backup itself and,
/// for a completed one, against its manifest on the hosts; reports and corrects what
/// differs. The status is only a report: restores and deletions use the manifest and
/// the backup's own names whatever it says.
async fn check_record(ctx: &Context, api: &Api<Backup>, backup: &Backup) -> Result<(), Error> {
    let recorded = backup.status.clone().unwrap_or_default();
    let mut mismatches = backup_data::mismatches(backup);
    let mut corrected = recorded.clone();
    let names = backup_data::names(backup);
    corrected.location = match (&backup.spec.target, recorded.location.clone()) {
        (Some(target), Some(_)) => backup_data::place_of(ctx, target).ok().map(|p| p.location(&names.data)),
        (None, Some(mut location)) if location.volume_name != names.legacy_data => {
            location.volume_name = names.data.clone();
            Some(location)
        }
        (_, location) => location,
    };
    if recorded.phase == Some(BackupPhase::Completed) {
        let places = backup_data::places(ctx, backup).await?;
        if let Some(stored) = backup_data::find(ctx, backup, &places).await? {
            let manifest = &stored.manifest;
            mismatches.extend(mismatch::compare("status.sha256", recorded.sha256.as_deref(), Some(&manifest.sha256)));
            let bytes = manifest.bytes.to_string();
            mismatches.extend(mismatch::compare(
                "status.bytes",
                recorded.bytes.map(|b| b.to_string()).as_deref(),
                Some(&bytes),
            ));
            corrected.sha256 = Some(manifest.sha256.clone());
            corrected.bytes = Some(manifest.bytes as i64);
            corrected.location = Some(stored.place.location(&stored.data));
        }
    }
    if mismatches.is_empty() {
        return Ok(());
    }
    mismatch::report(ctx, &backup.object_ref(&()), "Backup", &mismatches).await;
    status::write(ctx, api, backup, backup.status.as_ref(), &corrected).await?;
    Ok(())
}

/// One run's inputs.
struct Job {
    source_pool: Arc<HostPool>,
    source_host: String,
    source_storage: String,
    source_name: String,
    target: Place,
    data: String,
    manifest: String,
    running_disk: Option<AttachedDisk>,
    verify: bool,
}

/// What a completed run produced.
struct Done {
    bytes: u64,
    sha256: String,
}

impl Job {
    /// Copies (from a frozen disk when the machine runs), marks the backup `Verifying`,
    /// reads it back, and writes the manifest last. Whatever fails removes what was
    /// written.
    async fn run(self, ctx: &Context, backup: &Backup) -> Result<Done, String> {
        let source = ctx.hosts.dedicated(&self.source_pool, &self.source_host).await.map_err(|e| error_chain(&e))?;
        let target = ctx.hosts.dedicated(&self.target.pool, &self.target.host).await.map_err(|e| error_chain(&e))?;
        let written = Written {
            storage_pool: self.target.storage_pool.clone(),
            data: self.data.clone(),
            manifest: self.manifest.clone(),
        };
        let copy = {
            let (target, written) = (target.clone(), written.clone());
            let (source_storage, source_name, running_disk) =
                (self.source_storage.clone(), self.source_name.clone(), self.running_disk.clone());
            move || -> Result<hypervisor::CopyReport, HypervisorError> {
                // The disk is frozen only if libvirt still runs the machine's own domain.
                let frozen = match &running_disk {
                    Some(disk) if disk.is_running(&source)? => {
                        Some(hypervisor::freeze_disk(&source, &disk.domain, &disk.target)?)
                    }
                    _ => None,
                };
                let copied = hypervisor::copy_volume(
                    &source,
                    &source_storage,
                    &source_name,
                    &target,
                    &written.storage_pool,
                    &written.data,
                    &mut |_| {},
                );
                if let Some(frozen) = frozen {
                    hypervisor::thaw_disk(&source, frozen)?;
                }
                copied
            }
        };
        let copied = match blocking(copy).await {
            Ok(copied) => copied,
            Err(error) => return Err(discard(&target, &written, error).await),
        };
        if self.verify {
            mark_verifying(ctx, backup).await;
            let (check, place, expected) = (target.clone(), written.clone(), copied.sha256.clone());
            let verified =
                blocking(move || hypervisor::verify_volume(&check, &place.storage_pool, &place.data, &expected)).await;
            if let Err(error) = verified {
                return Err(discard(&target, &written, error).await);
            }
        }
        let manifest = Manifest::of(
            backup,
            &written.data,
            copied.bytes,
            &copied.sha256,
            self.verify,
            Timestamp::now().to_string(),
        );
        let text = serde_json::to_string(&manifest).expect("a manifest serialises");
        let (writer, place) = (target.clone(), written.clone());
        let stored = blocking(move || {
            let spec = hypervisor::VolumeSpec {
                name: place.manifest.clone(),
                capacity_bytes: text.len() as u64,
                format: hypervisor::VolumeFormat::Raw,
                source: hypervisor::VolumeSource::Empty,
            };
            writer.create_volume(&place.storage_pool, &spec)?;
            writer.upload(&place.storage_pool, &place.manifest, &mut text.as_bytes()).map(|_| ())
        })
        .await;
        match stored {
            Ok(()) => Ok(Done { bytes: copied.bytes, sha256: copied.sha256 }),
            Err(error) => Err(discard(&target, &written, error).await),
        }
    }
}

/// What a run writes on the target: the data and the manifest, in one storage pool.
#[derive(Clone)]
struct Written {
    storage_pool: String,
    data: String,
    manifest: String,
}

/// Runs a libvirt call on a blocking thread.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, HypervisorError> + Send + 'static,
) -> Result<T, HypervisorError> {
    tokio::task::spawn_blocking(call).await.unwrap_or_else(|e| {
        Err(HypervisorError::Io {
            uri: String::new(),
            volume: String::new(),
            source: std::io::Error::other(format!("the backup task ended abnormally: {e}")),
        })
    })
}

/// Removes what a failed run wrote (a half-written manifest included, so that nothing
/// looks committed) and returns why it failed.
async fn discard(target: &Arc<hypervisor::Hypervisor>, written: &Written, error: HypervisorError) -> String {
    let (target, written) = (target.clone(), written.clone());
    let _ = blocking(move || {
        target.delete_volume(&written.storage_pool, &written.manifest)?;
        target.delete_volume(&written.storage_pool, &written.data)
    })
    .await;
    error_chain(&error)
}

/// Marks the backup `Verifying` (best effort: the outcome is written at the end anyway).
async fn mark_verifying(ctx: &Context, backup: &Backup) {
    let api: Api<Backup> = Api::namespaced(ctx.client.clone(), &backup.namespace().unwrap_or_default());
    let Ok(fresh) = api.get(&backup.name_any()).await else { return };
    let mut status = fresh.status.clone().unwrap_or_default();
    status.phase = Some(BackupPhase::Verifying);
    status.conditions = status::conditions(
        &status.conditions,
        vec![DesiredCondition::falsy("Ready", "Verifying", "reading the backup back to compare its SHA-256")],
        fresh.metadata.generation,
    );
    if let Err(error) = status::write(ctx, &api, &fresh, fresh.status.as_ref(), &status).await {
        tracing::debug!(error = %error_chain(&error), "cannot mark the backup Verifying");
    }
}

/// How often, and how far apart, the end of a run is offered to the API server.
const RESULT_ATTEMPTS: u32 = 12;
const RESULT_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// Records the end of a run: metrics, an Event and the status. The status write is
/// retried: a completed backup whose status stayed `Running` would be taken for an
/// interrupted one by the next operator, and its data removed.
async fn record_result(
    ctx: &Context,
    api: &Api<Backup>,
    backup: &Backup,
    elapsed: std::time::Duration,
    result: Result<Done, String>,
) {
    let reference = backup.object_ref(&());
    let elapsed = Some(elapsed);
    match &result {
        Ok(done) => {
            ctx.compute_metrics.record_backup("completed", elapsed, done.bytes);
            let note = format!("{} bytes, SHA-256 {}", done.bytes, done.sha256);
            ctx.events.normal(&reference, "BackupCompleted", "Backup", note).await;
        }
        Err(why) => {
            ctx.compute_metrics.record_backup("failed", elapsed, 0);
            ctx.events.warning(&reference, "BackupFailed", "Backup", why.clone()).await;
        }
    }
    let outcome = result.map(|done| (done.bytes, done.sha256));
    for attempt in 1..=RESULT_ATTEMPTS {
        match write_result(ctx, api, backup, outcome.clone()).await {
            Ok(()) => return,
            Err(error) => tracing::warn!(
                attempt,
                error = %error_chain(&error),
                backup = %backup.name_any(),
                "cannot record the end of a backup yet; retrying"
            ),
        }
        tokio::time::sleep(RESULT_RETRY).await;
    }
}

async fn write_result(
    ctx: &Context,
    api: &Api<Backup>,
    backup: &Backup,
    result: Result<(u64, String), String>,
) -> Result<(), Error> {
    let fresh = api.get(&backup.name_any()).await.map_err(|error| ApiCallError {
        action: "reading",
        kind: "Backup".into(),
        name: backup.name_any(),
        error,
    })?;
    let desired = finished(&fresh, result);
    status::write(ctx, api, &fresh, fresh.status.as_ref(), &desired).await?;
    Ok(())
}

/// The status of a run that ended: `Completed` with its checksum, or `Failed` with why.
fn finished(backup: &Backup, result: Result<(u64, String), String>) -> BackupStatus {
    let mut status = backup.status.clone().unwrap_or_default();
    let condition = match result {
        Ok((bytes, sha256)) => {
            status.phase = Some(BackupPhase::Completed);
            status.bytes = Some(bytes as i64);
            status.completion_time = Some(Time(Timestamp::now()));
            let message = format!(
                "{bytes} bytes, SHA-256 {}…{}",
                &sha256[..8.min(sha256.len())],
                if backup.spec.verify {
                    ", verified by reading it back"
                } else {
                    ", not verified (spec.verify is false)"
                }
            );
            status.sha256 = Some(sha256);
            DesiredCondition::truthy("Ready", "Completed", message)
        }
        Err(message) => {
            status.phase = Some(BackupPhase::Failed);
            status.sha256 = None;
            DesiredCondition::falsy("Ready", "Failed", message)
        }
    };
    status.conditions = status::conditions(&status.conditions, vec![condition], backup.metadata.generation);
    status
}

/// Removes a backup's data and manifest, under its own names, wherever it may have been
/// written (see [`backup_data::places`]).
async fn delete_data(ctx: &Context, backup: &Backup) -> Result<(), Error> {
    for place in backup_data::places(ctx, backup).await? {
        backup_data::delete(ctx, backup, &place).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use makonis_api::compute::BackupSpec;

    use super::*;

    fn backup() -> Backup {
        let mut backup =
            Backup::new("nightly", BackupSpec { volume: "data".into(), policy: None, target: None, verify: true });
        backup.metadata.generation = Some(1);
        backup
    }

    #[test]
    fn a_failed_run_never_keeps_a_checksum() {
        let mut b = backup();
        b.status = Some(BackupStatus { sha256: Some("ab".into()), ..BackupStatus::default() });
        let status = finished(&b, Err("interrupted".into()));
        assert_eq!(status.phase, Some(BackupPhase::Failed));
        assert_eq!(status.sha256, None);
        assert_eq!(status.conditions[0].status, "False");
    }

    #[test]
    fn a_completed_run_carries_bytes_checksum_and_time() {
        let status = finished(&backup(), Ok((1024, "0123456789abcdef".into())));
        assert_eq!(status.phase, Some(BackupPhase::Completed));
        assert_eq!(status.bytes, Some(1024));
        assert_eq!(status.sha256.as_deref(), Some("0123456789abcdef"));
        assert!(status.completion_time.is_some());
        assert!(status.conditions[0].message.contains("verified by reading it back"));
    }
}
