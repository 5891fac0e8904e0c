//! The engine's Prometheus metrics (names in `makonis_slo_core::metric_names`).
//!
//! Objective and probe series carry the agency, namespace and object name: one series
//! per objective, bounded by the instances that exist, and removed when the objective or
//! probe is deleted. Raw probe results carry only the kind, outcome and failure category.

use std::time::Duration;

use makonis_slo_core::{ObjectiveState, ObjectiveStatus, metric_names as names, rules::window_label};
use prometheus::{GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};

/// What the engine measures.
#[derive(Clone)]
pub struct SloMetrics {
    availability: GaugeVec,
    target: GaugeVec,
    budget_ratio: GaugeVec,
    budget_seconds: GaugeVec,
    burn_rate: GaugeVec,
    state: IntGaugeVec,
    alert_firing: IntGaugeVec,
    probe_up: IntGaugeVec,
    probe_results: IntCounterVec,
    probe_duration: HistogramVec,
    certificate_expiry: GaugeVec,
    outages: IntCounterVec,
    open_outages: IntGaugeVec,
    incidents: IntCounterVec,
    evaluation: Histogram,
    undecodable: IntGaugeVec,
}

const OBJECTIVE: &[&str] = &["agency", "namespace", "objective"];
const PROBE: &[&str] = &["agency", "namespace", "probe"];
const STATES: [(ObjectiveState, &str); 3] =
    [(ObjectiveState::Met, "Met"), (ObjectiveState::AtRisk, "AtRisk"), (ObjectiveState::Breached, "Breached")];

/// The label values of one objective or probe: agency, namespace, name.
pub type Labels<'a> = [&'a str; 3];

impl SloMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let gauge = |name: &str, help: &str, labels: &[&str]| GaugeVec::new(Opts::new(name, help), labels);
        let metrics = Self {
            availability: gauge(names::AVAILABILITY_RATIO, "Availability so far in the current window.", OBJECTIVE)?,
            target: gauge(names::TARGET_RATIO, "The objective's availability target.", OBJECTIVE)?,
            budget_ratio: gauge(
                names::ERROR_BUDGET_REMAINING_RATIO,
                "Error budget left in the current window, as a ratio of the budget.",
                OBJECTIVE,
            )?,
            budget_seconds: gauge(
                names::ERROR_BUDGET_REMAINING_SECONDS,
                "Error budget left in the current window, in seconds.",
                OBJECTIVE,
            )?,
            burn_rate: gauge(
                names::BURN_RATE,
                "How fast the error budget burns over a window.",
                &["agency", "namespace", "objective", "window"],
            )?,
            state: IntGaugeVec::new(
                Opts::new(names::STATE, "1 for the objective's current state (Met, AtRisk, Breached)."),
                &["agency", "namespace", "objective", "state"],
            )?,
            alert_firing: IntGaugeVec::new(
                Opts::new(names::ALERT_FIRING, "1 while a burn-rate alert fires."),
                &["agency", "namespace", "objective", "rule", "severity"],
            )?,
            probe_up: IntGaugeVec::new(Opts::new(names::PROBE_UP, "The probe target's confirmed state: 1 up."), PROBE)?,
            probe_results: IntCounterVec::new(
                Opts::new(names::PROBE_RESULTS_TOTAL, "Probe runs by kind, outcome and failure category."),
                &["kind", "outcome", "category"],
            )?,
            probe_duration: HistogramVec::new(
                HistogramOpts::new(names::PROBE_DURATION_SECONDS, "How long probe runs took.")
                    .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
                &["kind"],
            )?,
            certificate_expiry: gauge(
                names::PROBE_CERTIFICATE_EXPIRY_SECONDS,
                "When the probed server's TLS certificate expires (Unix time).",
                PROBE,
            )?,
            outages: IntCounterVec::new(Opts::new(names::OUTAGES_TOTAL, "Outages opened."), &["agency"])?,
            open_outages: IntGaugeVec::new(Opts::new(names::OPEN_OUTAGES, "Outages open now."), &["agency"])?,
            incidents: IntCounterVec::new(
                Opts::new(names::INCIDENTS_OPENED_TOTAL, "Incidents opened by burn-rate alerts."),
                &["severity"],
            )?,
            evaluation: Histogram::with_opts(
                HistogramOpts::new(names::EVALUATION_DURATION_SECONDS, "One evaluation pass over every objective.")
                    .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0]),
            )?,
            undecodable: IntGaugeVec::new(
                Opts::new(names::UNDECODABLE_OBJECTS, "Watched objects the engine cannot decode now, by kind."),
                &["kind"],
            )?,
        };
        registry.register(Box::new(metrics.availability.clone()))?;
        registry.register(Box::new(metrics.target.clone()))?;
        registry.register(Box::new(metrics.budget_ratio.clone()))?;
        registry.register(Box::new(metrics.budget_seconds.clone()))?;
        registry.register(Box::new(metrics.burn_rate.clone()))?;
        registry.register(Box::new(metrics.state.clone()))?;
        registry.register(Box::new(metrics.alert_firing.clone()))?;
        registry.register(Box::new(metrics.probe_up.clone()))?;
        registry.register(Box::new(metrics.probe_results.clone()))?;
        registry.register(Box::new(metrics.probe_duration.clone()))?;
        registry.register(Box::new(metrics.certificate_expiry.clone()))?;
        registry.register(Box::new(metrics.outages.clone()))?;
        registry.register(Box::new(metrics.open_outages.clone()))?;
        registry.register(Box::new(metrics.incidents.clone()))?;
        registry.register(Box::new(metrics.evaluation.clone()))?;
        registry.register(Box::new(metrics.undecodable.clone()))?;
        Ok(metrics)
    }

    /// Records one probe run.
    pub fn record_probe(&self, kind: &str, failure: Option<&str>, elapsed: Duration) {
        let (outcome, category) = match failure {
            Some(category) => ("failure", category),
            None => ("success", "none"),
        };
        self.probe_results.with_label_values(&[kind, outcome, category]).inc();
        self.probe_duration.with_label_values(&[kind]).observe(elapsed.as_secs_f64());
    }

    /// Sets a probe target's confirmed state (`None`: not confirmed yet).
    pub fn set_probe_up(&self, labels: Labels<'_>, up: Option<bool>) {
        match up {
            Some(up) => self.probe_up.with_label_values(&labels).set(i64::from(up)),
            None => drop(self.probe_up.remove_label_values(&labels)),
        }
    }

    /// Sets when a probed server's certificate expires (Unix ms).
    pub fn set_certificate_expiry(&self, labels: Labels<'_>, not_after_ms: i64) {
        self.certificate_expiry.with_label_values(&labels).set(not_after_ms as f64 / 1000.0);
    }

    /// Records an outage opened (`true`) or closed (`false`) for `agency`.
    pub fn record_outage(&self, agency: &str, opened: bool) {
        if opened {
            self.outages.with_label_values(&[agency]).inc();
            self.open_outages.with_label_values(&[agency]).inc();
        } else {
            self.open_outages.with_label_values(&[agency]).dec();
        }
    }

    /// Counts outages found open at start-up.
    pub fn resume_outage(&self, agency: &str) {
        self.open_outages.with_label_values(&[agency]).inc();
    }

    /// Records an incident opened.
    pub fn record_incident(&self, severity: &str) {
        self.incidents.with_label_values(&[severity]).inc();
    }

    /// Sets how many watched objects of `kind` cannot be decoded now.
    pub fn set_undecodable(&self, kind: &str, count: usize) {
        self.undecodable.with_label_values(&[kind]).set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// Records one evaluation pass.
    pub fn record_evaluation(&self, elapsed: Duration) {
        self.evaluation.observe(elapsed.as_secs_f64());
    }

    /// Sets every series of one objective from its status; `burns` are the burn rates
    /// by window length (ms), `rules` the rule names and severities with whether they fire.
    pub fn set_objective(
        &self,
        labels: Labels<'_>,
        target: f64,
        status: &ObjectiveStatus,
        burns: &[(i64, f64)],
        rules: &[(&str, &str, bool)],
    ) {
        self.availability.with_label_values(&labels).set(status.availability.unwrap_or(1.0));
        self.target.with_label_values(&labels).set(target);
        self.budget_ratio.with_label_values(&labels).set(status.budget_remaining_ratio);
        self.budget_seconds.with_label_values(&labels).set(status.budget_remaining_ms as f64 / 1000.0);
        for (window, burn) in burns {
            let window = window_label(*window);
            self.burn_rate.with_label_values(&[labels[0], labels[1], labels[2], &window]).set(*burn);
        }
        for (state, name) in STATES {
            self.state
                .with_label_values(&[labels[0], labels[1], labels[2], name])
                .set(i64::from(status.state == state));
        }
        for (rule, severity, firing) in rules {
            self.alert_firing
                .with_label_values(&[labels[0], labels[1], labels[2], rule, severity])
                .set(i64::from(*firing));
        }
    }

    /// Removes every series of a deleted objective, given the burn windows (ms) and the
    /// rules (name, severity) it was set with.
    pub fn forget_objective(&self, labels: Labels<'_>, windows: &[i64], rules: &[(&str, &str)]) {
        for vec in [&self.availability, &self.target, &self.budget_ratio, &self.budget_seconds] {
            drop(vec.remove_label_values(&labels));
        }
        for window in windows {
            let window = window_label(*window);
            drop(self.burn_rate.remove_label_values(&[labels[0], labels[1], labels[2], &window]));
        }
        for (_, name) in STATES {
            drop(self.state.remove_label_values(&[labels[0], labels[1], labels[2], name]));
        }
        for (rule, severity) in rules {
            drop(self.alert_firing.remove_label_values(&[labels[0], labels[1], labels[2], rule, severity]));
        }
    }

    /// Removes every series of a deleted probe.
    pub fn forget_probe(&self, labels: Labels<'_>) {
        drop(self.probe_up.remove_label_values(&labels));
        drop(self.certificate_expiry.remove_label_values(&labels));
    }
}
