//! What the identity controllers ask of the directory: LDAP requests by operation and
//! outcome, and how long they take. Labels are bounded: an operation name and an error
//! category, never a DN.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use super::DirectoryError;

/// The LDAP request metrics.
#[derive(Clone)]
pub struct LdapMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl LdapMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(
                "makonis_identity_ldap_requests_total",
                "LDAP requests to the directory, by operation (bind, search, add, modify, rename, delete) and \
                 outcome (ok or an error category).",
            ),
            &["operation", "outcome"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("makonis_identity_ldap_request_seconds", "Time an LDAP request took, by operation.")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0]),
            &["operation"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self { requests, duration })
    }

    /// Records one `operation` that took `elapsed` and ended as `result` says.
    pub fn record<T>(&self, operation: &'static str, elapsed: Duration, result: &Result<T, DirectoryError>) {
        let outcome = match result {
            Ok(_) => "ok",
            Err(error) => error.category(),
        };
        self.requests.with_label_values(&[operation, outcome]).inc();
        self.duration.with_label_values(&[operation]).observe(elapsed.as_secs_f64());
    }
}
