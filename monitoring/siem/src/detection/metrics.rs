//! The detection engine's metrics (names in `makonis_siem_core::metric_names`).

use makonis_siem_core::metric_names as names;
use prometheus::{Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// What the engine counts.
#[derive(Debug, Clone)]
pub struct DetectionMetrics {
    /// Stored events evaluated.
    pub events: IntCounter,
    /// Stored events that could not be read as a record.
    pub unreadable: IntCounter,
    /// Events later than the allowed lateness.
    pub too_late: IntCounter,
    /// Alerts by level and kind.
    pub alerts: IntCounterVec,
    /// Repeats folded into an open alert.
    pub suppressed: IntCounter,
    /// Seconds from receiving an alert's newest event to raising it.
    pub latency: Histogram,
    /// Seconds from receiving the event evaluated last to evaluating it.
    pub lag: Gauge,
    /// Rule objects by state.
    pub rules: IntGaugeVec,
    /// Correlation group keys held.
    pub groups: IntGauge,
    /// Batches of alerts sent to Alertmanager, by outcome.
    pub alertmanager: IntCounterVec,
}

impl DetectionMetrics {
    /// Registers the metrics.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let events = IntCounter::new(names::DETECTION_EVENTS_TOTAL, "Stored events evaluated by the detection rules")?;
        let unreadable =
            IntCounter::new(names::DETECTION_UNREADABLE_TOTAL, "Stored events detection could not read as a record")?;
        let too_late =
            IntCounter::new(names::DETECTION_TOO_LATE_TOTAL, "Events later than the allowed lateness, not correlated")?;
        let alerts = IntCounterVec::new(Opts::new(names::ALERTS_TOTAL, "Alerts raised"), &["level", "kind"])?;
        let suppressed = IntCounter::new(
            names::ALERTS_SUPPRESSED_TOTAL,
            "Repeats of a rule and group folded into their open alert",
        )?;
        registry.register(Box::new(suppressed.clone()))?;
        let latency = Histogram::with_opts(
            HistogramOpts::new(
                names::ALERT_LATENCY_SECONDS,
                "Seconds from receiving an alert's newest event to raising it",
            )
            .buckets(prometheus::exponential_buckets(0.001, 2.0, 16)?),
        )?;
        let rules = IntGaugeVec::new(Opts::new(names::DETECTION_RULES, "Detection rule objects by state"), &["state"])?;
        let groups = IntGauge::new(names::CORRELATION_GROUPS, "Correlation group keys held")?;
        let alertmanager = IntCounterVec::new(
            Opts::new(names::ALERTMANAGER_BATCHES_TOTAL, "Batches of alerts sent to Alertmanager, by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(alertmanager.clone()))?;
        registry.register(Box::new(events.clone()))?;
        registry.register(Box::new(unreadable.clone()))?;
        registry.register(Box::new(too_late.clone()))?;
        registry.register(Box::new(alerts.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        let lag = Gauge::new(
            names::DETECTION_LAG_SECONDS,
            "Seconds from receiving the event detection evaluated last to evaluating it",
        )?;
        registry.register(Box::new(lag.clone()))?;
        registry.register(Box::new(rules.clone()))?;
        registry.register(Box::new(groups.clone()))?;
        Ok(Self { events, unreadable, too_late, alerts, suppressed, latency, lag, rules, groups, alertmanager })
    }
}
