//! The `ServiceLevelObjective` kind: an availability target over a window and calendar.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    catalog::{MaintenanceWindow, SupportHours},
    compute::OBJECT_NAME_PATTERN,
};

/// An availability target that the SLO engine measures: downtime inside the support
/// calendar and outside maintenance windows, over the support time of the window.
///
/// The engine records outages in the SLA ledger, keeps `status` (availability so far,
/// error budget, burn rate, state) up to date, raises an incident when a burn-rate alert
/// fires, and reports the month per agency.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "slo.makonis.lv",
    version = "v1alpha1",
    kind = "ServiceLevelObjective",
    plural = "servicelevelobjectives",
    singular = "servicelevelobjective",
    shortname = "slo",
    category = "makonis",
    namespaced,
    status = "ServiceLevelObjectiveStatus",
    printcolumn(name = "Target", type_ = "number", json_path = ".spec.targetPercent"),
    printcolumn(name = "Availability", type_ = "number", json_path = ".status.availabilityPercent"),
    printcolumn(name = "Budget-Left", type_ = "number", json_path = ".status.errorBudgetRemainingPercent"),
    printcolumn(name = "Burn-Rate", type_ = "number", json_path = ".status.burnRate", priority = 1),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = 1
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLevelObjectiveSpec {
    /// The service as people call it, shown in reports, e.g. `Dokumentu vadība (standard)`.
    #[schemars(length(min = 1, max = 200))]
    pub service: String,
    /// The `ServiceInstance` (same namespace) this objective measures, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    pub instance: Option<String>,
    /// The availability target in percent of the support time, e.g. `99.5`.
    #[schemars(range(min = 0.0, max = 100.0))]
    #[x_kube(validation = Rule::new("self > 0.0").message("targetPercent must be above 0"))]
    pub target_percent: f64,
    /// The period availability is measured over.
    #[serde(default)]
    pub window: SloWindow,
    /// When downtime counts: `24x7`, or `BusinessHours` (working days 08:30–17:00
    /// Europe/Riga; Latvian public holidays are days off).
    pub support_hours: SupportHours,
    /// Weekly windows (Europe/Riga time) of planned maintenance; downtime inside them
    /// does not count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 7))]
    pub maintenance_windows: Vec<MaintenanceWindow>,
    /// What is measured.
    pub indicator: Indicator,
}

/// The period availability is measured over.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SloWindow {
    /// Each calendar month, Europe/Riga time (how SLAs are reported).
    #[default]
    CalendarMonth,
    /// The last 28 days.
    Rolling28Days,
    /// The last 30 days.
    Rolling30Days,
}

/// The service level indicator: a probe's outages, or a ratio Prometheus computes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[x_kube(validation = Rule::new("has(self.probe) != has(self.prometheus)")
    .message("set exactly one of probe and prometheus"))]
#[serde(rename_all = "camelCase")]
pub struct Indicator {
    /// Name of a `Probe` in the same namespace: availability is support time without
    /// its confirmed outages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63), regex(pattern = OBJECT_NAME_PATTERN))]
    pub probe: Option<String>,
    /// A ratio of good to total events from the Prometheus of `makonis slo
    /// --prometheus-url`, for teams that measure their service themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusRatio>,
}

/// Good and total event counters in PromQL; the engine evaluates
/// `sum(increase(<good>[w])) / sum(increase(<total>[w]))` for each window `w`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct PrometheusRatio {
    /// Selector of the counter of good events, e.g.
    /// `http_requests_total{job="dms",code!~"5.."}`.
    #[schemars(length(min = 1, max = 1024))]
    pub good: String,
    /// Selector of the counter of all events, e.g. `http_requests_total{job="dms"}`.
    #[schemars(length(min = 1, max = 1024))]
    pub total: String,
}

/// Where an objective stands in its window.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLevelObjectiveStatus {
    /// `Met`, `AtRisk` (below target so far, or a burn-rate alert fires) or `Breached`
    /// (the window's error budget is spent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<SloState>,
    /// The current window's start (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<String>,
    /// The current window's end (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_end: Option<String>,
    /// Availability so far this window, in percent of the support time measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_percent: Option<f64>,
    /// Downtime counted so far this window, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downtime_minutes: Option<f64>,
    /// Error budget left this window, in minutes (negative once overspent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_budget_remaining_minutes: Option<f64>,
    /// Error budget left this window, in percent of the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_budget_remaining_percent: Option<f64>,
    /// How fast the budget burned over the last hour (1 spends it exactly by the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burn_rate: Option<f64>,
    /// The burn-rate alerts that fire, e.g. `fast`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firing_alerts: Vec<String>,
    /// The incident opened for the alerts that fire, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// `Ready`: True while the objective is measured; False with the reason when it
    /// cannot be (no such probe, Prometheus unreachable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// An objective's state in its window.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SloState {
    /// On target, no burn-rate alert fires.
    Met,
    /// Below target so far, or a burn-rate alert fires; the budget is not spent.
    AtRisk,
    /// The window's error budget is spent.
    Breached,
}
