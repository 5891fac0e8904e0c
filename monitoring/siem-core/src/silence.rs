//! When LogSources went silent: a LogSource's silence (`spec.silenceAfter`, e.g. `15m`)
//! and the times within a month it sent nothing for longer, worked out from the minutes in
//! which its events arrived. The monthly report lists them, so that a source that was down
//! for a night in the middle of the month shows, and not only one that is down now.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A LogSource's `spec.silenceAfter` (`15m`, `2h`), or `None` when it is not one.
pub fn parse_silence(text: &str) -> Option<SignedDuration> {
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let number: i64 = number.parse().ok()?;
    match unit {
        "m" => Some(SignedDuration::from_mins(number)),
        "h" => Some(SignedDuration::from_hours(number)),
        _ => None,
    }
}

/// A LogSource whose silences a report looks for, as the portal knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    /// `namespace/name`.
    pub source: String,
    /// Its silence, in minutes (`spec.silenceAfter`).
    pub silence_minutes: u32,
    /// When it was created (RFC 3339): nothing before counts as silence.
    pub since: String,
}

/// A time a LogSource sent nothing for longer than its silence allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// `namespace/name`.
    pub source: String,
    /// From the end of the minute of its last event before (or the start of the month, or
    /// its creation), RFC 3339.
    pub from: String,
    /// To the start of the minute of its next event (or the end of the month, or now).
    pub to: String,
    /// How long, in minutes.
    pub minutes: u64,
}

/// The minutes of a month in which each watched LogSource's events arrived.
#[derive(Debug, Clone)]
pub struct Activity {
    /// The month's start.
    start: Timestamp,
    /// Its minutes.
    minutes: usize,
    /// One bit per minute, per source.
    heard: BTreeMap<String, Vec<u64>>,
}

impl Activity {
    /// No events yet of `sources`, in `from..to`.
    pub fn new(from: Timestamp, to: Timestamp, sources: impl IntoIterator<Item = String>) -> Self {
        let minutes = usize::try_from(to.duration_since(from).as_mins().max(0)).unwrap_or(0);
        let words = minutes.div_ceil(64);
        Self { start: from, minutes, heard: sources.into_iter().map(|source| (source, vec![0; words])).collect() }
    }

    /// An event of `source` arrived at `at_us` (µs since the epoch); others, and times
    /// outside the month, are not counted.
    pub fn heard(&mut self, source: &str, at_us: i64) {
        let Some(bits) = self.heard.get_mut(source) else { return };
        let minute = (at_us - self.start.as_microsecond()).div_euclid(60_000_000);
        if let Ok(minute) = usize::try_from(minute)
            && minute < self.minutes
        {
            bits[minute / 64] |= 1 << (minute % 64);
        }
    }

    /// Every time a watched source sent nothing for at least its silence, up to `end`
    /// (the month's end, or now for the current month), by source then time.
    pub fn silences(&self, watched: &[Watched], end: Timestamp) -> Vec<Silence> {
        let minute_of = |at: Timestamp| {
            let minute = at.duration_since(self.start).as_mins().clamp(0, self.minutes as i64);
            minute as usize
        };
        let at = |minute: usize| (self.start + SignedDuration::from_mins(minute as i64)).to_string();
        let end = minute_of(end);
        let mut silences = Vec::new();
        for source in watched {
            let Some(bits) = self.heard.get(&source.source) else { continue };
            let since = source.since.parse().map(minute_of).unwrap_or(0);
            let allowed = source.silence_minutes.max(1) as usize;
            let mut quiet_from = since;
            let mut record = |from: usize, to: usize| {
                if to > from && to - from >= allowed {
                    silences.push(Silence {
                        source: source.source.clone(),
                        from: at(from),
                        to: at(to),
                        minutes: (to - from) as u64,
                    });
                }
            };
            for minute in since..end {
                if bits[minute / 64] & (1 << (minute % 64)) != 0 {
                    record(quiet_from, minute);
                    quiet_from = minute + 1;
                }
            }
            record(quiet_from, end);
        }
        silences
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn watched(source: &str, silence_minutes: u32, since: &str) -> Watched {
        Watched { source: source.into(), silence_minutes, since: since.into() }
    }

    #[test]
    fn silences_parse_as_the_crd_writes_them() {
        assert_eq!(parse_silence("15m"), Some(SignedDuration::from_mins(15)));
        assert_eq!(parse_silence("2h"), Some(SignedDuration::from_hours(2)));
        assert_eq!(parse_silence("15"), None);
        assert_eq!(parse_silence(""), None);
        assert_eq!(parse_silence("m"), None);
    }

    #[test]
    fn a_night_without_events_is_a_silence_and_short_pauses_are_not() {
        let (from, to) = (t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z"));
        let mut activity = Activity::new(from, to, ["lm/dc".to_owned(), "lm/web".to_owned()]);
        // Every 10 minutes on the 3rd, except 01:00 to 05:00.
        for minute in (0..24 * 60).step_by(10) {
            if !(60..300).contains(&minute) {
                let at = t("2026-11-03T00:00:30Z") + SignedDuration::from_mins(minute);
                activity.heard("lm/dc", at.as_microsecond());
            }
        }
        activity.heard("someone/else", t("2026-11-03T00:00:00Z").as_microsecond());
        activity.heard("lm/dc", t("2026-12-03T00:00:00Z").as_microsecond());
        let sources = [watched("lm/dc", 15, "2026-11-03T00:00:00Z"), watched("lm/web", 60, "2026-11-20T08:00:00Z")];
        let silences = activity.silences(&sources, t("2026-11-30T00:00:00Z"));
        let found: Vec<_> =
            silences.iter().map(|s| (s.source.as_str(), s.from.as_str(), s.to.as_str(), s.minutes)).collect();
        assert_eq!(
            found,
            [
                // The night: from the end of 00:50's minute to the start of 05:00's.
                ("lm/dc", "2026-11-03T00:51:00Z", "2026-11-03T05:00:00Z", 249),
                // After its last event (23:50) to the end of the period.
                ("lm/dc", "2026-11-03T23:51:00Z", "2026-11-30T00:00:00Z", 26 * 24 * 60 + 9),
                // Never heard since it was made.
                ("lm/web", "2026-11-20T08:00:00Z", "2026-11-30T00:00:00Z", 9 * 24 * 60 + 16 * 60),
            ]
        );
    }

    #[test]
    fn a_source_made_after_the_period_or_heard_every_minute_is_never_silent() {
        let (from, to) = (t("2026-11-01T00:00:00Z"), t("2026-11-02T00:00:00Z"));
        let mut activity = Activity::new(from, to, ["a/b".to_owned()]);
        for minute in 0..24 * 60 {
            activity.heard("a/b", (from + SignedDuration::from_mins(minute)).as_microsecond());
        }
        assert_eq!(activity.silences(&[watched("a/b", 1, "2026-10-01T00:00:00Z")], to), []);
        let later = Activity::new(from, to, ["c/d".to_owned()]);
        assert_eq!(later.silences(&[watched("c/d", 5, "2026-11-05T00:00:00Z")], to), []);
    }
}
