//! The SIEM's Prometheus metrics, named in [`makonis_siem_core::metric_names`]: what the
//! intake received per LogSource, the queue, the store's appends and failures, closing
//! and retention, the LogSources by state, and the search API's questions and the
//! partitions its reports verified.

use makonis_siem_core::metric_names as names;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

use super::SourceStats;

/// Every metric of the SIEM, registered once.
#[derive(Debug, Clone)]
pub struct SiemMetrics {
    events: IntCounterVec,
    complete: IntCounterVec,
    bytes: IntCounterVec,
    quarantined: IntCounterVec,
    duplicates: IntCounterVec,
    last_event: IntGaugeVec,
    udp_dropped: IntCounter,
    queue: IntGauge,
    /// `--queue`, set once at start.
    pub queue_capacity: IntGauge,
    append: Histogram,
    store_errors: IntCounterVec,
    checkpoints: IntCounterVec,
    removed: IntCounterVec,
    sources: IntGaugeVec,
    reads: IntCounterVec,
    read_seconds: HistogramVec,
    verified: IntCounterVec,
}

impl SiemMetrics {
    /// Creates the metrics and registers them with `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let counter = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntCounterVec> {
            let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let gauge = |name: &str, help: &str| -> prometheus::Result<IntGauge> {
            let metric = IntGauge::new(name, help)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let gauges = |name: &str, help: &str, labels: &[&str]| -> prometheus::Result<IntGaugeVec> {
            let metric = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(metric.clone()))?;
            Ok(metric)
        };
        let udp_dropped =
            IntCounter::new(names::UDP_DROPPED_TOTAL, "UDP datagrams dropped: the store's queue was full")?;
        registry.register(Box::new(udp_dropped.clone()))?;
        let append = Histogram::with_opts(
            HistogramOpts::new(names::STORE_APPEND_SECONDS, "Time to store one merged batch durably")
                .buckets(prometheus::exponential_buckets(0.001, 2.0, 14)?),
        )?;
        registry.register(Box::new(append.clone()))?;
        let read_seconds = HistogramVec::new(
            HistogramOpts::new(names::READ_SECONDS, "Time to answer one question to the search API")
                .buckets(prometheus::exponential_buckets(0.001, 2.0, 14)?),
            &["route"],
        )?;
        registry.register(Box::new(read_seconds.clone()))?;
        Ok(Self {
            events: counter(names::EVENTS_TOTAL, "Events stored, per LogSource", &["source"])?,
            complete: counter(
                names::EVENTS_COMPLETE_TOTAL,
                "Events stored with all five mandatory fields of Regulation 442",
                &["source"],
            )?,
            bytes: counter(names::RECEIVED_BYTES_TOTAL, "Bytes received, stored or quarantined", &["source"])?,
            quarantined: counter(
                names::QUARANTINED_TOTAL,
                "Frames and records quarantined, by reason",
                &["source", "reason"],
            )?,
            duplicates: counter(names::DUPLICATES_TOTAL, "Resent messages recognised and stored once", &["source"])?,
            last_event: gauges(
                names::LAST_EVENT_TIMESTAMP_SECONDS,
                "Unix time of the newest event stored",
                &["source"],
            )?,
            udp_dropped,
            queue: gauge(names::QUEUE_BATCHES, "Batches waiting for the store")?,
            queue_capacity: gauge(names::QUEUE_CAPACITY, "Batches the queue to the store holds at most")?,
            append,
            store_errors: counter(names::STORE_ERRORS_TOTAL, "Failed store operations, by category", &["category"])?,
            checkpoints: counter(
                names::CHECKPOINTS_TOTAL,
                "Partitions closed (signed) or refused a signature",
                &["outcome"],
            )?,
            removed: counter(names::PARTITIONS_REMOVED_TOTAL, "Partitions removed by retention", &["category"])?,
            sources: gauges(names::SOURCES, "LogSources by state", &["state"])?,
            reads: counter(
                names::READS_TOTAL,
                "Questions to the search API, by route and outcome",
                &["route", "outcome"],
            )?,
            read_seconds,
            verified: counter(
                names::PARTITIONS_VERIFIED_TOTAL,
                "Partitions verified for a monthly report, intact or broken",
                &["outcome"],
            )?,
        })
    }

    /// Adds one stored batch's figures of `source`.
    pub(super) fn stored(&self, source: &str, delta: &SourceStats) {
        self.events.with_label_values(&[source]).inc_by(delta.events);
        self.complete.with_label_values(&[source]).inc_by(delta.complete);
        self.bytes.with_label_values(&[source]).inc_by(delta.bytes);
        self.duplicates.with_label_values(&[source]).inc_by(delta.duplicates);
        if let Some(last) = delta.last_event {
            let gauge = self.last_event.with_label_values(&[source]);
            gauge.set(gauge.get().max(last.as_second()));
        }
    }

    /// Counts a quarantined frame or record.
    pub fn quarantined(&self, source: &str, reason: &str) {
        self.quarantined.with_label_values(&[source, reason]).inc();
    }

    /// Counts a dropped UDP datagram.
    pub(super) fn udp_dropped(&self) {
        self.udp_dropped.inc();
    }

    /// Sets how many batches wait in the queue.
    pub fn queue_len(&self, batches: usize) {
        self.queue.set(i64::try_from(batches).unwrap_or(i64::MAX));
    }

    /// Records how long a durable append took.
    pub fn appended(&self, seconds: f64) {
        self.append.observe(seconds);
    }

    /// Counts a failed store operation.
    pub fn store_error(&self, category: &str) {
        self.store_errors.with_label_values(&[category]).inc();
    }

    /// Counts closed partitions: `signed` signed, `refused` refused a signature.
    pub fn checkpoints(&self, signed: usize, refused: usize) {
        self.checkpoints.with_label_values(&["signed"]).inc_by(signed as u64);
        self.checkpoints.with_label_values(&["refused"]).inc_by(refused as u64);
    }

    /// Counts a question to the search API's `route` that ended as `outcome`, and how
    /// long it took.
    pub fn read(&self, route: &str, outcome: &str, seconds: f64) {
        self.reads.with_label_values(&[route, outcome]).inc();
        self.read_seconds.with_label_values(&[route]).observe(seconds);
    }

    /// Counts partitions verified for a report: `intact` and `broken`.
    pub fn verified(&self, intact: usize, broken: usize) {
        self.verified.with_label_values(&["intact"]).inc_by(intact as u64);
        self.verified.with_label_values(&["broken"]).inc_by(broken as u64);
    }

    /// Counts a partition of `category` removed by retention.
    pub fn removed(&self, category: &str) {
        self.removed.with_label_values(&[category]).inc();
    }

    /// Sets how many LogSources are in each state.
    pub fn sources(&self, counts: &[(&str, usize)]) {
        for (state, count) in counts {
            self.sources.with_label_values(&[state]).set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
    }
}
