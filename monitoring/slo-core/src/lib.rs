//! The SLA arithmetic of Mākonis, free of IO and of Kubernetes.
//!
//! Times are Unix milliseconds (UTC) and spans are half-open [`Interval`]s; the civil
//! calendar (support hours, maintenance windows, calendar months) is Europe/Riga time.
//!
//! - [`calendar`]: Latvian public holidays and working days, as the government moves them.
//! - [`interval`]: union, intersection and difference of time spans.
//! - [`support`]: the support time of an objective (24x7 or business hours) minus its
//!   maintenance windows.
//! - [`window`]: the measurement window (a calendar month or the last 28/30 days).
//! - [`objective`]: availability, error budget, burn rate and state of one objective.
//! - [`burn`]: multi-window, multi-burn-rate alerts.
//! - [`confirm`]: confirming probe failures and recoveries before they count.
//! - [`report`]: the monthly SLA report per agency and for the platform.
//! - [`openslo`], [`rules`], [`metric_names`]: the objectives as OpenSLO documents and as
//!   Prometheus alerting rules over the engine's metrics; [`quoting`]: names as data in
//!   PromQL and in Prometheus' templates.

pub mod burn;
pub mod calendar;
pub mod confirm;
pub mod interval;
pub mod metric_names;
pub mod objective;
pub mod openslo;
pub mod quoting;
pub mod report;
pub mod rules;
pub mod support;
pub mod window;

pub use burn::{BurnRule, DEFAULT_RULES, FiringAlert, Severity};
pub use calendar::{CalendarError, HolidayCalendar};
pub use confirm::{Confirmer, ProbeState, Transition};
pub use interval::Interval;
pub use objective::{Objective, ObjectiveState, ObjectiveStatus, SupportHours, WeeklyWindow, evaluate};
pub use report::{MonthlyReport, ObjectiveRecord, OutageRecord, monthly_report};
pub use support::counted_time;
pub use window::Window;

/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// One hour in milliseconds.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day (24 hours) in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
