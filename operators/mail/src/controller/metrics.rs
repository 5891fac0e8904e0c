//! The mail system's own metrics: what it serves and how its reloads go.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

/// Counters and gauges of the mail controller.
#[derive(Clone)]
pub struct MailMetrics {
    served: IntGaugeVec,
    reloads: IntCounterVec,
}

impl MailMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let served = IntGaugeVec::new(
            Opts::new("makonis_mail_served", "What the mail system serves, by kind (domains, mailboxes, routes)"),
            &["kind"],
        )?;
        let reloads = IntCounterVec::new(
            Opts::new("makonis_mail_reloads_total", "Configuration reloads of the mail servers, by server and outcome"),
            &["server", "outcome"],
        )?;
        registry.register(Box::new(served.clone()))?;
        registry.register(Box::new(reloads.clone()))?;
        Ok(Self { served, reloads })
    }

    /// Records the size of the plan.
    pub fn record_served(&self, domains: usize, mailboxes: usize, routes: usize) {
        for (kind, count) in [("domains", domains), ("mailboxes", mailboxes), ("routes", routes)] {
            self.served.with_label_values(&[kind]).set(count as i64);
        }
    }

    /// Counts one reload of `server` (`reloaded`, `not_running` or `failed`).
    pub fn record_reload(&self, server: &str, outcome: &str) {
        self.reloads.with_label_values(&[server, outcome]).inc();
    }
}
