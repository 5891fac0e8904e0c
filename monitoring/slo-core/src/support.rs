//! The support time of an objective: support hours minus maintenance windows.
//!
//! Local times are Europe/Riga wall-clock times turned into instants with the time zone,
//! so business hours stay 08:30–17:00 local across the changes to and from summer time.
//! A maintenance window starts at its local wall-clock time and lasts `duration_ms` of
//! elapsed time from there: a 4-hour window from 02:00 on the night the clocks go forward
//! ends at 07:00 summer time.

use jiff::civil::Date;

use crate::{
    DAY_MS, Interval, SupportHours, WeeklyWindow,
    calendar::{HolidayCalendar, days, instant, local},
    interval::{normalize, subtract},
};

/// The longest maintenance window, one week.
const WEEK_MS: i64 = 7 * DAY_MS;
/// The last minute of a day a window may start at.
const LAST_MINUTE: u16 = 24 * 60 - 1;

/// The support time inside `span`, normalized: all of it around the clock, or 08:30–17:00
/// Europe/Riga on working days.
pub fn support_time(hours: SupportHours, calendar: &HolidayCalendar, span: Interval) -> Vec<Interval> {
    if span.is_empty() {
        return Vec::new();
    }
    match hours {
        SupportHours::TwentyFourSeven => vec![span],
        SupportHours::BusinessHours => business_hours(calendar, span),
    }
}

/// The working days' 08:30–17:00 inside `span` (which is not empty).
fn business_hours(calendar: &HolidayCalendar, span: Interval) -> Vec<Interval> {
    local_days(span, 0)
        .filter(|day| calendar.is_working_day(*day))
        .filter_map(|day| Interval::new(instant(day.at(8, 30, 0, 0)), instant(day.at(17, 0, 0, 0))).intersect(span))
        .collect()
}

/// The Riga dates `span` (not empty) touches, starting `lead_ms` before it.
fn local_days(span: Interval, lead_ms: i64) -> impl Iterator<Item = Date> {
    days(local(span.start.saturating_sub(lead_ms)).date(), local(span.end - 1).date())
}

/// The weekly maintenance windows inside `span`, normalized, including windows that start
/// before it and reach into it. Starts past 23:59 count as 23:59; durations are clamped to
/// 0..=1 week.
pub fn maintenance_time(windows: &[WeeklyWindow], span: Interval) -> Vec<Interval> {
    if span.is_empty() || windows.is_empty() {
        return Vec::new();
    }
    // A window reaches back at most a week, and a day more covers the offset change.
    let occurrences = local_days(span, WEEK_MS + DAY_MS).flat_map(|day| {
        windows.iter().filter(move |window| window.weekday == day.weekday()).map(move |window| occurrence(window, day))
    });
    normalize(occurrences.filter_map(|occurrence| occurrence.intersect(span)).collect())
}

/// The window's occurrence starting on `day`.
fn occurrence(window: &WeeklyWindow, day: Date) -> Interval {
    let minute = window.start_minute.min(LAST_MINUTE);
    let hour = i8::try_from(minute / 60).expect("a start minute below 1440 is below hour 24");
    let minute = i8::try_from(minute % 60).expect("a minute of the hour is below 60");
    let start = instant(day.at(hour, minute, 0, 0));
    Interval::new(start, start.saturating_add(window.duration_ms.clamp(0, WEEK_MS)))
}

/// The time that counts inside `span`: support time minus maintenance, normalized.
pub fn counted_time(
    hours: SupportHours,
    maintenance: &[WeeklyWindow],
    calendar: &HolidayCalendar,
    span: Interval,
) -> Vec<Interval> {
    subtract(&support_time(hours, calendar, span), &maintenance_time(maintenance, span))
}

#[cfg(test)]
mod tests {
    use jiff::civil::{Weekday, date};

    use super::*;
    use crate::{HOUR_MS, MINUTE_MS, interval::total_ms, window::month_span};

    fn riga(day: Date, hour: i8, minute: i8) -> i64 {
        instant(day.at(hour, minute, 0, 0))
    }

    fn utc(day: Date, hour: i8, minute: i8) -> i64 {
        jiff::tz::TimeZone::UTC.to_timestamp(day.at(hour, minute, 0, 0)).expect("in range").as_millisecond()
    }

    #[test]
    fn around_the_clock_is_the_span() {
        let span = Interval::new(1_000, 5_000);
        assert_eq!(support_time(SupportHours::TwentyFourSeven, &HolidayCalendar::default(), span), vec![span]);
        let empty = Interval::new(5_000, 5_000);
        assert_eq!(support_time(SupportHours::TwentyFourSeven, &HolidayCalendar::default(), empty), vec![]);
    }

    #[test]
    fn business_hours_follow_riga_time_and_holidays() {
        // Monday 25 March to Monday 8 April 2024: the clocks go forward on Sunday 31 March,
        // Good Friday is 29 March and Easter Monday 1 April. Working days: 25–28 March and
        // 2–5 April, eight of them, 8.5 h each.
        let span = Interval::new(riga(date(2024, 3, 25), 0, 0), riga(date(2024, 4, 8), 0, 0));
        let hours = support_time(SupportHours::BusinessHours, &HolidayCalendar::default(), span);
        assert_eq!(hours.len(), 8);
        assert_eq!(total_ms(&hours), 8 * (8 * HOUR_MS + 30 * MINUTE_MS));
        // 08:30 winter time (UTC+2) is 06:30Z; 08:30 summer time (UTC+3) is 05:30Z.
        assert_eq!(hours[0], Interval::new(utc(date(2024, 3, 25), 6, 30), utc(date(2024, 3, 25), 15, 0)));
        assert_eq!(hours[4], Interval::new(utc(date(2024, 4, 2), 5, 30), utc(date(2024, 4, 2), 14, 0)));
    }

    #[test]
    fn business_hours_are_clipped_to_the_span() {
        // From 12:00 on Wednesday 15 January 2025 to 10:00 on Thursday: 5 h + 1.5 h.
        let span = Interval::new(riga(date(2025, 1, 15), 12, 0), riga(date(2025, 1, 16), 10, 0));
        let hours = support_time(SupportHours::BusinessHours, &HolidayCalendar::default(), span);
        assert_eq!(
            hours,
            vec![
                Interval::new(span.start, riga(date(2025, 1, 15), 17, 0)),
                Interval::new(riga(date(2025, 1, 16), 8, 30), span.end),
            ]
        );
    }

    #[test]
    fn business_hours_of_a_month() {
        // May 2025: 22 weekdays, minus 1 May (Thursday) and Monday 5 May (4 May was a
        // Sunday): 20 working days of 8.5 h = 170 h.
        let hours = support_time(SupportHours::BusinessHours, &HolidayCalendar::default(), month_span(2025, 5));
        assert_eq!(total_ms(&hours), 170 * HOUR_MS);
    }

    #[test]
    fn business_hours_follow_the_working_days_the_government_moved() {
        // 2025: Friday 2 May off by order, Saturday 10 May worked instead.
        let calendar = HolidayCalendar::declared([date(2025, 5, 2)], [date(2025, 5, 10)]).unwrap();
        let day = |d: i8| Interval::new(riga(date(2025, 5, d), 0, 0), riga(date(2025, 5, d + 1), 0, 0));
        assert_eq!(support_time(SupportHours::BusinessHours, &calendar, day(2)), vec![]);
        assert_eq!(
            support_time(SupportHours::BusinessHours, &calendar, day(10)),
            vec![Interval::new(riga(date(2025, 5, 10), 8, 30), riga(date(2025, 5, 10), 17, 0))]
        );
        assert_eq!(support_time(SupportHours::BusinessHours, &calendar, day(11)), vec![]);
        // The month keeps its 170 hours: one working day moved, none added.
        let hours = support_time(SupportHours::BusinessHours, &calendar, month_span(2025, 5));
        assert_eq!(total_ms(&hours), 170 * HOUR_MS);
    }

    #[test]
    fn maintenance_expands_weekly_and_reaches_into_the_span() {
        // Sundays 22:00 for 6 h. The span starts Monday 13 January 2025 00:00 and lasts a
        // week: the window of Sunday 12 January reaches in with 4 h, and Sunday 19 January
        // adds 2 h before the span ends.
        let windows = [WeeklyWindow { weekday: Weekday::Sunday, start_minute: 22 * 60, duration_ms: 6 * HOUR_MS }];
        let span = Interval::new(riga(date(2025, 1, 13), 0, 0), riga(date(2025, 1, 20), 0, 0));
        assert_eq!(
            maintenance_time(&windows, span),
            vec![
                Interval::new(span.start, riga(date(2025, 1, 13), 4, 0)),
                Interval::new(riga(date(2025, 1, 19), 22, 0), span.end),
            ]
        );
    }

    #[test]
    fn maintenance_over_the_dst_change_lasts_its_elapsed_duration() {
        let span = month_span(2024, 3);
        // Sunday 31 March 2024 02:00 EET (00:00Z) for 4 h ends at 04:00Z, 07:00 summer time.
        let windows = [WeeklyWindow { weekday: Weekday::Sunday, start_minute: 2 * 60, duration_ms: 4 * HOUR_MS }];
        let found = maintenance_time(&windows, span);
        assert_eq!(found.len(), 5);
        assert_eq!(found[4], Interval::new(utc(date(2024, 3, 31), 0, 0), utc(date(2024, 3, 31), 4, 0)));
        // 03:30 does not exist that night: the window starts at 04:30 summer time (01:30Z).
        let skipped = [WeeklyWindow { weekday: Weekday::Sunday, start_minute: 3 * 60 + 30, duration_ms: HOUR_MS }];
        let found = maintenance_time(&skipped, span);
        assert_eq!(found[4].start, utc(date(2024, 3, 31), 1, 30));
    }

    #[test]
    fn counted_time_is_support_minus_maintenance() {
        // Wednesdays 12:00–13:00 maintenance in business hours on Wednesday 15 January 2025.
        let windows = [WeeklyWindow { weekday: Weekday::Wednesday, start_minute: 12 * 60, duration_ms: HOUR_MS }];
        let day = date(2025, 1, 15);
        let span = Interval::new(riga(day, 0, 0), riga(date(2025, 1, 16), 0, 0));
        let counted = counted_time(SupportHours::BusinessHours, &windows, &HolidayCalendar::default(), span);
        assert_eq!(
            counted,
            vec![Interval::new(riga(day, 8, 30), riga(day, 12, 0)), Interval::new(riga(day, 13, 0), riga(day, 17, 0)),]
        );
        // Around the clock the same day loses one hour of 24.
        let counted = counted_time(SupportHours::TwentyFourSeven, &windows, &HolidayCalendar::default(), span);
        assert_eq!(total_ms(&counted), 23 * HOUR_MS);
    }
}
