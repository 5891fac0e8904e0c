//! The window an objective is measured over.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{
    DAY_MS, Interval,
    calendar::{instant, local},
};

/// The period availability is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    /// The calendar month in Europe/Riga time that contains the moment.
    CalendarMonth,
    /// The last `days` days (28 or 30) up to the moment.
    Rolling {
        /// The window's length in days.
        days: u16,
    },
}

impl Window {
    /// The window that holds `now`: the whole Riga calendar month (also the part still to
    /// come), or the rolling `[now - days, now)`.
    pub fn containing(&self, now: i64) -> Interval {
        match *self {
            Window::CalendarMonth => {
                let (year, month) = month_of(now);
                month_span(year, month)
            }
            Window::Rolling { days } => Interval::new(now.saturating_sub(i64::from(days) * DAY_MS), now),
        }
    }
}

/// The calendar month `month` (1–12, clamped) of `year` in Europe/Riga time, from local
/// midnight of the 1st to local midnight of the 1st of the next month.
pub fn month_span(year: i16, month: i8) -> Interval {
    let month = month.clamp(1, 12);
    let next = if month == 12 { (year.saturating_add(1), 1) } else { (year, month + 1) };
    Interval::new(month_start(year, month), month_start(next.0, next.1))
}

/// The Riga calendar month `(year, month)` that holds Unix millisecond `at`.
pub fn month_of(at: i64) -> (i16, i8) {
    let date = local(at).date();
    (date.year(), date.month())
}

/// Unix ms of local midnight of the 1st of `month` (1–12); years clamped to −9999..=9999.
fn month_start(year: i16, month: i8) -> i64 {
    let first = Date::new(year.clamp(-9999, 9999), month, 1).expect("year and month are in range");
    instant(first.at(0, 0, 0, 0))
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::HOUR_MS;

    #[test]
    fn months_start_at_riga_midnight() {
        // January 2025 starts 2025-01-01 00:00 EET = 2024-12-31 22:00Z (UTC+2).
        let january = month_span(2025, 1);
        let expected = jiff::Timestamp::from_second(1_735_682_400).expect("in range").as_millisecond();
        assert_eq!(january.start, expected);
        assert_eq!(january.len(), 31 * 24 * HOUR_MS);
        // July is summer time (UTC+3): 2025-07-01 00:00 EEST = 2025-06-30 21:00Z.
        assert_eq!(local(month_span(2025, 7).start), date(2025, 7, 1).at(0, 0, 0, 0));
        // December ends where next January starts.
        assert_eq!(month_span(2024, 12).end, january.start);
    }

    #[test]
    fn dst_months_are_an_hour_shorter_or_longer() {
        // The clocks go forward on 31 March 2024 (743 h) and back on 25 October 2026 (745 h).
        assert_eq!(month_span(2024, 3).len(), 743 * HOUR_MS);
        assert_eq!(month_span(2026, 10).len(), 745 * HOUR_MS);
        assert_eq!(month_span(2024, 2).len(), 29 * 24 * HOUR_MS);
    }

    #[test]
    fn month_of_uses_riga_time() {
        let january = month_span(2025, 1);
        assert_eq!(month_of(january.start), (2025, 1));
        // One millisecond earlier it is still 2024 in Riga (though 22:00 on the 31st in UTC).
        assert_eq!(month_of(january.start - 1), (2024, 12));
        assert_eq!(month_of(january.end - 1), (2025, 1));
    }

    #[test]
    fn windows_contain_now() {
        let now = month_span(2026, 10).start + 10 * 24 * HOUR_MS;
        assert_eq!(Window::CalendarMonth.containing(now), month_span(2026, 10));
        assert_eq!(Window::Rolling { days: 28 }.containing(now), Interval::new(now - 28 * DAY_MS, now));
    }
}
