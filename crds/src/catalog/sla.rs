//! The service level a plan promises: availability, support hours, incident targets.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A duration in whole minutes, hours or days: `30m`, `4h`, `3d` (a day is 24 hours).
pub const DURATION_PATTERN: &str = r"^[0-9]{1,4}[mhd]$";

/// What a plan promises, and how it is measured.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sla {
    /// Availability target in percent of the support time of each window, e.g. `99.5`.
    #[schemars(range(min = 0.0, max = 100.0))]
    pub availability_percent: f64,
    /// Over which period availability is measured. `CalendarMonth` (default): each
    /// calendar month in Europe/Riga time.
    #[serde(default)]
    pub window: SlaWindow,
    /// When the service is supported and its downtime counts: `24x7`, or
    /// `BusinessHours` (working days 08:30–17:00 Europe/Riga, Latvian public holidays off).
    pub support_hours: SupportHours,
    /// Response and restore times per incident priority.
    pub incident_targets: IncidentTargets,
    /// Recovery point objective: how much recent data a disaster may lose at most, e.g. `24h`.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub rpo: String,
    /// Recovery time objective: how long restoring the service after a disaster may take,
    /// e.g. `8h`.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub rto: String,
    /// Weekly windows (Europe/Riga time) in which planned maintenance may happen; downtime
    /// inside them does not count against the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 7))]
    pub maintenance_windows: Vec<MaintenanceWindow>,
}

/// The period over which availability is measured.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SlaWindow {
    /// Each calendar month, Europe/Riga time.
    #[default]
    CalendarMonth,
}

/// The hours in which a service is supported.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SupportHours {
    /// Around the clock, every day.
    #[serde(rename = "24x7")]
    TwentyFourSeven,
    /// Working days 08:30–17:00 Europe/Riga; Latvian public holidays are not working days.
    BusinessHours,
}

/// Response and restore times for each incident priority, P1 (critical) to P4 (low).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IncidentTargets {
    /// Critical: the service is down for everyone.
    pub p1: IncidentTarget,
    /// High: the service is down for some, or badly degraded.
    pub p2: IncidentTarget,
    /// Medium: a function is impaired and a workaround exists.
    pub p3: IncidentTarget,
    /// Low: a question, a cosmetic fault, a request.
    pub p4: IncidentTarget,
}

/// How fast an incident of one priority is answered and resolved, counted in support hours.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct IncidentTarget {
    /// Time to the first human response, e.g. `30m`.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub response: String,
    /// Time until the service is restored, e.g. `4h`.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub restore: String,
}

/// A weekly maintenance window, in Europe/Riga time.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MaintenanceWindow {
    /// The day the window starts.
    pub day: Weekday,
    /// Start time, `HH:MM` (24-hour clock).
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: String,
    /// Length of the window, e.g. `4h`.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub duration: String,
}

/// A day of the week.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weekday {
    /// Pirmdiena.
    Monday,
    /// Otrdiena.
    Tuesday,
    /// Trešdiena.
    Wednesday,
    /// Ceturtdiena.
    Thursday,
    /// Piektdiena.
    Friday,
    /// Sestdiena.
    Saturday,
    /// Svētdiena.
    Sunday,
}
