//! The BackupPolicy controller: creates a Backup per selected volume at each scheduled
//! time and deletes the backups its retention no longer keeps.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use jiff::{Timestamp, tz::TimeZone};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{
    Api, ResourceExt,
    api::ObjectMeta,
    core::{Selector, SelectorExt},
    runtime::controller::Action,
};
use makonis_api::compute::{Backup, BackupPhase, BackupPolicy, BackupPolicyStatus, BackupSpec, RetentionSpec};
use makonis_operator_kit::{apply::ApiCallError, conditions::DesiredCondition};

use super::{Context, machine_facts::volume_names, status};
use crate::{
    MANAGER,
    error::Error,
    retention::{self, Candidate, Retention, Verdict},
    schedule::Schedule,
};

/// Label on the backups a policy made: the policy's name.
pub const POLICY_LABEL: &str = "compute.makonis.lv/backup-policy";
/// How many failed backups of a policy are kept for diagnosis.
const FAILED_KEPT: usize = 3;

/// Runs what is due, prunes, and reports the next run.
pub async fn reconcile(policy: Arc<BackupPolicy>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = policy.namespace().unwrap_or_default();
    let api: Api<BackupPolicy> = Api::namespaced(ctx.client.clone(), &namespace);
    let previous = policy.status.clone().unwrap_or_default();
    let generation = policy.metadata.generation;
    let invalid = |reason: &'static str, message: String| BackupPolicyStatus {
        conditions: status::conditions(
            &previous.conditions,
            vec![DesiredCondition::falsy("Ready", reason, message)],
            generation,
        ),
        observed_generation: generation,
        ..previous.clone()
    };
    let schedule = match Schedule::parse(&policy.spec.schedule) {
        Ok(schedule) => schedule,
        Err(error) => {
            let desired = invalid("InvalidSchedule", format!("spec.schedule: {error}"));
            status::write(&ctx, &api, &*policy, policy.status.as_ref(), &desired).await?;
            return Ok(Action::await_change());
        }
    };
    let Ok(zone) = TimeZone::get(&policy.spec.time_zone) else {
        let desired =
            invalid("InvalidTimeZone", format!("spec.timeZone: {} is not a known time zone", policy.spec.time_zone));
        status::write(&ctx, &api, &*policy, policy.status.as_ref(), &desired).await?;
        return Ok(Action::await_change());
    };
    let now = Timestamp::now();
    let since = previous
        .last_schedule_time
        .as_ref()
        .or(policy.metadata.creation_timestamp.as_ref())
        .map(|t| Timestamp::from_second(t.0.as_second()).unwrap_or(now))
        .unwrap_or(now);
    let mut last_schedule_time = previous.last_schedule_time.clone();
    let mut message = String::new();
    let due = latest_due(&schedule, since, now, &zone).filter(|_| !policy.spec.suspend);
    if let Some(due) = due {
        let volumes = selected_volumes(&policy, &namespace, &ctx);
        let backups: Api<Backup> = Api::namespaced(ctx.client.clone(), &namespace);
        for volume in &volumes {
            // Named after the run it belongs to: a reconcile that sees the policy before
            // its own status write creates the same names, and nothing runs twice.
            let backup = new_backup(&policy, volume, due);
            match backups.create(&Default::default(), &backup).await {
                Ok(_) => ctx.metrics.record_write(MANAGER, "Backup"),
                Err(kube::Error::Api(response)) if response.code == 409 => {}
                Err(error) => {
                    return Err(ApiCallError {
                        action: "creating",
                        kind: "Backup".into(),
                        name: backup.name_any(),
                        error,
                    }
                    .into());
                }
            }
        }
        message = format!("started {} backups at {now}", volumes.len());
        last_schedule_time =
            Some(Time(k8s_openapi::jiff::Timestamp::from_second(now.as_second()).expect("valid time")));
    }
    let ours: Vec<Arc<Backup>> = ctx
        .views
        .backups_in(&namespace)
        .into_iter()
        .filter(|b| b.spec.policy.as_deref() == Some(&policy.name_any()))
        .collect();
    let doomed = to_delete(&ours, &policy.spec.retention, &zone);
    let backups: Api<Backup> = Api::namespaced(ctx.client.clone(), &namespace);
    for name in &doomed {
        match backups.delete(name, &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(response)) if response.code == 404 => {}
            Err(error) => {
                return Err(
                    ApiCallError { action: "deleting", kind: "Backup".into(), name: name.clone(), error }.into()
                );
            }
        }
    }
    let after =
        last_schedule_time.as_ref().map(|t| Timestamp::from_second(t.0.as_second()).unwrap_or(now)).unwrap_or(since);
    let next = schedule.next_after(after.max(now), &zone);
    let last_successful_time = ours
        .iter()
        .filter(|b| b.status.as_ref().and_then(|s| s.phase) == Some(BackupPhase::Completed))
        .filter_map(|b| b.status.as_ref()?.completion_time.clone())
        .max_by_key(|t| t.0)
        .or(previous.last_successful_time.clone());
    let failed_latest = ours
        .iter()
        .filter_map(|b| Some((b.metadata.creation_timestamp.clone()?, b.status.as_ref()?.phase?, b.name_any())))
        .max_by_key(|(created, _, _)| created.0)
        .filter(|(_, phase, _)| *phase == BackupPhase::Failed);
    let ready = match (&failed_latest, policy.spec.suspend) {
        (_, true) => DesiredCondition::truthy(
            "Ready",
            "Suspended",
            "suspended: no new backups are made; existing ones are pruned",
        ),
        (Some((_, _, name)), false) => DesiredCondition::falsy(
            "Ready",
            "LastRunFailed",
            format!("the latest backup {name} failed; `kubectl describe backup {name}` says why"),
        ),
        (None, false) if message.is_empty() => {
            DesiredCondition::truthy("Ready", "Scheduled", "waiting for the next run")
        }
        (None, false) => DesiredCondition::truthy("Ready", "Scheduled", message),
    };
    let desired = BackupPolicyStatus {
        conditions: status::conditions(&previous.conditions, vec![ready], generation),
        observed_generation: generation,
        last_schedule_time,
        next_schedule_time: next.map(|t| t.to_string()),
        last_successful_time,
        backups: (ours.len() - doomed.len().min(ours.len())) as i32,
    };
    status::write(&ctx, &api, &*policy, policy.status.as_ref(), &desired).await?;
    let wait = next
        .and_then(|t| Duration::try_from(t.duration_since(now)).ok())
        .unwrap_or(ctx.resync)
        .min(ctx.resync)
        .max(Duration::from_secs(1));
    Ok(Action::requeue(wait))
}

/// The newest time the schedule names after `since` and not after `now`: after a pause
/// (the operator was down) only the latest missed run is made.
fn latest_due(schedule: &Schedule, since: Timestamp, now: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
    let mut due = None;
    let mut after = since;
    while let Some(next) = schedule.next_after(after, zone).filter(|next| *next <= now) {
        due = Some(next);
        after = next;
    }
    due
}

/// The volumes the policy selects: every volume of the selected machines, and the
/// selected volumes, each once, by name.
fn selected_volumes(policy: &BackupPolicy, namespace: &str, ctx: &Context) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    if let Some(selector) = policy.spec.virtual_machine_selector.clone().and_then(|s| Selector::try_from(s).ok()) {
        for machine in ctx.views.machines_in(namespace) {
            if selector.matches(machine.labels()) {
                names.extend(volume_names(&machine));
            }
        }
    }
    if let Some(selector) = policy.spec.volume_selector.clone().and_then(|s| Selector::try_from(s).ok()) {
        for volume in ctx.views.volumes_in(namespace) {
            if selector.matches(volume.labels()) {
                names.insert(volume.name_any());
            }
        }
    }
    names
}

/// A Backup of `volume` for the run scheduled at `at`: named
/// `<policy>-<yyyymmddhhmm>-<hash>`, so a run that is retried creates the same names.
fn new_backup(policy: &BackupPolicy, volume: &str, at: Timestamp) -> Backup {
    use sha2::{Digest, Sha256};
    let stamp = at.strftime("%Y%m%d%H%M").to_string();
    let digest = Sha256::digest(format!("{}/{volume}", policy.name_any()));
    let suffix: String = digest.iter().take(3).map(|b| format!("{b:02x}")).collect();
    let prefix: String = policy.name_any().chars().take(63 - stamp.len() - suffix.len() - 2).collect();
    let mut labels = policy.labels().clone();
    labels.insert(POLICY_LABEL.into(), policy.name_any());
    Backup {
        metadata: ObjectMeta {
            name: Some(format!("{}-{stamp}-{suffix}", prefix.trim_end_matches('-'))),
            namespace: policy.namespace(),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        // The policy's target is copied: a backup's spec is immutable, so where its data
        // is written stays known whatever happens to the policy later.
        spec: BackupSpec {
            volume: volume.into(),
            policy: Some(policy.name_any()),
            target: Some(policy.spec.target.clone()),
            verify: policy.spec.verify,
        },
        status: None,
    }
}

/// The backups of a policy to delete: per volume, completed backups the retention does
/// not keep, and failed backups beyond the newest few. Running backups are never
/// touched.
pub fn to_delete(backups: &[Arc<Backup>], retention: &RetentionSpec, zone: &TimeZone) -> Vec<String> {
    let rules = Retention {
        keep_last: retention.keep_last.map(|n| n as u32),
        keep_hourly: retention.keep_hourly.map(|n| n as u32),
        keep_daily: retention.keep_daily.map(|n| n as u32),
        keep_weekly: retention.keep_weekly.map(|n| n as u32),
        keep_monthly: retention.keep_monthly.map(|n| n as u32),
        keep_yearly: retention.keep_yearly.map(|n| n as u32),
    };
    let volumes: BTreeSet<&str> = backups.iter().map(|b| b.spec.volume.as_str()).collect();
    let mut doomed = Vec::new();
    for volume in volumes {
        let of_volume: Vec<&Arc<Backup>> = backups.iter().filter(|b| b.spec.volume == volume).collect();
        let completed: Vec<(String, Timestamp)> = of_volume
            .iter()
            .filter(|b| b.status.as_ref().and_then(|s| s.phase) == Some(BackupPhase::Completed))
            .filter_map(|b| {
                let at = b.status.as_ref()?.completion_time.as_ref()?.0.as_second();
                Some((b.name_any(), Timestamp::from_second(at).ok()?))
            })
            .collect();
        let candidates: Vec<Candidate<'_>> =
            completed.iter().map(|(id, at)| Candidate { id: id.as_str(), at: *at, complete: true }).collect();
        for (id, verdict) in retention::prune(&candidates, &rules, zone) {
            if verdict == Verdict::Remove {
                doomed.push(id);
            }
        }
        let mut failed: Vec<(i64, String)> = of_volume
            .iter()
            .filter(|b| b.status.as_ref().and_then(|s| s.phase) == Some(BackupPhase::Failed))
            .map(|b| (b.metadata.creation_timestamp.as_ref().map_or(0, |t| t.0.as_second()), b.name_any()))
            .collect();
        failed.sort_by(|a, b| b.cmp(a));
        doomed.extend(failed.into_iter().skip(FAILED_KEPT).map(|(_, name)| name));
    }
    doomed
}

#[cfg(test)]
mod tests {
    use makonis_api::compute::BackupStatus;

    use super::*;

    fn backup(name: &str, volume: &str, phase: BackupPhase, at: &str) -> Arc<Backup> {
        let at: k8s_openapi::jiff::Timestamp = at.parse().unwrap();
        let mut b = Backup::new(
            name,
            BackupSpec { volume: volume.into(), policy: Some("p".into()), target: None, verify: true },
        );
        b.metadata.creation_timestamp = Some(Time(at));
        b.status =
            Some(BackupStatus { phase: Some(phase), completion_time: Some(Time(at)), ..BackupStatus::default() });
        Arc::new(b)
    }

    #[test]
    fn retention_applies_per_volume_and_spares_running_backups() {
        let riga = TimeZone::get("Europe/Riga").unwrap();
        let backups = vec![
            backup("a1", "a", BackupPhase::Completed, "2026-11-01T00:30:00Z"),
            backup("a2", "a", BackupPhase::Completed, "2026-11-02T00:30:00Z"),
            backup("a3", "a", BackupPhase::Completed, "2026-11-03T00:30:00Z"),
            backup("a4", "a", BackupPhase::Running, "2026-11-04T00:30:00Z"),
            backup("b1", "b", BackupPhase::Completed, "2026-11-01T00:30:00Z"),
        ];
        let retention = RetentionSpec { keep_last: Some(2), ..RetentionSpec::default() };
        let mut doomed = to_delete(&backups, &retention, &riga);
        doomed.sort();
        assert_eq!(doomed, vec!["a1".to_string()], "b keeps its only backup; a keeps its last two; a4 runs");
    }

    #[test]
    fn daily_retention_counts_riga_days() {
        let riga = TimeZone::get("Europe/Riga").unwrap();
        // 22:30 and 23:30 UTC on 1 November are 00:30 and 01:30 on 2 November in Riga:
        // one Riga day, so keep-daily 2 keeps the later of them and 31 October's.
        let backups = vec![
            backup("oct31", "a", BackupPhase::Completed, "2026-10-31T12:00:00Z"),
            backup("nov2-early", "a", BackupPhase::Completed, "2026-11-01T22:30:00Z"),
            backup("nov2-late", "a", BackupPhase::Completed, "2026-11-01T23:30:00Z"),
        ];
        let retention = RetentionSpec { keep_daily: Some(2), ..RetentionSpec::default() };
        assert_eq!(to_delete(&backups, &retention, &riga), vec!["nov2-early".to_string()]);
    }

    #[test]
    fn only_the_newest_failed_backups_are_kept() {
        let riga = TimeZone::get("Europe/Riga").unwrap();
        let backups: Vec<_> = (1..=5)
            .map(|day| backup(&format!("f{day}"), "a", BackupPhase::Failed, &format!("2026-11-0{day}T01:00:00Z")))
            .collect();
        let retention = RetentionSpec { keep_last: Some(1), ..RetentionSpec::default() };
        let mut doomed = to_delete(&backups, &retention, &riga);
        doomed.sort();
        assert_eq!(doomed, vec!["f1".to_string(), "f2".to_string()]);
    }

    #[test]
    fn after_a_pause_only_the_latest_missed_run_is_due() {
        let riga = TimeZone::get("Europe/Riga").unwrap();
        let nightly = Schedule::parse("30 1 * * *").unwrap();
        let since: Timestamp = "2026-11-20T00:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-11-28T08:00:00Z".parse().unwrap();
        let expected: Timestamp = "2026-11-27T23:30:00Z".parse().unwrap();
        assert_eq!(latest_due(&nightly, since, now, &riga), Some(expected), "01:30 in Riga on 28 November");
        assert_eq!(latest_due(&nightly, expected, now, &riga), None, "that run is done; the next is tomorrow");
    }

    #[test]
    fn scheduled_backup_names_are_stable_and_short() {
        let mut policy = BackupPolicy::new(
            "a-very-long-policy-name-that-goes-on-and-on-for-quite-a-while",
            serde_json::from_value(serde_json::json!({
                "volumeSelector": {}, "schedule": "@daily", "retention": {"keepLast": 1},
                "target": {"hostPool": "p", "host": "h", "storagePool": "backup"}
            }))
            .unwrap(),
        );
        policy.metadata.namespace = Some("agency-vdi".into());
        let at: Timestamp = "2026-11-28T01:30:00Z".parse().unwrap();
        let one = new_backup(&policy, "data", at);
        let again = new_backup(&policy, "data", at);
        let other = new_backup(&policy, "root", at);
        assert_eq!(one.name_any(), again.name_any());
        assert_ne!(one.name_any(), other.name_any());
        assert!(one.name_any().len() <= 63, "{}", one.name_any());
        assert!(one.name_any().contains("202611280130"));
        assert_eq!(one.labels().get(POLICY_LABEL).map(String::as_str), Some(policy.name_any().as_str()));
        assert_eq!(one.spec.target, Some(policy.spec.target.clone()), "the target travels with the backup");
    }
}
