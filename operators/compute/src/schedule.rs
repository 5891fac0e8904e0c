//! Cron schedules: parsing the standard five-field syntax and finding the next firing time.
//!
//! A [`Schedule`] is parsed from `minute hour day-of-month month day-of-week` with `*`, lists (`a,b`), ranges
//! (`a-b`), steps (`*/n`, `a-b/n`, `a/n`), month names (`jan`–`dec`), weekday names (`sun`–`sat`, where both `0`
//! and `7` mean Sunday), all case-insensitive, or from one of the macros `@hourly`, `@daily`, `@midnight`,
//! `@weekly`, `@monthly`, `@yearly` and `@annually`.
//!
//! As in Vixie cron, when both the day-of-month and the day-of-week field are restricted (neither starts with
//! `*`), a day matches when either of them matches; otherwise both must match.
//!
//! Firing times are evaluated on the wall clock of a time zone. A wall time skipped by a daylight-saving jump
//! fires shifted forward by the length of the gap (jiff's compatible disambiguation: 03:30 on a day when 03:00
//! jumps to 04:00 fires at 04:30 summer time). A wall time that occurs twice fires once, at the earlier instant.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// How far ahead [`Schedule::next_after`] looks before giving up: long enough to reach 29 February across a
/// skipped leap year such as 2100.
const HORIZON_YEARS: i16 = 8;

/// One of the five fields of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Minute of the hour, 0–59.
    Minute,
    /// Hour of the day, 0–23.
    Hour,
    /// Day of the month, 1–31.
    DayOfMonth,
    /// Month, 1–12 or `jan`–`dec`.
    Month,
    /// Day of the week, 0–7 (0 and 7 are Sunday) or `sun`–`sat`.
    DayOfWeek,
}

impl Field {
    const ALL: [Field; 5] = [Field::Minute, Field::Hour, Field::DayOfMonth, Field::Month, Field::DayOfWeek];

    /// The field's position in the expression, counting from 1.
    pub fn number(self) -> usize {
        match self {
            Field::Minute => 1,
            Field::Hour => 2,
            Field::DayOfMonth => 3,
            Field::Month => 4,
            Field::DayOfWeek => 5,
        }
    }

    /// The field's name as used in error messages, e.g. `day-of-month`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }

    fn bounds(self) -> (u64, u64) {
        match self {
            Field::Minute => (0, 59),
            Field::Hour => (0, 23),
            Field::DayOfMonth => (1, 31),
            Field::Month => (1, 12),
            Field::DayOfWeek => (0, 7),
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Field::Month => &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
            Field::DayOfWeek => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
            _ => &[],
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Field::Month => "a number or a month name",
            Field::DayOfWeek => "a number or a weekday name",
            _ => "a number",
        }
    }
}

/// What is wrong with one field of a cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// A value lies outside the field's range.
    #[error("{value} is outside {min}–{max}")]
    OutOfRange {
        /// The value as written.
        value: u64,
        /// The smallest allowed value.
        min: u64,
        /// The largest allowed value.
        max: u64,
    },
    /// A value is neither a number nor a name the field accepts.
    #[error("{text:?} is not {expected}")]
    NotAValue {
        /// The text as written.
        text: String,
        /// What the field accepts, e.g. `a number or a month name`.
        expected: &'static str,
    },
    /// A step is not a number.
    #[error("step {text:?} is not a number")]
    StepNotANumber {
        /// The step as written.
        text: String,
    },
    /// A step of zero.
    #[error("step 0 is not allowed")]
    ZeroStep,
    /// A range whose start lies after its end.
    #[error("range {text:?} runs backwards ({start} is after {end})")]
    Backwards {
        /// The range as written.
        text: String,
        /// The start value.
        start: u64,
        /// The end value.
        end: u64,
    },
    /// A list with an empty entry, e.g. `1,,2` or a trailing comma.
    #[error("empty entry in list {list:?}")]
    EmptyEntry {
        /// The whole field as written.
        list: String,
    },
}

/// Why a cron expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression does not have exactly five fields.
    #[error("expected 5 fields (minute hour day-of-month month day-of-week), found {found}")]
    FieldCount {
        /// How many whitespace-separated fields were found.
        found: usize,
    },
    /// The expression starts with `@` but is not a known macro.
    #[error(
        "unknown macro {text:?}; expected one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually"
    )]
    UnknownMacro {
        /// The macro as written.
        text: String,
    },
    /// One field is invalid.
    #[error("field {} ({}): {problem}", .field.number(), .field.name())]
    Field {
        /// The offending field.
        field: Field,
        /// What is wrong with it.
        problem: FieldProblem,
    },
}

/// A parsed cron schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    day_of_month_restricted: bool,
    day_of_week_restricted: bool,
}

impl Schedule {
    /// Parses a five-field cron expression or a macro such as `@daily`.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let trimmed = text.trim();
        let expanded = if trimmed.starts_with('@') {
            expand_macro(trimmed).ok_or_else(|| ScheduleError::UnknownMacro { text: trimmed.to_string() })?
        } else {
            trimmed
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != Field::ALL.len() {
            return Err(ScheduleError::FieldCount { found: fields.len() });
        }
        let mut masks = [0u64; 5];
        for ((mask, field), field_text) in masks.iter_mut().zip(Field::ALL).zip(&fields) {
            *mask = parse_field(field_text, field).map_err(|problem| ScheduleError::Field { field, problem })?;
        }
        let [minutes, hours, days_of_month, months, mut days_of_week] = masks;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        Ok(Schedule {
            text: text.to_string(),
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            day_of_month_restricted: !fields[2].starts_with('*'),
            day_of_week_restricted: !fields[4].starts_with('*'),
        })
    }

    /// The text this schedule was parsed from, exactly as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first firing time strictly after `after`, on the wall clock of `tz`, or `None` if nothing matches
    /// within eight years.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = tz.to_datetime(after);
        let horizon = start.date().year().checked_add(HORIZON_YEARS)?;
        let mut from = next_minute(start)?;
        // Times inside a daylight-saving gap are shifted forward, so one of them may land later than a wall
        // time just after the gap; keep the earliest until an unshifted time is found.
        let mut shifted: Option<Timestamp> = None;
        while let Some(candidate) = self.next_wall_time(from, horizon) {
            let ambiguous = tz.to_ambiguous_timestamp(candidate);
            let (instant, in_gap) = match ambiguous.offset() {
                AmbiguousOffset::Gap { .. } => (ambiguous.compatible().ok()?, true),
                _ => (ambiguous.earlier().ok()?, false),
            };
            if instant > after {
                if !in_gap {
                    return Some(shifted.map_or(instant, |s| s.min(instant)));
                }
                shifted = Some(shifted.map_or(instant, |s| s.min(instant)));
            }
            from = next_minute(candidate)?;
        }
        shifted
    }

    /// The first matching wall time at or after `from`, or `None` once the year passes `horizon`.
    fn next_wall_time(&self, from: DateTime, horizon: i16) -> Option<DateTime> {
        let mut date = from.date();
        let mut hour = from.hour() as u32;
        let mut minute = from.minute() as u32;
        while date.year() <= horizon {
            if !has(self.months, date.month() as u32) {
                date = date.last_of_month().tomorrow().ok()?;
                (hour, minute) = (0, 0);
                continue;
            }
            if !self.day_matches(date) {
                date = date.tomorrow().ok()?;
                (hour, minute) = (0, 0);
                continue;
            }
            let Some(h) = first_at_or_after(self.hours, hour, 23) else {
                date = date.tomorrow().ok()?;
                (hour, minute) = (0, 0);
                continue;
            };
            if h > hour {
                minute = 0;
            }
            match first_at_or_after(self.minutes, minute, 59) {
                Some(m) => return Some(date.at(h as i8, m as i8, 0, 0)),
                None if h < 23 => (hour, minute) = (h + 1, 0),
                None => {
                    date = date.tomorrow().ok()?;
                    (hour, minute) = (0, 0);
                }
            }
        }
        None
    }

    fn day_matches(&self, date: Date) -> bool {
        let by_month_day = has(self.days_of_month, date.day() as u32);
        let by_weekday = has(self.days_of_week, date.weekday().to_sunday_zero_offset() as u32);
        if self.day_of_month_restricted && self.day_of_week_restricted {
            by_month_day || by_weekday
        } else {
            by_month_day && by_weekday
        }
    }
}

fn expand_macro(text: &str) -> Option<&'static str> {
    let expansion = match text.to_ascii_lowercase().as_str() {
        "@hourly" => "0 * * * *",
        "@daily" | "@midnight" => "0 0 * * *",
        "@weekly" => "0 0 * * 0",
        "@monthly" => "0 0 1 * *",
        "@yearly" | "@annually" => "0 0 1 1 *",
        _ => return None,
    };
    Some(expansion)
}

/// The wall time one minute after `dt`, with seconds dropped.
fn next_minute(dt: DateTime) -> Option<DateTime> {
    let (hour, minute) = (dt.hour(), dt.minute());
    if minute < 59 {
        Some(dt.date().at(hour, minute + 1, 0, 0))
    } else if hour < 23 {
        Some(dt.date().at(hour + 1, 0, 0, 0))
    } else {
        Some(dt.date().tomorrow().ok()?.at(0, 0, 0, 0))
    }
}

fn has(mask: u64, value: u32) -> bool {
    mask & (1 << value) != 0
}

fn first_at_or_after(mask: u64, from: u32, max: u32) -> Option<u32> {
    let value = (mask >> from).trailing_zeros().checked_add(from)?;
    (value <= max).then_some(value)
}

fn parse_field(text: &str, field: Field) -> Result<u64, FieldProblem> {
    let (min, max) = field.bounds();
    let mut mask = 0u64;
    for entry in text.split(',') {
        if entry.is_empty() {
            return Err(FieldProblem::EmptyEntry { list: text.to_string() });
        }
        let (range, step) = match entry.split_once('/') {
            Some((range, step)) => (range, Some(parse_step(step)?)),
            None => (entry, None),
        };
        let (start, end) = if range == "*" {
            (min, max)
        } else if let Some((first, last)) = range.split_once('-') {
            let (start, end) = (parse_value(first, field)?, parse_value(last, field)?);
            if start > end {
                return Err(FieldProblem::Backwards { text: range.to_string(), start, end });
            }
            (start, end)
        } else {
            let value = parse_value(range, field)?;
            (value, if step.is_some() { max } else { value })
        };
        for value in (start..=end).step_by(step.unwrap_or(1) as usize) {
            mask |= 1 << value;
        }
    }
    Ok(mask)
}

fn parse_step(text: &str) -> Result<u64, FieldProblem> {
    match parse_number(text) {
        Some(0) => Err(FieldProblem::ZeroStep),
        Some(step) => Ok(step),
        None => Err(FieldProblem::StepNotANumber { text: text.to_string() }),
    }
}

fn parse_value(text: &str, field: Field) -> Result<u64, FieldProblem> {
    let (min, max) = field.bounds();
    let named = field.names().iter().position(|name| name.eq_ignore_ascii_case(text)).map(|index| index as u64 + min);
    let value = named
        .or_else(|| parse_number(text))
        .ok_or_else(|| FieldProblem::NotAValue { text: text.to_string(), expected: field.expected() })?;
    if value < min || value > max {
        return Err(FieldProblem::OutOfRange { value, min, max });
    }
    Ok(value)
}

fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn riga() -> TimeZone {
        TimeZone::get("Europe/Riga").unwrap()
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// The next `count` firing times after `start` (UTC text), as UTC text.
    fn fires(expr: &str, start: &str, tz: &TimeZone, count: usize) -> Vec<String> {
        let schedule = Schedule::parse(expr).unwrap();
        let mut at = ts(start);
        let mut out = Vec::new();
        for _ in 0..count {
            at = schedule.next_after(at, tz).unwrap();
            out.push(at.to_string());
        }
        out
    }

    fn error(expr: &str) -> String {
        Schedule::parse(expr).unwrap_err().to_string()
    }

    #[test]
    fn every_minute_is_strictly_after() {
        assert_eq!(
            fires("* * * * *", "2026-01-01T10:00:00Z", &TimeZone::UTC, 2),
            ["2026-01-01T10:01:00Z", "2026-01-01T10:02:00Z"]
        );
        assert_eq!(fires("* * * * *", "2026-01-01T10:00:59.9Z", &TimeZone::UTC, 1), ["2026-01-01T10:01:00Z"]);
    }

    #[test]
    fn lists_ranges_and_steps() {
        assert_eq!(
            fires("5,20 9-10 * * *", "2026-01-01T00:00:00Z", &TimeZone::UTC, 5),
            [
                "2026-01-01T09:05:00Z",
                "2026-01-01T09:20:00Z",
                "2026-01-01T10:05:00Z",
                "2026-01-01T10:20:00Z",
                "2026-01-02T09:05:00Z"
            ]
        );
        assert_eq!(
            fires("*/20 0 * * *", "2026-01-01T00:00:00Z", &TimeZone::UTC, 3),
            ["2026-01-01T00:20:00Z", "2026-01-01T00:40:00Z", "2026-01-02T00:00:00Z"]
        );
        assert_eq!(
            fires("10-30/10 0 * * *", "2026-01-01T00:00:00Z", &TimeZone::UTC, 4),
            ["2026-01-01T00:10:00Z", "2026-01-01T00:20:00Z", "2026-01-01T00:30:00Z", "2026-01-02T00:10:00Z"]
        );
        // `a/n` runs from a to the end of the range.
        assert_eq!(
            fires("0 20/2 * * *", "2026-01-01T00:00:00Z", &TimeZone::UTC, 3),
            ["2026-01-01T20:00:00Z", "2026-01-01T22:00:00Z", "2026-01-02T20:00:00Z"]
        );
    }

    #[test]
    fn month_and_weekday_names_ignore_case() {
        assert_eq!(
            fires("0 12 1 FEB,Sep *", "2026-01-01T00:00:00Z", &TimeZone::UTC, 3),
            ["2026-02-01T12:00:00Z", "2026-09-01T12:00:00Z", "2027-02-01T12:00:00Z"]
        );
        // 2026-01-02 is a Friday.
        assert_eq!(
            fires("0 8 * * Mon-wed", "2026-01-02T00:00:00Z", &TimeZone::UTC, 4),
            ["2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z", "2026-01-07T08:00:00Z", "2026-01-12T08:00:00Z"]
        );
        assert_eq!(
            fires("0 0 * jan-MAR sun", "2026-03-20T00:00:00Z", &TimeZone::UTC, 3),
            fires("0 0 * 1-3 0", "2026-03-20T00:00:00Z", &TimeZone::UTC, 3)
        );
        assert_eq!(fires("0 0 * 1-3 0", "2026-03-20T00:00:00Z", &TimeZone::UTC, 3)[2], "2027-01-03T00:00:00Z");
    }

    #[test]
    fn zero_and_seven_are_sunday() {
        let zero = fires("0 0 * * 0", "2026-01-01T00:00:00Z", &TimeZone::UTC, 2);
        assert_eq!(zero, ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]);
        assert_eq!(fires("0 0 * * 7", "2026-01-01T00:00:00Z", &TimeZone::UTC, 2), zero);
        assert_eq!(fires("0 0 * * 6-7", "2026-01-01T00:00:00Z", &TimeZone::UTC, 2)[1], "2026-01-04T00:00:00Z");
    }

    #[test]
    fn macros() {
        let start = "2026-05-13T10:17:00Z"; // a Wednesday
        let utc = &TimeZone::UTC;
        assert_eq!(fires("@hourly", start, utc, 1), ["2026-05-13T11:00:00Z"]);
        assert_eq!(fires("@daily", start, utc, 1), ["2026-05-14T00:00:00Z"]);
        assert_eq!(fires("@MIDNIGHT", start, utc, 1), ["2026-05-14T00:00:00Z"]);
        assert_eq!(fires("@weekly", start, utc, 1), ["2026-05-17T00:00:00Z"]);
        assert_eq!(fires("@monthly", start, utc, 1), ["2026-06-01T00:00:00Z"]);
        assert_eq!(fires("@yearly", start, utc, 1), ["2027-01-01T00:00:00Z"]);
        assert_eq!(fires("@annually", start, utc, 1), ["2027-01-01T00:00:00Z"]);
    }

    #[test]
    fn text_is_the_original() {
        assert_eq!(Schedule::parse(" 0  3 * * * ").unwrap().text(), " 0  3 * * * ");
        assert_eq!(Schedule::parse("@Daily").unwrap().text(), "@Daily");
    }

    #[test]
    fn error_messages() {
        assert_eq!(error("0 25 * * *"), "field 2 (hour): 25 is outside 0–23");
        assert_eq!(error("0 0 * *"), "expected 5 fields (minute hour day-of-month month day-of-week), found 4");
        assert_eq!(error(""), "expected 5 fields (minute hour day-of-month month day-of-week), found 0");
        assert_eq!(error("*/0 * * * *"), "field 1 (minute): step 0 is not allowed");
        assert_eq!(error("0 0 1 foo *"), "field 4 (month): \"foo\" is not a number or a month name");
        assert_eq!(error("0 0 * * funday"), "field 5 (day-of-week): \"funday\" is not a number or a weekday name");
        assert_eq!(error("0 0 mon * *"), "field 3 (day-of-month): \"mon\" is not a number");
        assert_eq!(error("0 0 0 * *"), "field 3 (day-of-month): 0 is outside 1–31");
        assert_eq!(error("0 0 * 13 *"), "field 4 (month): 13 is outside 1–12");
        assert_eq!(error("0 0 * * 8"), "field 5 (day-of-week): 8 is outside 0–7");
        assert_eq!(error("60 * * * *"), "field 1 (minute): 60 is outside 0–59");
        assert_eq!(error("*/x * * * *"), "field 1 (minute): step \"x\" is not a number");
        assert_eq!(error("0 5-3 * * *"), "field 2 (hour): range \"5-3\" runs backwards (5 is after 3)");
        assert_eq!(error("1,,2 * * * *"), "field 1 (minute): empty entry in list \"1,,2\"");
        assert_eq!(error("0 0 * * 1-"), "field 5 (day-of-week): \"\" is not a number or a weekday name");
        assert_eq!(error("+5 * * * *"), "field 1 (minute): \"+5\" is not a number");
        assert_eq!(
            error("@reboot"),
            "unknown macro \"@reboot\"; expected one of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, \
             @annually"
        );
        assert_eq!(
            Schedule::parse("0 25 * * *").unwrap_err(),
            ScheduleError::Field {
                field: Field::Hour,
                problem: FieldProblem::OutOfRange { value: 25, min: 0, max: 23 }
            }
        );
    }

    #[test]
    fn evaluated_on_the_local_wall_clock() {
        // Riga is UTC+2 in winter: 09:00 local is 07:00 UTC.
        assert_eq!(fires("0 9 * * *", "2026-01-15T12:00:00Z", &riga(), 1), ["2026-01-16T07:00:00Z"]);
        // And UTC+3 in summer.
        assert_eq!(fires("0 9 * * *", "2026-07-15T12:00:00Z", &riga(), 1), ["2026-07-16T06:00:00Z"]);
    }

    #[test]
    fn spring_forward_gap_fires_after_the_gap() {
        // On 2026-03-29 Riga jumps from 03:00 EET (01:00 UTC) to 04:00 EEST; 03:30 does not exist.
        assert_eq!(
            fires("30 3 * * *", "2026-03-28T12:00:00Z", &riga(), 3),
            ["2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"]
        );
        // Every 30 minutes: 02:30 EET, then the gap's 03:00 lands on 04:00 EEST, then 04:30 EEST.
        assert_eq!(
            fires("*/30 * * * *", "2026-03-29T00:00:00Z", &riga(), 3),
            ["2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"]
        );
    }

    #[test]
    fn fall_back_fold_fires_once_at_the_earlier_instant() {
        // On 2026-10-25 Riga falls back from 04:00 EEST (01:00 UTC) to 03:00 EET; 03:30 happens twice.
        assert_eq!(
            fires("30 3 * * *", "2026-10-24T12:00:00Z", &riga(), 2),
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        );
        // Starting inside the second pass of the repeated hour does not fire the repeated 03:30 again.
        assert_eq!(fires("30 3 * * *", "2026-10-25T01:10:00Z", &riga(), 1), ["2026-10-26T01:30:00Z"]);
        // Hourly runs through the fold without firing any wall time twice.
        assert_eq!(
            fires("0 * * * *", "2026-10-24T23:30:00Z", &riga(), 3),
            ["2026-10-25T00:00:00Z", "2026-10-25T02:00:00Z", "2026-10-25T03:00:00Z"]
        );
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_restricted() {
        // The 13th or any Friday. 2026-02-06 and 2026-02-13 are Fridays, 2026-03-13 is a Friday too.
        assert_eq!(
            fires("0 0 13 * fri", "2026-02-01T00:00:00Z", &TimeZone::UTC, 4),
            ["2026-02-06T00:00:00Z", "2026-02-13T00:00:00Z", "2026-02-20T00:00:00Z", "2026-02-27T00:00:00Z"]
        );
        assert_eq!(fires("0 0 15 * fri", "2026-02-13T12:00:00Z", &TimeZone::UTC, 1), ["2026-02-15T00:00:00Z"]);
        // A starred day-of-week (even `*/2`) means both must match: the 1st falling on Sun/Tue/Thu/Sat.
        // 2026-01-01 is a Thursday, 2026-02-01 a Sunday, 2026-03-01 a Sunday, 2026-04-01 a Wednesday.
        assert_eq!(
            fires("0 0 1 * */2", "2026-01-01T12:00:00Z", &TimeZone::UTC, 2),
            ["2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"]
        );
    }

    #[test]
    fn month_end_skips_short_months() {
        assert_eq!(
            fires("0 0 31 * *", "2026-01-31T00:00:00Z", &TimeZone::UTC, 3),
            ["2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z"]
        );
    }

    #[test]
    fn leap_day() {
        assert_eq!(
            fires("0 0 29 2 *", "2026-01-01T00:00:00Z", &TimeZone::UTC, 2),
            ["2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"]
        );
        // 2100 is not a leap year: the next 29 February after 2096 is in 2104.
        assert_eq!(fires("0 0 29 2 *", "2096-03-01T00:00:00Z", &TimeZone::UTC, 1), ["2104-02-29T00:00:00Z"]);
    }

    #[test]
    fn impossible_schedule_gives_none() {
        let schedule = Schedule::parse("0 0 30 2 *").unwrap();
        assert_eq!(schedule.next_after(ts("2026-01-01T00:00:00Z"), &riga()), None);
        let schedule = Schedule::parse("0 0 31 4,6,9,11 *").unwrap();
        assert_eq!(schedule.next_after(ts("2026-01-01T00:00:00Z"), &TimeZone::UTC), None);
    }

    #[test]
    fn year_end_rollover() {
        assert_eq!(fires("59 23 31 12 *", "2026-12-31T23:59:00Z", &TimeZone::UTC, 1), ["2027-12-31T23:59:00Z"]);
        assert_eq!(fires("0 0 * * *", "2026-12-31T23:59:30Z", &TimeZone::UTC, 1), ["2027-01-01T00:00:00Z"]);
    }
}
