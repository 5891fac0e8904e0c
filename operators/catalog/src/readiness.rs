//! Whether one child of an instance is ready, judged from its live object (pure).

use makonis_catalog::render::Readiness;
use serde_json::Value;

/// The state of one child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildState {
    /// It does its job.
    Ready,
    /// It is on its way; the text says what it waits for.
    Pending(String),
    /// It has failed and will not recover by waiting; the text says why.
    Failed(String),
}

/// Judges a child by the rules of its kind; any object whose `status.conditions` has a
/// `Ready` condition is judged by it as well.
pub fn child_state(readiness: Readiness, object: &Value) -> ChildState {
    let by_kind = match readiness {
        Readiness::Exists => ChildState::Ready,
        Readiness::Deployment => deployment(object),
        Readiness::StatefulSet => stateful_set(object),
        Readiness::Bound => claim(object),
        Readiness::Job => job(object),
        Readiness::ReadyCondition => ready_condition(object),
    };
    match (by_kind, condition(object, "Ready")) {
        (ChildState::Ready, Some((status, reason, message))) if status != "True" => {
            ChildState::Pending(format!("{reason}: {message}"))
        }
        (state, _) => state,
    }
}

fn int(object: &Value, pointer: &str) -> Option<i64> {
    object.pointer(pointer).and_then(Value::as_i64)
}

/// `(status, reason, message)` of the condition `type_` in `status.conditions`.
fn condition<'a>(object: &'a Value, type_: &str) -> Option<(&'a str, &'a str, &'a str)> {
    object.pointer("/status/conditions")?.as_array()?.iter().find(|c| c["type"] == type_).map(|c| {
        (
            c["status"].as_str().unwrap_or("Unknown"),
            c["reason"].as_str().unwrap_or(""),
            c["message"].as_str().unwrap_or(""),
        )
    })
}

fn not_observed_yet(object: &Value) -> bool {
    int(object, "/status/observedGeneration").unwrap_or(0) < int(object, "/metadata/generation").unwrap_or(0)
}

fn deployment(object: &Value) -> ChildState {
    if let Some(("True", _, message)) = condition(object, "ReplicaFailure") {
        return ChildState::Failed(format!("cannot create its Pods: {message}"));
    }
    if let Some(("False", "ProgressDeadlineExceeded", message)) = condition(object, "Progressing") {
        return ChildState::Failed(format!("rollout stalled: {message}"));
    }
    if not_observed_yet(object) {
        return ChildState::Pending("the change is not rolled out yet".into());
    }
    let wanted = int(object, "/spec/replicas").unwrap_or(1);
    let updated = int(object, "/status/updatedReplicas").unwrap_or(0);
    let available = int(object, "/status/availableReplicas").unwrap_or(0);
    if updated >= wanted && available >= wanted {
        ChildState::Ready
    } else {
        ChildState::Pending(format!("{available} of {wanted} replicas available, {updated} updated"))
    }
}

fn stateful_set(object: &Value) -> ChildState {
    if not_observed_yet(object) {
        return ChildState::Pending("the change is not rolled out yet".into());
    }
    let wanted = int(object, "/spec/replicas").unwrap_or(1);
    let ready = int(object, "/status/readyReplicas").unwrap_or(0);
    let current = object.pointer("/status/currentRevision").and_then(Value::as_str);
    let update = object.pointer("/status/updateRevision").and_then(Value::as_str);
    if ready >= wanted && (update.is_none() || current == update) {
        ChildState::Ready
    } else {
        ChildState::Pending(format!("{ready} of {wanted} replicas ready"))
    }
}

fn claim(object: &Value) -> ChildState {
    match object.pointer("/status/phase").and_then(Value::as_str) {
        Some("Bound") => ChildState::Ready,
        Some("Lost") => ChildState::Failed("its volume is lost".into()),
        _ => ChildState::Pending("waiting for a volume to be provisioned and bound".into()),
    }
}

/// A Mākonis kind (a virtual machine, a volume, a backup policy): ready when its `Ready`
/// condition is `True` for the current generation. Otherwise the condition's message is
/// what the user reads (e.g. "no host can take 8 vCPU …"); a `Failed` phase will not
/// recover by waiting.
fn ready_condition(object: &Value) -> ChildState {
    let Some((status, reason, message)) = condition(object, "Ready") else {
        return ChildState::Pending("no Ready condition reported yet".into());
    };
    let why = if message.is_empty() { reason } else { message };
    if object.pointer("/status/phase").and_then(Value::as_str) == Some("Failed") {
        return ChildState::Failed(why.to_string());
    }
    if not_observed_yet(object) {
        return ChildState::Pending("the change is not applied yet".into());
    }
    match status {
        "True" => ChildState::Ready,
        _ if why.is_empty() => ChildState::Pending("not ready yet".into()),
        _ => ChildState::Pending(why.to_string()),
    }
}

fn job(object: &Value) -> ChildState {
    if let Some(("True", reason, message)) = condition(object, "Failed") {
        return ChildState::Failed(format!("{reason}: {message}"));
    }
    match condition(object, "Complete") {
        Some(("True", _, _)) => ChildState::Ready,
        _ => ChildState::Pending("not complete yet".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn deployment_is_ready_when_every_replica_of_the_generation_is_available() {
        let mut d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 1}});
        assert_eq!(
            child_state(Readiness::Deployment, &d),
            ChildState::Pending("1 of 2 replicas available, 2 updated".into())
        );
        d["status"]["availableReplicas"] = json!(2);
        assert_eq!(child_state(Readiness::Deployment, &d), ChildState::Ready);
        d["metadata"]["generation"] = json!(3);
        assert!(matches!(child_state(Readiness::Deployment, &d), ChildState::Pending(_)));
    }

    #[test]
    fn deployment_failures_carry_the_reason() {
        let d = json!({"spec": {"replicas": 1}, "status": {"conditions": [
            {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
             "message": "pods \"x\" is forbidden: exceeded quota: agency"}]}});
        assert_eq!(
            child_state(Readiness::Deployment, &d),
            ChildState::Failed("cannot create its Pods: pods \"x\" is forbidden: exceeded quota: agency".into())
        );
        let d = json!({"status": {"conditions": [{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"x\" has timed out progressing."}]}});
        assert!(
            matches!(child_state(Readiness::Deployment, &d), ChildState::Failed(m) if m.starts_with("rollout stalled"))
        );
    }

    #[test]
    fn stateful_set_needs_ready_replicas_of_the_current_revision() {
        let s = json!({"spec": {"replicas": 1}, "status": {"readyReplicas": 1, "currentRevision": "a", "updateRevision": "b"}});
        assert!(matches!(child_state(Readiness::StatefulSet, &s), ChildState::Pending(_)));
        let s = json!({"spec": {"replicas": 1}, "status": {"readyReplicas": 1, "currentRevision": "b", "updateRevision": "b"}});
        assert_eq!(child_state(Readiness::StatefulSet, &s), ChildState::Ready);
    }

    #[test]
    fn claims_jobs_and_ready_conditions() {
        assert_eq!(child_state(Readiness::Bound, &json!({"status": {"phase": "Bound"}})), ChildState::Ready);
        assert!(matches!(
            child_state(Readiness::Bound, &json!({"status": {"phase": "Pending"}})),
            ChildState::Pending(_)
        ));
        assert!(matches!(child_state(Readiness::Bound, &json!({"status": {"phase": "Lost"}})), ChildState::Failed(_)));
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}});
        assert_eq!(
            child_state(Readiness::Job, &failed),
            ChildState::Failed("BackoffLimitExceeded: Job has reached the specified backoff limit".into())
        );
        let not_ready = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Placing", "message": "no host has room"}]}});
        assert_eq!(child_state(Readiness::Exists, &not_ready), ChildState::Pending("Placing: no host has room".into()));
        assert_eq!(child_state(Readiness::Exists, &json!({})), ChildState::Ready);
    }

    fn compute(generation: i64, observed: i64, phase: &str, status: &str, reason: &str, message: &str) -> Value {
        json!({"metadata": {"generation": generation}, "status": {"phase": phase, "observedGeneration": observed,
            "conditions": [{"type": "Ready", "status": status, "reason": reason, "message": message}]}})
    }

    #[test]
    fn virtual_machine_is_ready_when_its_ready_condition_is_true_for_its_generation() {
        let running = compute(2, 2, "Running", "True", "Running", "running on kvm-1");
        assert_eq!(child_state(Readiness::ReadyCondition, &running), ChildState::Ready);
        // A Ready condition about the previous spec (e.g. before a plan change) does not count.
        let stale = compute(3, 2, "Running", "True", "Running", "running on kvm-1");
        assert_eq!(
            child_state(Readiness::ReadyCondition, &stale),
            ChildState::Pending("the change is not applied yet".into())
        );
        let no_status = json!({"metadata": {"generation": 1}});
        assert_eq!(
            child_state(Readiness::ReadyCondition, &no_status),
            ChildState::Pending("no Ready condition reported yet".into())
        );
    }

    #[test]
    fn a_compute_child_that_is_not_ready_shows_its_condition_message() {
        let placing = compute(1, 1, "Pending", "False", "NoHostWithRoom", "no host can take 8 vCPU and 32Gi memory");
        assert_eq!(
            child_state(Readiness::ReadyCondition, &placing),
            ChildState::Pending("no host can take 8 vCPU and 32Gi memory".into())
        );
        let unreachable = compute(1, 1, "HostUnreachable", "Unknown", "HostUnreachable", "");
        assert_eq!(child_state(Readiness::ReadyCondition, &unreachable), ChildState::Pending("HostUnreachable".into()));
        let failed = compute(1, 1, "Failed", "False", "ImageNotFound", "image debian-12.qcow2 is not in pool images");
        assert_eq!(
            child_state(Readiness::ReadyCondition, &failed),
            ChildState::Failed("image debian-12.qcow2 is not in pool images".into())
        );
        // A backup policy has no phase: its condition alone decides.
        let policy = json!({"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "BackupFailed",
            "message": "backup of sample-root failed: storage pool backup is full"}]}});
        assert_eq!(
            child_state(Readiness::ReadyCondition, &policy),
            ChildState::Pending("backup of sample-root failed: storage pool backup is full".into())
        );
    }
}
