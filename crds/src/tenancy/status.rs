//! The observed state of an `Agency`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the tenancy controller last observed and did for an agency.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgencyStatus {
    /// `Ready` (the namespace and all its policies are in place), `Degraded` (the last
    /// reconcile failed; the message says why and what to do) and `Progressing` (the
    /// agency is being removed). Each carries a reason and a human message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The agency's namespace, `agency-<code>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Quota limits and their use, keyed like `spec.quota` (`cpu`, `memory`, `storage`,
    /// `virtualMachines`, `mailboxes`, `serviceInstances`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaStatus>,
}

/// Hard limits and current use of an agency's quota, as its ResourceQuota reports them.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct QuotaStatus {
    /// The enforced limits, as quantities (`16`, `64Gi`).
    #[serde(default)]
    pub hard: BTreeMap<String, String>,
    /// What the agency's namespace uses now, as quantities.
    #[serde(default)]
    pub used: BTreeMap<String, String>,
}
