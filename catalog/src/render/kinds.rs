//! The kinds of resource a catalog item may create.
//!
//! The controller's RBAC grants exactly these, in agency namespaces; anything else in a
//! template is refused when the item is checked, naming the template.

/// One kind a template may render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllowedKind {
    /// The API group, empty for the core group.
    pub group: &'static str,
    /// The API version within the group.
    pub version: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// The resource (plural) name.
    pub plural: &'static str,
    /// How readiness is judged (see the controller's roll-up).
    pub readiness: Readiness,
}

impl AllowedKind {
    /// `group/version`, or `version` for the core group, as in `apiVersion`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.to_string() } else { format!("{}/{}", self.group, self.version) }
    }
}

/// How the readiness of a kind is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Ready once it exists (configuration objects).
    Exists,
    /// Available replicas of the current generation (Deployment).
    Deployment,
    /// Ready replicas of the current revision (StatefulSet).
    StatefulSet,
    /// Bound to a volume (PersistentVolumeClaim).
    Bound,
    /// Completed (Job).
    Job,
    /// Its `status.conditions[Ready]` is `True` for the current generation (Mākonis
    /// kinds); a `status.phase` of `Failed` is a failure, not a wait.
    ReadyCondition,
}

/// Every kind a catalog template may render.
pub const ALLOWED_KINDS: &[AllowedKind] = &[
    kind("apps", "v1", "Deployment", "deployments", Readiness::Deployment),
    kind("apps", "v1", "StatefulSet", "statefulsets", Readiness::StatefulSet),
    kind("", "v1", "Service", "services", Readiness::Exists),
    kind("", "v1", "ConfigMap", "configmaps", Readiness::Exists),
    kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", Readiness::Bound),
    kind("", "v1", "ServiceAccount", "serviceaccounts", Readiness::Exists),
    kind("networking.k8s.io", "v1", "Ingress", "ingresses", Readiness::Exists),
    kind("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", Readiness::Exists),
    kind("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", Readiness::Exists),
    kind("batch", "v1", "CronJob", "cronjobs", Readiness::Exists),
    kind("batch", "v1", "Job", "jobs", Readiness::Job),
    kind(COMPUTE, "v1alpha1", "VirtualMachine", "virtualmachines", Readiness::ReadyCondition),
    kind(COMPUTE, "v1alpha1", "Volume", "volumes", Readiness::ReadyCondition),
    kind(COMPUTE, "v1alpha1", "BackupPolicy", "backuppolicies", Readiness::ReadyCondition),
    kind(SLO, "v1alpha1", "Probe", "probes", Readiness::Exists),
    kind(SLO, "v1alpha1", "ServiceLevelObjective", "servicelevelobjectives", Readiness::Exists),
    kind(IDENTITY, "v1alpha1", "DirectoryServiceAccount", "directoryserviceaccounts", Readiness::Exists),
];

/// The API group of directory accounts: an application's own account in its agency's OU.
/// Its readiness is its existence: the workloads that read its credentials Secret cannot
/// start before the identity operator has written it, so they hold the instance back where
/// it matters, while a platform without a directory (a local demo) still provisions.
const IDENTITY: &str = makonis_api::identity::GROUP;

/// The API group of virtual machines, their disks and backups.
const COMPUTE: &str = makonis_api::compute::GROUP;

/// The API group of objectives and probes; their readiness is their existence, so that
/// a measured outage never holds back an instance's provisioning.
const SLO: &str = makonis_api::slo::GROUP;

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    readiness: Readiness,
) -> AllowedKind {
    AllowedKind { group, version, kind, plural, readiness }
}

/// The allowed kind for an object's `apiVersion` and `kind`, if any.
pub fn allowed_kind(api_version: &str, kind: &str) -> Option<&'static AllowedKind> {
    ALLOWED_KINDS.iter().find(|k| k.kind == kind && k.api_version() == api_version)
}

/// The allowed kinds as `apiVersion kind` text, for error messages.
pub fn allowed_kinds_list() -> String {
    ALLOWED_KINDS.iter().map(|k| format!("{} {}", k.api_version(), k.kind)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_grouped_kinds_are_found_by_api_version() {
        assert_eq!(allowed_kind("v1", "Service").map(|k| k.plural), Some("services"));
        assert_eq!(allowed_kind("apps/v1", "Deployment").map(|k| k.readiness), Some(Readiness::Deployment));
        assert!(allowed_kind("apps/v1", "Service").is_none());
        assert!(allowed_kind("rbac.authorization.k8s.io/v1", "ClusterRole").is_none());
    }

    #[test]
    fn compute_kinds_are_judged_by_their_ready_condition() {
        for (kind, plural) in
            [("VirtualMachine", "virtualmachines"), ("Volume", "volumes"), ("BackupPolicy", "backuppolicies")]
        {
            let allowed = allowed_kind("compute.makonis.lv/v1alpha1", kind).unwrap_or_else(|| panic!("{kind}"));
            assert_eq!(allowed.plural, plural);
            assert_eq!(allowed.readiness, Readiness::ReadyCondition);
        }
        assert!(allowed_kind("compute.makonis.lv/v1", "VirtualMachine").is_none());
        // Cluster-scoped and per-run kinds stay the compute controller's own business.
        for kind in ["HostPool", "Backup", "Restore"] {
            assert!(allowed_kind("compute.makonis.lv/v1alpha1", kind).is_none(), "{kind}");
        }
    }

    /// Every allowed kind of ours names a namespaced CRD by its group, a served version,
    /// its kind and its plural, so the controller's watches and applies find it.
    #[test]
    fn makonis_kinds_match_their_crds() {
        let crds = makonis_api::all_crds();
        let ours = ALLOWED_KINDS.iter().filter(|k| k.group.ends_with("makonis.lv")).collect::<Vec<_>>();
        assert_eq!(ours.len(), 6);
        for kind in ours {
            let crd = crds
                .iter()
                .find(|c| c.spec.group == kind.group && c.spec.names.kind == kind.kind)
                .unwrap_or_else(|| panic!("no CRD for {}", kind.kind));
            assert_eq!(crd.spec.names.plural, kind.plural, "{}", kind.kind);
            assert_eq!(crd.spec.scope, "Namespaced", "{}", kind.kind);
            assert!(crd.spec.versions.iter().any(|v| v.name == kind.version && v.served), "{}", kind.kind);
        }
    }
}
