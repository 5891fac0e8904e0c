//! Running the probes: one task per `Probe`, all sharing a bound on runs in flight. Each
//! result goes through the probe's [`Confirmer`]; a confirmed change opens or closes an
//! outage in the ledger and is written to the Probe's status.

use std::{collections::HashMap, sync::Arc, time::Duration};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Resource, ResourceExt, core::DeserializeGuard, runtime::reflector::ObjectRef};
use makonis_api::slo::{Probe, ProbeState as ApiProbeState, ProbeStatus};
use makonis_operator_kit::{
    conditions::{DesiredCondition, merge_conditions},
    status::apply_status_if_changed,
};
use makonis_slo_core::{Confirmer, ProbeState, Transition};
use tokio::{sync::Semaphore, task::JoinHandle, time::MissedTickBehavior};

use crate::{
    caches::decoded,
    context::{Context, MANAGER, ObjectKey},
    probe::ProbeResult,
    spec::{ProbePlan, agency_of, probe_plan, rfc3339},
};

/// An outage open in the ledger when a probe's task starts.
#[derive(Debug, Clone)]
pub struct ResumedOutage {
    /// Its id in the ledger.
    pub id: String,
    /// When it began.
    pub started_at: i64,
}

/// The running probe tasks, by probe.
#[derive(Default)]
pub struct Runners {
    tasks: HashMap<ObjectKey, (Option<i64>, JoinHandle<()>)>,
}

impl Runners {
    /// Starts tasks for new probes, restarts those whose spec changed, and stops those of
    /// deleted probes. `resumed` holds the outages open in the ledger; a started task
    /// takes its probe's.
    pub fn sync(
        &mut self,
        ctx: &Arc<Context>,
        semaphore: &Arc<Semaphore>,
        resumed: &mut HashMap<ObjectKey, ResumedOutage>,
    ) {
        let live: HashMap<ObjectKey, Arc<DeserializeGuard<Probe>>> =
            ctx.caches.probes.state().into_iter().map(|p| (ObjectKey::of(p.as_ref()), p)).collect();
        self.tasks.retain(|key, (generation, task)| {
            // A probe that can no longer be decoded keeps its task (and its outage), with
            // the last spec the engine could read.
            let keep = live.get(key).is_some_and(|p| p.0.is_err() || p.meta().generation == *generation);
            if !keep {
                task.abort();
                if !live.contains_key(key) {
                    ctx.metrics.forget_probe([&agency_of(&key.namespace), &key.namespace, &key.name]);
                    tokio::spawn(close_outage_of_deleted(ctx.clone(), key.clone()));
                }
            }
            keep
        });
        for (key, guarded) in live {
            if self.tasks.contains_key(&key) || guarded.meta().deletion_timestamp.is_some() {
                continue;
            }
            // An undecodable probe's open outage is not orphaned: it stays open.
            let outage = resumed.remove(&key);
            let Some(probe) = decoded(&guarded) else { continue };
            let task = tokio::spawn(run_probe(ctx.clone(), semaphore.clone(), Arc::new(probe.clone()), outage));
            self.tasks.insert(key, (probe.metadata.generation, task));
        }
    }

    /// Stops every task.
    pub fn stop(&mut self) {
        for (_, (_, task)) in self.tasks.drain() {
            task.abort();
        }
    }
}

/// Closes the open outage of a deleted probe now: nothing will confirm its recovery.
async fn close_outage_of_deleted(ctx: Arc<Context>, key: ObjectKey) {
    let now = Timestamp::now().as_millisecond();
    match ctx.ledger.open_outage_of(&key.namespace, &key.name).await {
        Ok(Some(outage)) => match ctx.ledger.close_outage(&outage.id, now).await {
            Ok(()) => {
                ctx.metrics.record_outage(&agency_of(&key.namespace), false);
                tracing::info!(
                    namespace = key.namespace,
                    probe = key.name,
                    "closed the open outage of a deleted probe"
                );
            }
            Err(error) => tracing::warn!(%error, probe = key.name, "cannot close the outage of a deleted probe"),
        },
        Ok(None) => {}
        Err(error) => tracing::warn!(%error, probe = key.name, "cannot look for the outage of a deleted probe"),
    }
}

/// A change of the ledger that the probe's confirmer decided.
#[derive(Debug, Clone)]
enum LedgerWrite {
    /// Open an outage that began at `since`.
    Open { since: i64, cause: String },
    /// Close the open outage at `at`.
    Close { at: i64 },
}

/// Writes the probe's pending ledger changes in order. A write the database refuses
/// stays pending, with those after it, and is tried again after the next run: an outage
/// is recorded late rather than lost.
async fn flush(ctx: &Context, run: &mut ProbeRun) {
    while let Some(write) = run.writes.front().cloned() {
        let written = match write {
            LedgerWrite::Open { since, cause } => ctx
                .ledger
                .open_outage(&run.key.namespace, &run.key.name, &run.agency, since, &cause)
                .await
                .map(|id| run.outage = Some(id)),
            LedgerWrite::Close { at } => match run.outage.clone() {
                Some(id) => ctx.ledger.close_outage(&id, at).await.map(|()| run.outage = None),
                None => Ok(()),
            },
        };
        if let Err(error) = written {
            tracing::error!(%error, probe = run.key.name, pending = run.writes.len(), "the SLA ledger refused a write; trying again after the next run");
            return;
        }
        run.writes.pop_front();
    }
}

/// What one probe's task keeps between runs.
struct ProbeRun {
    writes: std::collections::VecDeque<LedgerWrite>,
    key: ObjectKey,
    agency: String,
    confirmer: Confirmer,
    outage: Option<String>,
    certificate: Option<i64>,
    expiring: bool,
    cause: Option<String>,
    since: Option<i64>,
}

/// Runs one probe until its task is aborted.
async fn run_probe(ctx: Arc<Context>, semaphore: Arc<Semaphore>, probe: Arc<Probe>, resumed: Option<ResumedOutage>) {
    let key = ObjectKey::of(probe.as_ref());
    let plan = match probe_plan(&probe) {
        Ok(mut plan) => {
            plan.spec.guard = ctx.guard_for(&key.namespace);
            plan
        }
        Err(message) => {
            tracing::warn!(namespace = key.namespace, probe = key.name, message, "probe cannot run");
            write_status(&ctx, &probe, invalid_status(&probe, message)).await;
            return;
        }
    };
    // A task restarted for a changed spec continues the outage its predecessor opened.
    let resumed = match resumed {
        Some(outage) => Some(outage),
        None => match ctx.ledger.open_outage_of(&key.namespace, &key.name).await {
            Ok(open) => open.map(|o| ResumedOutage { id: o.id, started_at: o.started_at }),
            Err(error) => {
                tracing::warn!(%error, probe = key.name, "cannot look for an open outage; starting unconfirmed");
                None
            }
        },
    };
    let confirmer = match &resumed {
        Some(outage) => Confirmer::resume_down(plan.failure_threshold, plan.success_threshold, outage.started_at),
        None => Confirmer::new(plan.failure_threshold, plan.success_threshold),
    };
    let mut run = ProbeRun {
        writes: Default::default(),
        agency: agency_of(&key.namespace),
        since: resumed.as_ref().map(|o| o.started_at),
        outage: resumed.map(|o| o.id),
        key,
        confirmer,
        certificate: None,
        expiring: false,
        cause: None,
    };
    let labels = [run.agency.clone(), run.key.namespace.clone(), run.key.name.clone()];
    let labels = [labels[0].as_str(), labels[1].as_str(), labels[2].as_str()];
    ctx.metrics.set_probe_up(labels, state_up(run.confirmer.state()));
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + spread(&run.key, plan.interval), plan.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let result = {
            let Ok(_permit) = semaphore.acquire().await else { return };
            let at = Timestamp::now().as_millisecond();
            (at, ctx.prober.run(&plan.spec).await)
        };
        if observe(&ctx, &probe, &plan, &mut run, result.0, result.1).await {
            ctx.metrics.set_probe_up(labels, state_up(run.confirmer.state()));
            let cached = ctx.caches.probes.get(&ObjectRef::new(&run.key.name).within(&run.key.namespace));
            let latest = cached.as_deref().and_then(decoded).unwrap_or(&probe);
            let status = desired_status(latest, &run);
            write_status(&ctx, latest, status).await;
        }
    }
}

/// Feeds one result to the probe's confirmer and the ledger; returns whether the
/// status should change.
async fn observe(
    ctx: &Context,
    probe: &Probe,
    plan: &ProbePlan,
    run: &mut ProbeRun,
    at: i64,
    result: ProbeResult,
) -> bool {
    let failure = result.failure.as_ref();
    ctx.metrics.record_probe(plan.kind, failure.map(|f| f.category.as_str()), result.latency);
    let cause = failure.map(|f| f.cause.as_str()).unwrap_or_default();
    let before = run.confirmer.state();
    let mut changed = false;
    match run.confirmer.observe(at, result.ok, cause) {
        Transition::Down { since, cause } => {
            run.writes.push_back(LedgerWrite::Open { since, cause: cause.clone() });
            ctx.metrics.record_outage(&run.agency, true);
            tracing::info!(namespace = run.key.namespace, probe = run.key.name, cause, "outage opened");
            ctx.events
                .warning(&probe.object_ref(&()), "TargetDown", "Probe", format!("the target is down: {cause}"))
                .await;
            (run.cause, run.since) = (Some(cause), Some(since));
            ctx.kick.notify_one();
            changed = true;
        }
        Transition::Up { at } => {
            run.writes.push_back(LedgerWrite::Close { at });
            ctx.metrics.record_outage(&run.agency, false);
            tracing::info!(namespace = run.key.namespace, probe = run.key.name, "outage closed");
            ctx.events.normal(&probe.object_ref(&()), "TargetUp", "Probe", "the target answers again".into()).await;
            (run.cause, run.since) = (None, Some(at));
            ctx.kick.notify_one();
            changed = true;
        }
        Transition::None => {
            if before != run.confirmer.state() {
                run.since = Some(at);
                changed = true;
            }
        }
    }
    flush(ctx, run).await;
    if let Some(not_after) = result.certificate_not_after {
        let labels = [run.agency.as_str(), run.key.namespace.as_str(), run.key.name.as_str()];
        ctx.metrics.set_certificate_expiry(labels, not_after);
        if run.certificate != Some(not_after) || run.expiring != result.certificate_expiring {
            (run.certificate, run.expiring) = (Some(not_after), result.certificate_expiring);
            changed = true;
        }
    }
    changed
}

fn state_up(state: ProbeState) -> Option<bool> {
    match state {
        ProbeState::Unknown => None,
        ProbeState::Up => Some(true),
        ProbeState::Down => Some(false),
    }
}

/// A start offset within the interval derived from the probe's name, so that probes
/// created together do not all run in the same instant.
fn spread(key: &ObjectKey, interval: Duration) -> Duration {
    let hash =
        key.namespace.bytes().chain(key.name.bytes()).fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let millis = interval.as_millis().max(1) as u64;
    Duration::from_millis(hash % millis)
}

/// The status a probe should have after `run`'s latest result.
fn desired_status(probe: &Probe, run: &ProbeRun) -> ProbeStatus {
    let state = match run.confirmer.state() {
        ProbeState::Unknown => ApiProbeState::Unknown,
        ProbeState::Up => ApiProbeState::Up,
        ProbeState::Down => ApiProbeState::Down,
    };
    let mut desired = vec![DesiredCondition::truthy("Ready", "Probing", "the probe runs")];
    desired.push(match state {
        ApiProbeState::Up => DesiredCondition::truthy("TargetUp", "Answering", "the target answers as expected"),
        ApiProbeState::Down => DesiredCondition::falsy(
            "TargetUp",
            "TargetDown",
            format!("{}; an outage is open in the SLA ledger", run.cause.as_deref().unwrap_or("down")),
        ),
        ApiProbeState::Unknown => DesiredCondition::falsy("TargetUp", "NotConfirmed", "not confirmed either way yet"),
    });
    if let Some(not_after) = run.certificate {
        let when = rfc3339(not_after).unwrap_or_default();
        desired.push(if run.expiring {
            DesiredCondition::truthy(
                "CertificateExpiring",
                "ExpiresSoon",
                format!("the server's certificate expires {when}: renew it"),
            )
        } else {
            DesiredCondition::falsy(
                "CertificateExpiring",
                "Valid",
                format!("the server's certificate is valid until {when}"),
            )
        });
    }
    ProbeStatus {
        state: Some(state),
        since: run.since.and_then(rfc3339),
        cause: run.cause.clone(),
        certificate_expires: run.certificate.and_then(rfc3339),
        conditions: conditions(probe, desired),
        observed_generation: probe.metadata.generation,
    }
}

fn invalid_status(probe: &Probe, message: String) -> ProbeStatus {
    let desired = [DesiredCondition::falsy("Ready", "InvalidSpec", format!("{message}: fix the Probe"))];
    ProbeStatus {
        state: Some(ApiProbeState::Unknown),
        conditions: conditions(probe, desired),
        observed_generation: probe.metadata.generation,
        ..Default::default()
    }
}

fn conditions(probe: &Probe, desired: impl IntoIterator<Item = DesiredCondition>) -> Vec<Condition> {
    let existing = probe.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    merge_conditions(existing, desired, probe.metadata.generation, k8s_openapi::jiff::Timestamp::now())
}

async fn write_status(ctx: &Context, probe: &Probe, desired: ProbeStatus) {
    let api: Api<Probe> = Api::namespaced(ctx.client.clone(), &probe.namespace().unwrap_or_default());
    if let Err(error) =
        apply_status_if_changed(&api, probe, probe.status.as_ref(), &desired, MANAGER, &ctx.reconcile).await
    {
        tracing::warn!(%error, probe = probe.name_any(), "cannot write the probe's status");
    }
}

#[cfg(test)]
mod tests {
    use makonis_api::slo::{HttpProbe, ProbeSpec as ApiProbeSpec};

    use super::*;

    fn probe() -> Probe {
        let mut probe = Probe::new(
            "dvs",
            ApiProbeSpec {
                instance: Some("dvs".into()),
                http: Some(HttpProbe {
                    url: "https://dvs.lm.apps.makonis.lv/".into(),
                    expected_status: Vec::new(),
                    body_match: None,
                    latency_threshold: None,
                    certificate_expiry_warning_days: 14,
                }),
                tcp: None,
                interval: "30s".into(),
                timeout: "5s".into(),
                failure_threshold: 3,
                success_threshold: 2,
            },
        );
        probe.metadata.generation = Some(2);
        probe
    }

    fn run(confirmer: Confirmer, cause: Option<&str>, certificate: Option<(i64, bool)>) -> ProbeRun {
        ProbeRun {
            writes: Default::default(),
            key: ObjectKey { namespace: "agency-lm".into(), name: "dvs".into() },
            agency: "lm".into(),
            confirmer,
            outage: None,
            certificate: certificate.map(|(at, _)| at),
            expiring: certificate.is_some_and(|(_, expiring)| expiring),
            cause: cause.map(Into::into),
            since: Some(1_795_000_000_000),
        }
    }

    fn condition<'a>(status: &'a ProbeStatus, type_: &str) -> (&'a str, &'a str, &'a str) {
        let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap_or_else(|| panic!("{type_}"));
        (c.status.as_str(), c.reason.as_str(), c.message.as_str())
    }

    #[test]
    fn a_down_target_names_its_cause_and_an_expiring_certificate_warns() {
        let down =
            run(Confirmer::resume_down(3, 2, 1), Some("HTTP 503 (expected 200–399)"), Some((1_796_000_000_000, true)));
        let status = desired_status(&probe(), &down);
        assert_eq!(status.state, Some(ApiProbeState::Down));
        assert_eq!(status.cause.as_deref(), Some("HTTP 503 (expected 200–399)"));
        assert_eq!(status.since.as_deref(), Some("2026-11-18T11:06:40Z"));
        assert_eq!(status.certificate_expires.as_deref(), Some("2026-11-30T00:53:20Z"));
        assert_eq!(condition(&status, "Ready"), ("True", "Probing", "the probe runs"));
        assert_eq!(
            condition(&status, "TargetUp"),
            ("False", "TargetDown", "HTTP 503 (expected 200–399); an outage is open in the SLA ledger")
        );
        assert_eq!(condition(&status, "CertificateExpiring").0, "True");
        assert_eq!(status.observed_generation, Some(2));
    }

    #[test]
    fn an_unconfirmed_target_has_no_certificate_condition_until_one_is_seen() {
        let status = desired_status(&probe(), &run(Confirmer::new(3, 2), None, None));
        assert_eq!(status.state, Some(ApiProbeState::Unknown));
        assert_eq!(condition(&status, "TargetUp").1, "NotConfirmed");
        assert!(status.conditions.iter().all(|c| c.type_ != "CertificateExpiring"));
        let invalid = invalid_status(&probe(), "spec.http.bodyMatch is not a regular expression".into());
        assert_eq!(
            condition(&invalid, "Ready"),
            ("False", "InvalidSpec", "spec.http.bodyMatch is not a regular expression: fix the Probe")
        );
    }

    #[test]
    fn probes_of_one_interval_start_spread_over_it() {
        let interval = Duration::from_secs(30);
        let offsets: std::collections::BTreeSet<Duration> = (0..50)
            .map(|i| spread(&ObjectKey { namespace: "agency-lm".into(), name: format!("p{i}") }, interval))
            .collect();
        assert!(offsets.iter().all(|o| *o < interval));
        assert!(offsets.len() > 40, "distinct start offsets: {}", offsets.len());
    }
}
