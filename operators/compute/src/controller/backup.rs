//! The Backup controller: one run per Backup, written under a name of its own, verified,
//! and only then marked complete with its manifest written last.
//!
//! The run itself is a task of this process; its status carries this process's
//! `runner` marker. A Backup found `Running` under another runner was interrupted (the
//! operator stopped mid-copy): its partial data is removed and it is marked `Failed`.

use std::sync::Arc;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use makonis_api::compute::{Backup, BackupLocation, BackupPhase, BackupPolicy, BackupStatus, BackupTarget, HostPool};
use makonis_operator_kit::{
    apply::ApiCallError,
    conditions::DesiredCondition,
    error::error_chain,
    finalizers::{add_finalizer, remove_finalizer},
};

use super::{Context, status};
use crate::{
    MANAGER,
    error::Error,
    hypervisor::{self, HypervisorError},
    naming,
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
        if let Some(location) = &current.location {
            delete_data(&ctx, &namespace, &backup, location).await?;
        }
        remove_finalizer(&api, &*backup, FINALIZER, MANAGER, &ctx.metrics).await?;
        return Ok(Action::await_change());
    }
    if add_finalizer(&api, &*backup, FINALIZER, MANAGER, &ctx.metrics).await? {
        return Ok(Action::await_change());
    }
    match current.phase {
        Some(BackupPhase::Completed | BackupPhase::Failed) => Ok(Action::await_change()),
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
            if let Some(location) = &current.location {
                delete_data(&ctx, &namespace, &backup, location).await?;
            }
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
        status.conditions = status::conditions(
            &status.conditions,
            vec![DesiredCondition::falsy("Ready", reason, message)],
            backup.metadata.generation,
        );
        status
    };
    let source = ctx.views.volume(namespace, &backup.spec.volume);
    let Some((source_pool, source_host, source_storage, source_name)) = source.as_ref().and_then(|v| {
        let s = v.status.as_ref()?;
        Some((v.spec.host_pool.clone(), s.host.clone()?, s.storage_pool.clone()?, s.volume_name.clone()?))
    }) else {
        let desired =
            pending("VolumeNotReady", format!("waiting for Volume {} to exist on a host", backup.spec.volume));
        status::write(ctx, api, &**backup, backup.status.as_ref(), &desired).await?;
        return Ok(Action::requeue(RUNNING_RECHECK * 2));
    };
    let target = match target_of(backup, namespace, ctx).await? {
        Ok(target) => target,
        Err(message) => {
            let desired = pending("NoTarget", message);
            status::write(ctx, api, &**backup, backup.status.as_ref(), &desired).await?;
            return Ok(Action::requeue(ctx.resync));
        }
    };
    if target.host == source_host && target.storage_pool == source_storage && target.host_pool == source_pool {
        let desired = finished(
            backup,
            Err(format!(
                "the target is the volume's own storage pool {source_storage} on host {source_host}; a backup must be written to another pool or host"
            )),
        );
        status::write(ctx, api, &**backup, backup.status.as_ref(), &desired).await?;
        return Ok(Action::await_change());
    }
    let (Some(source_hosts), Some(target_hosts)) = (ctx.views.pool(&source_pool), ctx.views.pool(&target.host_pool))
    else {
        let desired =
            pending("HostPoolNotFound", format!("HostPool {} or {} does not exist", source_pool, target.host_pool));
        status::write(ctx, api, &**backup, backup.status.as_ref(), &desired).await?;
        return Ok(Action::requeue(ctx.resync));
    };
    let location = BackupLocation {
        host_pool: target.host_pool.clone(),
        host: target.host.clone(),
        storage_pool: target.storage_pool.clone(),
        volume_name: naming::backup_data_name(namespace, &backup.name_any(), &backup.uid().unwrap_or_default()),
    };
    let machine = ctx.views.user_of(namespace, &backup.spec.volume);
    let running_domain =
        machine.as_ref().and_then(|m| super::machine_facts::running_disk(m, namespace, &backup.spec.volume));
    let mut running = backup.status.clone().unwrap_or_default();
    running.phase = Some(BackupPhase::Running);
    running.runner = Some(ctx.config.runner.clone());
    running.start_time = Some(Time(Timestamp::now()));
    running.location = Some(location.clone());
    running.source_host = Some(source_host.clone());
    running.consistency = Some(match &running_domain {
        Some((domain, _)) => format!("disk snapshot of the running domain {domain}"),
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
        source_pool: source_hosts,
        source_host,
        source_storage,
        source_name,
        target_pool: target_hosts,
        location,
        running_domain,
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

/// The backup's target: its own, or its policy's.
async fn target_of(backup: &Backup, namespace: &str, ctx: &Context) -> Result<Result<BackupTarget, String>, Error> {
    if let Some(target) = &backup.spec.target {
        return Ok(Ok(target.clone()));
    }
    let Some(policy) = &backup.spec.policy else {
        return Ok(Err("the backup has neither spec.target nor spec.policy; set one".into()));
    };
    let policies: Api<BackupPolicy> = Api::namespaced(ctx.client.clone(), namespace);
    match policies.get_opt(policy).await {
        Ok(Some(policy)) => Ok(Ok(policy.spec.target)),
        Ok(None) => Ok(Err(format!("BackupPolicy {policy} does not exist"))),
        Err(error) => {
            Err(ApiCallError { action: "reading", kind: "BackupPolicy".into(), name: policy.clone(), error }.into())
        }
    }
}

/// One run's inputs.
struct Job {
    source_pool: Arc<HostPool>,
    source_host: String,
    source_storage: String,
    source_name: String,
    target_pool: Arc<HostPool>,
    location: BackupLocation,
    running_domain: Option<(String, String)>,
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
        let target = ctx.hosts.dedicated(&self.target_pool, &self.location.host).await.map_err(|e| error_chain(&e))?;
        let location = self.location.clone();
        let manifest = naming::backup_manifest_name(
            &backup.namespace().unwrap_or_default(),
            &backup.name_any(),
            &backup.uid().unwrap_or_default(),
        );
        let copy = {
            let (target, location) = (target.clone(), location.clone());
            move || -> Result<hypervisor::CopyReport, HypervisorError> {
                let frozen = match &self.running_domain {
                    Some((domain, target_dev)) => Some(hypervisor::freeze_disk(&source, domain, target_dev)?),
                    None => None,
                };
                let copied = hypervisor::copy_volume(
                    &source,
                    &self.source_storage,
                    &self.source_name,
                    &target,
                    &location.storage_pool,
                    &location.volume_name,
                    &mut |_| {},
                );
                if let Some(frozen) = frozen {
                    hypervisor::thaw_disk(&source, frozen)?;
                }
                copied
            }
        };
        let copied = blocking(copy).await;
        let copied = match copied {
            Ok(copied) => copied,
            Err(error) => return Err(discard(&target, &location, &manifest, error).await),
        };
        if self.verify {
            mark_verifying(ctx, backup).await;
            let (check, place, expected) = (target.clone(), location.clone(), copied.sha256.clone());
            let verified =
                blocking(move || hypervisor::verify_volume(&check, &place.storage_pool, &place.volume_name, &expected))
                    .await;
            if let Err(error) = verified {
                return Err(discard(&target, &location, &manifest, error).await);
            }
        }
        let text = serde_json::json!({
            "volume": backup.spec.volume,
            "data": location.volume_name,
            "bytes": copied.bytes,
            "sha256": copied.sha256,
            "verified": self.verify,
            "written": Timestamp::now().to_string(),
        })
        .to_string();
        let (writer, place, name) = (target.clone(), location.clone(), manifest.clone());
        let written = blocking(move || {
            let spec = hypervisor::VolumeSpec {
                name: name.clone(),
                capacity_bytes: text.len() as u64,
                format: hypervisor::VolumeFormat::Raw,
                source: hypervisor::VolumeSource::Empty,
            };
            writer.create_volume(&place.storage_pool, &spec)?;
            writer.upload(&place.storage_pool, &name, &mut text.as_bytes()).map(|_| ())
        })
        .await;
        match written {
            Ok(()) => Ok(Done { bytes: copied.bytes, sha256: copied.sha256 }),
            Err(error) => Err(discard(&target, &location, &manifest, error).await),
        }
    }
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
async fn discard(
    target: &Arc<hypervisor::Hypervisor>,
    location: &BackupLocation,
    manifest: &str,
    error: HypervisorError,
) -> String {
    let (target, location, manifest) = (target.clone(), location.clone(), manifest.to_string());
    let _ = blocking(move || {
        target.delete_volume(&location.storage_pool, &manifest)?;
        target.delete_volume(&location.storage_pool, &location.volume_name)
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

/// Removes a backup's data and manifest from its target.
async fn delete_data(ctx: &Context, namespace: &str, backup: &Backup, location: &BackupLocation) -> Result<(), Error> {
    let Some(pool) = ctx.views.pool(&location.host_pool) else {
        return Ok(());
    };
    let manifest = naming::backup_manifest_name(namespace, &backup.name_any(), &backup.uid().unwrap_or_default());
    let location = location.clone();
    ctx.hosts
        .call(&pool, &location.host.clone(), move |hv| {
            hv.delete_volume(&location.storage_pool, &manifest)?;
            hv.delete_volume(&location.storage_pool, &location.volume_name)
        })
        .await
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
