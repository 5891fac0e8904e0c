//! Deciding whether an agency may be removed (pure).
//!
//! An agency goes only when its namespace holds no workloads and no data. Otherwise it
//! stays, frozen, and its `Ready` condition lists what is left.

/// A kind whose objects mean "this namespace is in use": workloads and data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHoldingKind {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Resource name, as RBAC and URLs spell it.
    pub plural: &'static str,
    /// Kind, as people read it.
    pub kind: &'static str,
}

/// Every kind that blocks removal. Kinds whose API is not installed yet (the platform's
/// own compute, mail and catalog kinds) count as empty.
pub const DATA_HOLDING_KINDS: [DataHoldingKind; 12] = [
    DataHoldingKind { group: "", version: "v1", plural: "persistentvolumeclaims", kind: "PersistentVolumeClaim" },
    DataHoldingKind { group: "", version: "v1", plural: "pods", kind: "Pod" },
    DataHoldingKind { group: "apps", version: "v1", plural: "deployments", kind: "Deployment" },
    DataHoldingKind { group: "apps", version: "v1", plural: "statefulsets", kind: "StatefulSet" },
    DataHoldingKind { group: "apps", version: "v1", plural: "daemonsets", kind: "DaemonSet" },
    DataHoldingKind { group: "apps", version: "v1", plural: "replicasets", kind: "ReplicaSet" },
    DataHoldingKind { group: "batch", version: "v1", plural: "jobs", kind: "Job" },
    DataHoldingKind { group: "batch", version: "v1", plural: "cronjobs", kind: "CronJob" },
    DataHoldingKind {
        group: "catalog.makonis.lv",
        version: "v1alpha1",
        plural: "serviceinstances",
        kind: "ServiceInstance",
    },
    DataHoldingKind {
        group: "compute.makonis.lv",
        version: "v1alpha1",
        plural: "virtualmachines",
        kind: "VirtualMachine",
    },
    DataHoldingKind { group: "compute.makonis.lv", version: "v1alpha1", plural: "volumes", kind: "Volume" },
    DataHoldingKind { group: "mail.makonis.lv", version: "v1alpha1", plural: "mailboxes", kind: "Mailbox" },
];

/// Objects of one kind still in the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remaining {
    /// The kind, e.g. `PersistentVolumeClaim`.
    pub kind: &'static str,
    /// How many there are.
    pub count: usize,
    /// Some of their names (at most [`NAMES_SHOWN`]).
    pub names: Vec<String>,
}

/// How many names per kind a message shows.
pub const NAMES_SHOWN: usize = 3;

/// The namespace as the controller found it during removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceState {
    /// It exists and is not being deleted; what it still holds.
    Active(Vec<Remaining>),
    /// Its deletion has started; the namespace controller is emptying it.
    Terminating,
    /// It is gone.
    Gone,
}

/// The next step of removing an agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovalStep {
    /// Something still lives there: keep everything and say what.
    Blocked(String),
    /// Empty: delete the namespace.
    DeleteNamespace,
    /// Wait for the namespace controller to finish.
    WaitForNamespace,
    /// Nothing left: release the Agency.
    ReleaseAgency,
}

/// Decides the next removal step from the observed namespace.
pub fn plan_removal(namespace: &str, state: &NamespaceState) -> RemovalStep {
    match state {
        NamespaceState::Active(remaining) if remaining.iter().any(|r| r.count > 0) => {
            RemovalStep::Blocked(describe_remaining(namespace, remaining))
        }
        NamespaceState::Active(_) => RemovalStep::DeleteNamespace,
        NamespaceState::Terminating => RemovalStep::WaitForNamespace,
        NamespaceState::Gone => RemovalStep::ReleaseAgency,
    }
}

/// "Namespace agency-vdi still holds 1 PersistentVolumeClaim (data) and 2 Pods (a, b); …"
pub fn describe_remaining(namespace: &str, remaining: &[Remaining]) -> String {
    let parts: Vec<String> = remaining
        .iter()
        .filter(|r| r.count > 0)
        .map(|r| {
            let plural = if r.count == 1 { "" } else { "s" };
            let more = if r.count > r.names.len() { ", …" } else { "" };
            format!("{} {}{plural} ({}{more})", r.count, r.kind, r.names.join(", "))
        })
        .collect();
    let listed = match parts.as_slice() {
        [] => "nothing".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    format!(
        "Deletion refused: namespace {namespace} still holds {listed}. Move or delete them; \
         the agency is removed as soon as its namespace is empty. No new workloads are admitted meanwhile."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remaining(kind: &'static str, names: &[&str], count: usize) -> Remaining {
        Remaining { kind, count, names: names.iter().map(|n| n.to_string()).collect() }
    }

    #[test]
    fn data_blocks_removal_and_is_named() {
        let state = NamespaceState::Active(vec![
            remaining("PersistentVolumeClaim", &["data"], 1),
            remaining("Pod", &[], 0),
            remaining("Deployment", &["a", "b", "c"], 5),
        ]);
        let RemovalStep::Blocked(message) = plan_removal("agency-vdi", &state) else { panic!("not blocked") };
        assert!(
            message.contains("agency-vdi still holds 1 PersistentVolumeClaim (data) and 5 Deployments (a, b, c, …)"),
            "{message}"
        );
        assert!(!message.contains("Pod"));
    }

    #[test]
    fn empty_namespace_is_deleted_then_waited_for_then_released() {
        let empty = NamespaceState::Active(vec![remaining("Pod", &[], 0)]);
        assert_eq!(plan_removal("agency-x", &empty), RemovalStep::DeleteNamespace);
        assert_eq!(plan_removal("agency-x", &NamespaceState::Terminating), RemovalStep::WaitForNamespace);
        assert_eq!(plan_removal("agency-x", &NamespaceState::Gone), RemovalStep::ReleaseAgency);
    }

    #[test]
    fn three_kinds_are_listed_with_commas_and_and() {
        let text = describe_remaining(
            "ns",
            &[remaining("Pod", &["p"], 1), remaining("Job", &["j"], 1), remaining("CronJob", &["c"], 1)],
        );
        assert!(text.contains("1 Pod (p), 1 Job (j) and 1 CronJob (c)"), "{text}");
    }
}
