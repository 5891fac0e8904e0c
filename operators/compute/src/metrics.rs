//! Metrics of the compute controllers, besides the reconcile metrics every controller has.
//!
//! Labels are bounded: an outcome (`completed`, `failed`, `interrupted`), a compute kind
//! and a host pool name (pools are few and made by operators, not by agencies) — never a
//! machine, volume or backup name.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry};

/// What the compute controllers measure.
#[derive(Clone)]
pub struct ComputeMetrics {
    backups: IntCounterVec,
    backup_bytes: IntCounter,
    backup_duration: HistogramVec,
    restores: IntCounterVec,
    hosts: IntGaugeVec,
    status_mismatches: IntCounterVec,
}

impl ComputeMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let backups = IntCounterVec::new(
            Opts::new("makonis_compute_backups_total", "Backup runs that ended, by outcome."),
            &["outcome"],
        )?;
        let backup_bytes =
            IntCounter::new("makonis_compute_backup_bytes_total", "Bytes written by backups that completed.")?;
        let backup_duration = HistogramVec::new(
            HistogramOpts::new("makonis_compute_backup_duration_seconds", "Time from a backup's start to its end.")
                .buckets(vec![1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0]),
            &["outcome"],
        )?;
        let restores = IntCounterVec::new(
            Opts::new("makonis_compute_restores_total", "Restores that ended, by outcome."),
            &["outcome"],
        )?;
        let hosts = IntGaugeVec::new(
            Opts::new("makonis_compute_hosts", "Hosts of each host pool at the last check, by reachability."),
            &["pool", "reachable"],
        )?;
        let status_mismatches = IntCounterVec::new(
            Opts::new(
                "makonis_compute_status_mismatches_total",
                "Statuses found to disagree with the hosts (ignored and corrected), by kind.",
            ),
            &["kind"],
        )?;
        registry.register(Box::new(backups.clone()))?;
        registry.register(Box::new(backup_bytes.clone()))?;
        registry.register(Box::new(backup_duration.clone()))?;
        registry.register(Box::new(restores.clone()))?;
        registry.register(Box::new(hosts.clone()))?;
        registry.register(Box::new(status_mismatches.clone()))?;
        Ok(Self { backups, backup_bytes, backup_duration, restores, hosts, status_mismatches })
    }

    /// Records a backup run that ended with `outcome` after `elapsed`, having written
    /// `bytes` when it completed.
    pub fn record_backup(&self, outcome: &str, elapsed: Option<Duration>, bytes: u64) {
        self.backups.with_label_values(&[outcome]).inc();
        self.backup_bytes.inc_by(bytes);
        if let Some(elapsed) = elapsed {
            self.backup_duration.with_label_values(&[outcome]).observe(elapsed.as_secs_f64());
        }
    }

    /// Records a restore that ended with `outcome`.
    pub fn record_restore(&self, outcome: &str) {
        self.restores.with_label_values(&[outcome]).inc();
    }

    /// Records a status of a `kind` (e.g. `Volume`) that disagreed with the hosts.
    pub fn record_status_mismatch(&self, kind: &str) {
        self.status_mismatches.with_label_values(&[kind]).inc();
    }

    /// Sets how many hosts of `pool` answered and how many did not.
    pub fn set_hosts(&self, pool: &str, reachable: i64, unreachable: i64) {
        self.hosts.with_label_values(&[pool, "true"]).set(reachable);
        self.hosts.with_label_values(&[pool, "false"]).set(unreachable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_backups_restores_and_hosts() {
        let registry = Registry::new();
        let metrics = ComputeMetrics::register(&registry).unwrap();
        metrics.record_backup("completed", Some(Duration::from_secs(3)), 1 << 20);
        metrics.record_backup("interrupted", None, 0);
        metrics.record_restore("completed");
        metrics.set_hosts("local", 2, 1);
        metrics.record_status_mismatch("Volume");
        let text = prometheus::TextEncoder::new().encode_to_string(&registry.gather()).unwrap();
        assert!(text.contains(r#"makonis_compute_backups_total{outcome="completed"} 1"#), "{text}");
        assert!(text.contains(r#"makonis_compute_backups_total{outcome="interrupted"} 1"#));
        assert!(text.contains("makonis_compute_backup_bytes_total 1048576"));
        assert!(text.contains(r#"makonis_compute_backup_duration_seconds_count{outcome="completed"} 1"#));
        assert!(!text.contains(r#"makonis_compute_backup_duration_seconds_count{outcome="interrupted"}"#));
        assert!(text.contains(r#"makonis_compute_restores_total{outcome="completed"} 1"#));
        assert!(text.contains(r#"makonis_compute_hosts{pool="local",reachable="false"} 1"#));
        assert!(text.contains(r#"makonis_compute_hosts{pool="local",reachable="true"} 2"#));
        assert!(text.contains(r#"makonis_compute_status_mismatches_total{kind="Volume"} 1"#));
    }
}
