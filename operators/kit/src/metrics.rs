//! Reconcile metrics shared by every controller.
//!
//! Names follow `makonis_<component>_<thing>_<unit>`; labels are bounded: the controller
//! name, the error category and the Kubernetes kind — never object names or raw errors.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

/// Counters and histograms about reconciles, registered once per process.
#[derive(Clone)]
pub struct ReconcileMetrics {
    runs: IntCounterVec,
    failures: IntCounterVec,
    duration: HistogramVec,
    writes: IntCounterVec,
    undecodable: IntCounterVec,
}

impl ReconcileMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let runs = IntCounterVec::new(
            Opts::new("makonis_operator_reconcile_total", "Reconciles started, by controller."),
            &["controller"],
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "makonis_operator_reconcile_failures_total",
                "Reconciles that failed, by controller and error category.",
            ),
            &["controller", "category"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "makonis_operator_reconcile_duration_seconds",
                "Time one reconcile took, by controller.",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]),
            &["controller"],
        )?;
        let writes = IntCounterVec::new(
            Opts::new(
                "makonis_operator_api_writes_total",
                "Create, patch and delete calls sent to the Kubernetes API, by controller and kind.",
            ),
            &["controller", "kind"],
        )?;
        let undecodable = IntCounterVec::new(
            Opts::new(
                "makonis_operator_undecodable_objects_total",
                "Watched objects a controller could not decode and left out, by controller and kind.",
            ),
            &["controller", "kind"],
        )?;
        registry.register(Box::new(runs.clone()))?;
        registry.register(Box::new(undecodable.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(writes.clone()))?;
        Ok(Self { runs, failures, duration, writes, undecodable })
    }

    /// Records one finished reconcile of `controller`; `failure` is the error category.
    pub fn record_reconcile(&self, controller: &str, elapsed: Duration, failure: Option<&str>) {
        self.runs.with_label_values(&[controller]).inc();
        self.duration.with_label_values(&[controller]).observe(elapsed.as_secs_f64());
        if let Some(category) = failure {
            self.failures.with_label_values(&[controller, category]).inc();
        }
    }

    /// Records one watched object of `kind` that `controller` could not decode.
    pub fn record_undecodable(&self, controller: &str, kind: &str) {
        self.undecodable.with_label_values(&[controller, kind]).inc();
    }

    /// Records one write to the API of an object of `kind`.
    pub fn record_write(&self, controller: &str, kind: &str) {
        self.writes.with_label_values(&[controller, kind]).inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_runs_failures_and_writes() {
        let registry = Registry::new();
        let metrics = ReconcileMetrics::register(&registry).unwrap();
        metrics.record_reconcile("tenancy", Duration::from_millis(20), None);
        metrics.record_reconcile("tenancy", Duration::from_millis(30), Some("Forbidden"));
        metrics.record_write("tenancy", "Namespace");
        let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
        assert!(text.contains(r#"makonis_operator_reconcile_total{controller="tenancy"} 2"#), "{text}");
        assert!(
            text.contains(r#"makonis_operator_reconcile_failures_total{category="Forbidden",controller="tenancy"} 1"#)
        );
        assert!(text.contains(r#"makonis_operator_api_writes_total{controller="tenancy",kind="Namespace"} 1"#));
        assert!(text.contains(r#"makonis_operator_reconcile_duration_seconds_count{controller="tenancy"} 2"#));
    }
}
