//! What the intake counted, per LogSource: the figures of each LogSource's status and of
//! the metrics.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

use jiff::Timestamp;

use super::metrics::SiemMetrics;

/// One LogSource's figures (or `unknown`'s).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Events stored.
    pub events: u64,
    /// Events stored that carry all five mandatory fields.
    pub complete: u64,
    /// Bytes received (stored and quarantined).
    pub bytes: u64,
    /// Frames and records quarantined.
    pub quarantined: u64,
    /// Messages received again (a RELP or HTTPS resend) and not stored twice.
    pub duplicates: u64,
    /// Event time of the newest event stored.
    pub last_event: Option<Timestamp>,
    /// When anything (event or quarantined) was last received from it.
    pub last_received: Option<Timestamp>,
    /// Events stored per minute (Unix minute → count): this minute and the five before.
    recent: BTreeMap<i64, u64>,
}

impl SourceStats {
    /// Counts `n` events stored at `now` towards the rate.
    pub fn count_events(&mut self, now: Timestamp, n: u64) {
        let minute = now.as_second().div_euclid(60);
        *self.recent.entry(minute).or_default() += n;
        self.recent.retain(|m, _| *m >= minute - 5);
    }

    /// Adds what one batch brought (`delta`, stored at `now`).
    fn absorb(&mut self, delta: &SourceStats, now: Timestamp) {
        self.events += delta.events;
        self.complete += delta.complete;
        self.bytes += delta.bytes;
        self.quarantined += delta.quarantined;
        self.duplicates += delta.duplicates;
        self.last_event = self.last_event.max(delta.last_event);
        self.last_received = self.last_received.max(delta.last_received);
        if delta.events > 0 {
            self.count_events(now, delta.events);
        }
    }

    /// Events per minute over the last five whole minutes before `now`; none before any.
    pub fn rate_per_minute(&self, now: Timestamp) -> Option<f64> {
        let minute = now.as_second().div_euclid(60);
        let total: u64 = self.recent.range(minute - 5..minute).map(|(_, n)| n).sum();
        (self.events > 0).then_some(total as f64 / 5.0)
    }
}

/// The intake's counters, and the metrics they are exported as once
/// [`Stats::export`] is called.
#[derive(Debug, Default)]
pub struct Stats {
    sources: Mutex<BTreeMap<String, SourceStats>>,
    udp_dropped: AtomicU64,
    metrics: OnceLock<SiemMetrics>,
}

impl Stats {
    /// Exports every figure from now on as `metrics` too; the first call wins.
    pub fn export(&self, metrics: SiemMetrics) {
        let _ = self.metrics.set(metrics);
    }

    /// The metrics, once exported.
    pub fn metrics(&self) -> Option<&SiemMetrics> {
        self.metrics.get()
    }

    /// Adds a stored batch's figures per source (taking the lock once).
    pub fn add(&self, deltas: &BTreeMap<String, SourceStats>, now: Timestamp) {
        let mut sources = self.sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (source, delta) in deltas {
            sources.entry(source.clone()).or_default().absorb(delta, now);
            if let Some(metrics) = self.metrics() {
                metrics.stored(source, delta);
            }
        }
    }

    /// Starts a source's figures from `figures` (what its status said before a restart),
    /// unless something was counted for it already.
    pub fn seed(&self, source: &str, figures: SourceStats) {
        let mut sources = self.sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sources.entry(source.to_owned()).or_insert(figures);
    }

    /// A source's figures so far.
    pub fn source(&self, source: &str) -> SourceStats {
        let sources = self.sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sources.get(source).cloned().unwrap_or_default()
    }

    /// Counts a UDP datagram dropped because the queue was full.
    pub fn udp_dropped(&self) {
        self.udp_dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = self.metrics() {
            metrics.udp_dropped();
        }
    }

    /// UDP datagrams dropped so far.
    pub fn udp_dropped_total(&self) -> u64 {
        self.udp_dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_counts_the_five_whole_minutes_before_now() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let mut stats = SourceStats::default();
        assert_eq!(stats.rate_per_minute(at("2026-12-06T12:00:00Z")), None, "nothing yet");
        for minute in ["11:54:30", "11:55:10", "11:55:50", "11:59:59", "12:00:01"] {
            stats.events += 1;
            stats.count_events(at(&format!("2026-12-06T{minute}Z")), 1);
        }
        // 11:55 to 11:59: three events (11:54 is older, 12:00 not yet whole).
        assert_eq!(stats.rate_per_minute(at("2026-12-06T12:00:30Z")), Some(0.6));
        assert_eq!(stats.rate_per_minute(at("2026-12-06T12:30:00Z")), Some(0.0), "a silence shows as zero");
    }
}
