//! The engine's settings, from `makonis slo`'s flags.

use std::{path::PathBuf, time::Duration};

use makonis_slo_core::HolidayCalendar;

use crate::{probe::ResolveOverride, targets::TargetRules};

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Probe runs in flight at most at once.
    pub max_concurrent_probes: usize,
    /// Time between evaluations of every objective (they also run soon after an outage
    /// opens or closes).
    pub evaluation_interval: Duration,
    /// The Latvian calendar with the days off and working days the government declared
    /// (checked by [`HolidayCalendar::declared`]).
    pub calendar: HolidayCalendar,
    /// PEM bundles trusted for HTTPS probes besides the web PKI.
    pub extra_ca_files: Vec<PathBuf>,
    /// Host patterns probed at a fixed address instead of their DNS answer.
    pub resolve: Vec<ResolveOverride>,
    /// The Prometheus that `prometheus` indicators query, e.g. `http://127.0.0.1:9090`.
    pub prometheus_url: Option<String>,
    /// The platform's namespace (its own objectives; the engine's PrometheusRule).
    pub platform_namespace: String,
    /// Where agencies' probes may point (their domains under the apps domain, the
    /// addresses they may never reach).
    pub targets: TargetRules,
}
