//! The year and zone an RFC 3164 timestamp leaves out.
//!
//! `Dec 31 23:59:58` received on 1 January belongs to the year before; `Jan  1 00:00:01`
//! received on 31 December (a sender's clock a little ahead) to the year after. Of the
//! three candidate years around the receive time, the one that puts the event nearest
//! to it wins. The wall-clock time is read in the LogSource's zone (Europe/Riga unless it
//! says otherwise); in the hour repeated when summer time ends, the earlier one is taken.

use jiff::{
    Timestamp,
    civil::{Date, DateTime, Time},
    tz::TimeZone,
};

/// The receive time and the source's zone, which complete RFC 3164 timestamps.
#[derive(Debug, Clone)]
pub struct LegacyClock {
    /// When the message was received (UTC).
    pub received: Timestamp,
    /// The zone the source writes its wall-clock times in.
    pub zone: TimeZone,
    /// The year of every timestamp that has none, when it is known (a file replayed
    /// long after it was written); otherwise the year nearest the receive time.
    pub year: Option<i16>,
}

impl LegacyClock {
    /// A clock for messages received at `received` from a source in `zone`.
    pub fn new(received: Timestamp, zone: TimeZone) -> Self {
        Self { received, zone, year: None }
    }

    /// The same clock, with `year` for every timestamp that has none.
    pub fn with_year(self, year: i16) -> Self {
        Self { year: Some(year), ..self }
    }

    /// The instant of a wall-clock time, the year given or inferred.
    pub fn complete(&self, year: Option<i16>, month: i8, day: i8, time: Time) -> Option<Timestamp> {
        let at = |year: i16| -> Option<Timestamp> {
            let date = Date::new(year, month, day).ok()?;
            self.zone.to_ambiguous_timestamp(DateTime::from_parts(date, time)).compatible().ok()
        };
        if let Some(year) = year.or(self.year) {
            return at(year);
        }
        let received_year = self.zone.to_datetime(self.received).year();
        [received_year - 1, received_year, received_year + 1]
            .into_iter()
            .filter_map(at)
            .min_by_key(|t| t.duration_since(self.received).unsigned_abs())
    }
}
