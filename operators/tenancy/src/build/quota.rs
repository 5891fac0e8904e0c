//! The agency's ResourceQuota, and how its usage reads back into the Agency's status.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{ResourceQuota, ResourceQuotaSpec},
    apimachinery::pkg::api::resource::Quantity,
};
use makonis_api::tenancy::{Agency, QuotaStatus};

use super::child_meta;

/// Name of the ResourceQuota in every agency namespace.
pub const QUOTA_NAME: &str = "makonis-quota";

/// Whether the agency is in use or being removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaMode {
    /// Limits from `spec.quota`.
    Active,
    /// The agency is being deleted: no new workloads or claims may be created, so the
    /// emptiness check before deleting the namespace cannot be raced.
    Frozen,
}

/// `spec.quota` field → ResourceQuota resource it limits.
const QUOTA_RESOURCES: [(&str, &str); 6] = [
    ("cpu", "requests.cpu"),
    ("memory", "requests.memory"),
    ("storage", "requests.storage"),
    ("virtualMachines", "count/virtualmachines.compute.makonis.lv"),
    ("mailboxes", "count/mailboxes.mail.makonis.lv"),
    ("serviceInstances", "count/serviceinstances.catalog.makonis.lv"),
];

/// Object counts set to zero while an agency is frozen.
const FROZEN_COUNTS: [&str; 8] = [
    "pods",
    "persistentvolumeclaims",
    "count/deployments.apps",
    "count/statefulsets.apps",
    "count/daemonsets.apps",
    "count/replicasets.apps",
    "count/jobs.batch",
    "count/cronjobs.batch",
];

/// Builds the ResourceQuota that enforces `spec.quota` in the agency namespace.
pub fn build_quota(agency: &Agency, mode: QuotaMode) -> ResourceQuota {
    let quota = &agency.spec.quota;
    let values = [
        quota.cpu.clone(),
        quota.memory.clone(),
        quota.storage.clone(),
        Quantity(quota.virtual_machines.to_string()),
        Quantity(quota.mailboxes.to_string()),
        Quantity(quota.service_instances.to_string()),
    ];
    let mut hard: BTreeMap<String, Quantity> =
        QUOTA_RESOURCES.iter().zip(values).map(|((_, resource), value)| (resource.to_string(), value)).collect();
    if mode == QuotaMode::Frozen {
        for resource in FROZEN_COUNTS.iter().chain(QUOTA_RESOURCES[3..].iter().map(|(_, r)| r)) {
            hard.insert(resource.to_string(), Quantity("0".into()));
        }
    }
    ResourceQuota {
        metadata: child_meta(agency, QUOTA_NAME),
        spec: Some(ResourceQuotaSpec { hard: Some(hard), ..ResourceQuotaSpec::default() }),
        status: None,
    }
}

/// The Agency's `status.quota`, read from the ResourceQuota's status and keyed like
/// `spec.quota`. `None` until the quota controller has filled the status in.
pub fn quota_status(live: &ResourceQuota) -> Option<QuotaStatus> {
    let status = live.status.as_ref()?;
    let pick = |map: &Option<BTreeMap<String, Quantity>>| -> BTreeMap<String, String> {
        let map = map.as_ref();
        QUOTA_RESOURCES
            .iter()
            .filter_map(|(field, resource)| Some((field.to_string(), map?.get(*resource)?.0.clone())))
            .collect()
    };
    let hard = pick(&status.hard);
    (!hard.is_empty()).then(|| QuotaStatus { hard, used: pick(&status.used) })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ResourceQuotaStatus;

    use super::*;
    use crate::test_support::sample_agency;

    #[test]
    fn quota_maps_every_field() {
        let rq = build_quota(&sample_agency("vdi"), QuotaMode::Active);
        let hard = rq.spec.unwrap().hard.unwrap();
        assert_eq!(hard["requests.cpu"], Quantity("16".into()));
        assert_eq!(hard["requests.memory"], Quantity("64Gi".into()));
        assert_eq!(hard["requests.storage"], Quantity("2Ti".into()));
        assert_eq!(hard["count/virtualmachines.compute.makonis.lv"], Quantity("20".into()));
        assert_eq!(hard["count/mailboxes.mail.makonis.lv"], Quantity("150".into()));
        assert_eq!(hard["count/serviceinstances.catalog.makonis.lv"], Quantity("10".into()));
        assert!(!hard.contains_key("pods"));
    }

    #[test]
    fn frozen_quota_admits_no_new_workloads() {
        let hard = build_quota(&sample_agency("vdi"), QuotaMode::Frozen).spec.unwrap().hard.unwrap();
        for resource in
            ["pods", "persistentvolumeclaims", "count/deployments.apps", "count/serviceinstances.catalog.makonis.lv"]
        {
            assert_eq!(hard[resource], Quantity("0".into()), "{resource}");
        }
        assert_eq!(hard["requests.cpu"], Quantity("16".into()));
    }

    #[test]
    fn status_is_keyed_like_the_spec() {
        let live = ResourceQuota {
            status: Some(ResourceQuotaStatus {
                hard: Some(BTreeMap::from([("requests.cpu".into(), Quantity("16".into()))])),
                used: Some(BTreeMap::from([("requests.cpu".into(), Quantity("1500m".into()))])),
            }),
            ..ResourceQuota::default()
        };
        let status = quota_status(&live).unwrap();
        assert_eq!(status.hard["cpu"], "16");
        assert_eq!(status.used["cpu"], "1500m");
    }

    #[test]
    fn no_status_before_the_quota_controller_ran() {
        assert_eq!(quota_status(&ResourceQuota::default()), None);
    }
}
