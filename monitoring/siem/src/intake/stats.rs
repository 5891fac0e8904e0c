//! What the intake counted, per LogSource: the figures of each LogSource's status and of
//! the metrics.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use jiff::Timestamp;

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
    /// Event time of the newest event stored.
    pub last_event: Option<Timestamp>,
}

/// The intake's counters.
#[derive(Debug, Default)]
pub struct Stats {
    sources: Mutex<BTreeMap<String, SourceStats>>,
    udp_dropped: AtomicU64,
}

impl Stats {
    /// Adds to a source's figures.
    pub fn update(&self, source: &str, change: impl FnOnce(&mut SourceStats)) {
        let mut sources = self.sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        change(sources.entry(source.to_owned()).or_default());
    }

    /// A source's figures so far.
    pub fn source(&self, source: &str) -> SourceStats {
        let sources = self.sources.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sources.get(source).cloned().unwrap_or_default()
    }

    /// Counts a UDP datagram dropped because the queue was full.
    pub fn udp_dropped(&self) {
        self.udp_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// UDP datagrams dropped so far.
    pub fn udp_dropped_total(&self) -> u64 {
        self.udp_dropped.load(Ordering::Relaxed)
    }
}
