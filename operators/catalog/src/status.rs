//! The ServiceInstance's status from what a reconcile found and did (pure).

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use makonis_api::catalog::{AdmittedPlan, ChildStatus, OutputValue, Phase, ServiceInstance, ServiceInstanceStatus};
use makonis_operator_kit::conditions::{DesiredCondition, merge_conditions};

use crate::decide::Refusal;

/// What a reconcile ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The order was refused; nothing was changed.
    Refused(Refusal),
    /// The resources are applied; their readiness is in `children`.
    Applied {
        /// Every resource with its readiness.
        children: Vec<ObservedChild>,
        /// The rendered outputs.
        outputs: Vec<OutputValue>,
        /// The plan now held.
        admitted: AdmittedPlan,
    },
    /// A step failed (an API error); retried with back-off.
    Failed {
        /// The bounded error category.
        category: &'static str,
        /// The error chain.
        message: String,
    },
    /// The instance is being retired; `retained` are kept.
    Retiring {
        /// The resources that are kept.
        retained: Vec<ChildStatus>,
    },
}

/// One resource as the roll-up sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedChild {
    /// What the status reports about it.
    pub status: ChildStatus,
    /// Whether it failed (rather than still being on its way).
    pub failed: bool,
}

/// For how long after an instance starts provisioning its progress messages ("0 of 1
/// replicas available", "waiting for a volume") are not written: a new instance's
/// resources usually become ready within seconds, and writing every step would double
/// the API writes of an order. Phase changes and errors are always written at once.
pub const PROGRESS_QUIET: Duration = Duration::from_secs(5);

/// How long to hold back writing `desired`: `Some` when it differs from `previous` only
/// in the progress of a provisioning instance (which resource is waited for, and why)
/// and provisioning began less than [`PROGRESS_QUIET`] ago.
pub fn hold_back(
    previous: Option<&ServiceInstanceStatus>,
    desired: &ServiceInstanceStatus,
    now: Timestamp,
) -> Option<Duration> {
    let previous = previous?;
    if previous.phase != Some(Phase::Provisioning) || desired.phase != Some(Phase::Provisioning) {
        return None;
    }
    let without_progress = |status: &ServiceInstanceStatus| {
        let mut status = status.clone();
        status.children.clear();
        for condition in &mut status.conditions {
            condition.message.clear();
        }
        status
    };
    if without_progress(previous) != without_progress(desired) {
        return None;
    }
    let since = previous.conditions.iter().find(|c| c.type_ == "Ready")?.last_transition_time.0;
    let elapsed = Duration::from_secs(now.as_second().saturating_sub(since.as_second()).max(0) as u64);
    PROGRESS_QUIET.checked_sub(elapsed).filter(|left| !left.is_zero())
}

/// The status the instance should have after `outcome`.
pub fn desired_status(instance: &ServiceInstance, outcome: &Outcome, now: Timestamp) -> ServiceInstanceStatus {
    let previous = instance.status.clone().unwrap_or_default();
    let generation = instance.metadata.generation;
    let was_up = matches!(previous.phase, Some(Phase::Ready | Phase::Degraded));
    let same_spec = previous.observed_generation == generation;
    let mut status = ServiceInstanceStatus { observed_generation: generation, ..previous.clone() };
    let (phase, ready, degraded) = match outcome {
        Outcome::Refused(refusal) => {
            let running = previous.admitted.is_some();
            let message = if running {
                format!("The change was not applied; the instance keeps running as before. {}", refusal.message)
            } else {
                refusal.message.clone()
            };
            (
                if running { Phase::Degraded } else { Phase::Failed },
                DesiredCondition::falsy("Ready", refusal.reason, message),
                DesiredCondition::falsy("Degraded", refusal.reason, "The order is refused; nothing was changed."),
            )
        }
        Outcome::Applied { children, outputs, admitted } => {
            status.children = children.iter().map(|c| c.status.clone()).collect();
            status.outputs = outputs.clone();
            status.admitted = Some(admitted.clone());
            let failed: Vec<_> = children.iter().filter(|c| c.failed).map(|c| &c.status).collect();
            let waiting: Vec<_> = children.iter().filter(|c| !c.status.ready).map(|c| &c.status).collect();
            if let Some(first) = failed.first() {
                (
                    if was_up { Phase::Degraded } else { Phase::Failed },
                    DesiredCondition::falsy("Ready", "ResourceFailed", describe(&failed, first)),
                    DesiredCondition::truthy("Degraded", "ResourceFailed", describe(&failed, first)),
                )
            } else if let Some(first) = waiting.first() {
                (
                    if was_up && same_spec { Phase::Degraded } else { Phase::Provisioning },
                    DesiredCondition::falsy("Ready", "Provisioning", describe(&waiting, first)),
                    DesiredCondition::falsy("Degraded", "Provisioning", "The last reconcile succeeded."),
                )
            } else {
                (
                    Phase::Ready,
                    DesiredCondition::truthy("Ready", "Ready", format!("All {} resources are ready.", children.len())),
                    DesiredCondition::falsy("Degraded", "Ready", "The last reconcile succeeded."),
                )
            }
        }
        Outcome::Failed { category, message } => (
            if was_up { Phase::Degraded } else { previous.phase.unwrap_or(Phase::Provisioning) },
            DesiredCondition::falsy(
                "Ready",
                category,
                format!("The last reconcile failed: {message}. It is retried with back-off; see the Events."),
            ),
            DesiredCondition::truthy("Degraded", category, message.clone()),
        ),
        Outcome::Retiring { retained } => {
            status.retained = retained.clone();
            let kept = if retained.is_empty() {
                "Nothing is retained.".to_string()
            } else {
                format!("Kept (labelled makonis.lv/retained=true): {}.", list(retained))
            };
            (
                Phase::Retiring,
                DesiredCondition::falsy("Ready", "Retiring", format!("The instance is being retired. {kept}")),
                DesiredCondition::falsy("Degraded", "Retiring", "Retirement is proceeding."),
            )
        }
    };
    status.phase = Some(phase);
    status.conditions = merge_conditions(&previous.conditions, [ready, degraded], generation, now);
    status
}

/// "Deployment dms: 1 of 2 replicas available (and 1 more not ready: PersistentVolumeClaim dms-data)".
fn describe(children: &[&ChildStatus], first: &ChildStatus) -> String {
    let what = first.message.as_deref().unwrap_or("not ready");
    let more = match children.len() {
        1 => String::new(),
        n => format!(" (and {} more not ready: {})", n - 1, list_refs(&children[1..])),
    };
    format!("{} {}: {what}{more}", first.kind, first.name)
}

fn list(children: &[ChildStatus]) -> String {
    list_refs(&children.iter().collect::<Vec<_>>())
}

fn list_refs(children: &[&ChildStatus]) -> String {
    children.iter().map(|c| format!("{} {}", c.kind, c.name)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use makonis_api::catalog::PlanResources;
    use serde_json::json;

    use super::*;
    use crate::test_support::instance;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn child(name: &str, ready: bool, failed: bool, message: Option<&str>) -> ObservedChild {
        ObservedChild {
            status: ChildStatus {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: name.into(),
                ready,
                message: message.map(Into::into),
            },
            failed,
        }
    }

    fn applied(children: Vec<ObservedChild>) -> Outcome {
        Outcome::Applied {
            children,
            outputs: Vec::new(),
            admitted: AdmittedPlan { plan: "small".into(), resources: PlanResources::default() },
        }
    }

    fn ready(status: &ServiceInstanceStatus) -> (&str, &str, &str) {
        let c = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        (c.status.as_str(), c.reason.as_str(), c.message.as_str())
    }

    #[test]
    fn the_roll_up_names_the_child_that_is_not_ready() {
        let mut web = instance("web", "small", json!({}), 1);
        let waiting = applied(vec![
            child("web", false, false, Some("0 of 2 replicas available, 2 updated")),
            child("web-db", false, false, None),
            child("web-cache", true, false, None),
        ]);
        let status = desired_status(&web, &waiting, at(10));
        assert_eq!(status.phase, Some(Phase::Provisioning));
        assert_eq!(
            ready(&status),
            (
                "False",
                "Provisioning",
                "Deployment web: 0 of 2 replicas available, 2 updated (and 1 more not ready: Deployment web-db)"
            )
        );
        assert_eq!(status.observed_generation, Some(1));
        web.status = Some(status);
        let status = desired_status(&web, &applied(vec![child("web", true, false, None)]), at(20));
        assert_eq!(status.phase, Some(Phase::Ready));
        assert_eq!(ready(&status), ("True", "Ready", "All 1 resources are ready."));
        web.status = Some(status);
        let failed = applied(vec![child("web", false, true, Some("cannot create its Pods: exceeded quota"))]);
        let status = desired_status(&web, &failed, at(30));
        assert_eq!(status.phase, Some(Phase::Degraded), "it was Ready before");
        assert_eq!(
            ready(&status),
            ("False", "ResourceFailed", "Deployment web: cannot create its Pods: exceeded quota")
        );
    }

    #[test]
    fn a_refused_change_keeps_a_running_instance_degraded_not_failed() {
        let refusal = Refusal { reason: "QuotaExceeded", message: "/spec/plan: too big".into() };
        let fresh = instance("web", "big", json!({}), 1);
        let status = desired_status(&fresh, &Outcome::Refused(refusal.clone()), at(10));
        assert_eq!((status.phase, ready(&status).2), (Some(Phase::Failed), "/spec/plan: too big"));
        let mut running = instance("web", "big", json!({}), 1);
        running.status = Some(desired_status(&running, &applied(vec![child("web", true, false, None)]), at(5)));
        let status = desired_status(&running, &Outcome::Refused(refusal), at(10));
        assert_eq!(status.phase, Some(Phase::Degraded));
        assert!(ready(&status).2.starts_with("The change was not applied"), "{}", ready(&status).2);
        assert_eq!(status.admitted.map(|a| a.plan), Some("small".to_string()), "still holds its old plan");
    }

    #[test]
    fn retiring_reports_what_is_kept() {
        let web = instance("web", "small", json!({}), 1);
        let kept = vec![ChildStatus {
            api_version: "v1".into(),
            kind: "PersistentVolumeClaim".into(),
            name: "web-data".into(),
            ready: true,
            message: None,
        }];
        let status = desired_status(&web, &Outcome::Retiring { retained: kept }, at(10));
        assert_eq!(status.phase, Some(Phase::Retiring));
        assert!(
            ready(&status).2.ends_with("Kept (labelled makonis.lv/retained=true): PersistentVolumeClaim web-data.")
        );
    }

    #[test]
    fn progress_messages_wait_for_the_quiet_period_but_phase_changes_do_not() {
        let mut web = instance("web", "small", json!({}), 1);
        let first = applied(vec![child("web", false, false, Some("waiting for a volume"))]);
        web.status = Some(desired_status(&web, &first, at(100)));
        let progress =
            desired_status(&web, &applied(vec![child("web", false, false, Some("0 of 1 replicas"))]), at(102));
        assert_eq!(hold_back(web.status.as_ref(), &progress, at(102)), Some(Duration::from_secs(3)));
        assert_eq!(hold_back(web.status.as_ref(), &progress, at(105)), None, "the quiet period is over");
        let done = desired_status(&web, &applied(vec![child("web", true, false, None)]), at(102));
        assert_eq!(hold_back(web.status.as_ref(), &done, at(102)), None, "Ready is written at once");
        let failed = desired_status(&web, &applied(vec![child("web", false, true, Some("lost"))]), at(102));
        assert_eq!(hold_back(web.status.as_ref(), &failed, at(102)), None, "failures are written at once");
        assert_eq!(hold_back(None, &progress, at(102)), None, "the first status is written at once");
    }

    #[test]
    fn unchanged_outcomes_keep_their_transition_times() {
        let mut web = instance("web", "small", json!({}), 1);
        web.status = Some(desired_status(&web, &applied(vec![child("web", true, false, None)]), at(10)));
        let again = desired_status(&web, &applied(vec![child("web", true, false, None)]), at(99));
        assert_eq!(Some(&again), web.status.as_ref(), "the same outcome gives the same status: no write");
    }
}
