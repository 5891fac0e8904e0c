//! Instants in Europe/Riga time.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use crate::i18n::Lang;

/// Europe/Riga, from the time zone database compiled into the binary.
static RIGA: LazyLock<TimeZone> =
    LazyLock::new(|| TimeZone::get("Europe/Riga").expect("the bundled time zone database has Europe/Riga"));

/// English abbreviations of the months, January first.
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The local date and time in Riga of `ms` milliseconds since 1970-01-01 00:00 UTC:
/// `28.11.2026. 07:04` in Latvian, `28 Nov 2026, 07:04` in English. An instant beyond
/// the years -9999 to 9999 is shown as the number it is.
pub fn datetime(ms: i64, lang: Lang) -> String {
    in_riga(ms).map_or_else(
        || ms.to_string(),
        |(local, _)| {
            let (date, time) = (day(local, lang), format!("{:02}:{:02}", local.hour(), local.minute()));
            match lang {
                Lang::Lv => format!("{date} {time}"),
                Lang::En => format!("{date}, {time}"),
            }
        },
    )
}

/// The local date in Riga of `ms` milliseconds since 1970-01-01 00:00 UTC: `28.11.2026.`
/// in Latvian, `28 Nov 2026` in English. An instant beyond the years -9999 to 9999 is
/// shown as the number it is.
pub fn date(ms: i64, lang: Lang) -> String {
    in_riga(ms).map_or_else(|| ms.to_string(), |(local, _)| day(local, lang))
}

/// The local time in Riga of `ms` milliseconds since 1970-01-01 00:00 UTC in the form of
/// ISO 8601 and RFC 3339, to the second, with the offset in force:
/// `2026-11-28T07:04:00+02:00`, for `<time datetime="…">`. An instant beyond the years
/// -9999 to 9999 is shown as the number it is.
pub fn riga_offset_iso(ms: i64) -> String {
    in_riga(ms).map_or_else(
        || ms.to_string(),
        |(local, offset)| {
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
                local.year(),
                local.month(),
                local.day(),
                local.hour(),
                local.minute(),
                local.second(),
                offset_text(offset)
            )
        },
    )
}

/// The civil time in Riga and the offset from UTC in force at `ms`; `None` out of range.
fn in_riga(ms: i64) -> Option<(DateTime, Offset)> {
    let instant = Timestamp::from_millisecond(ms).ok()?;
    Some((RIGA.to_datetime(instant), RIGA.to_offset(instant)))
}

/// The date part of `local` in the style of `lang`.
fn day(local: DateTime, lang: Lang) -> String {
    match lang {
        Lang::Lv => format!("{:02}.{:02}.{}.", local.day(), local.month(), local.year()),
        Lang::En => {
            let month = MONTHS[usize::try_from(local.month() - 1).unwrap_or_default()];
            format!("{} {month} {}", local.day(), local.year())
        }
    }
}

/// An offset as `+02:00`, with `:SS` when it has seconds (local mean time before 1926).
fn offset_text(offset: Offset) -> String {
    let seconds = offset.seconds();
    let sign = if seconds < 0 { '-' } else { '+' };
    let seconds = seconds.unsigned_abs();
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if rest == 0 {
        format!("{sign}{hours:02}:{minutes:02}")
    } else {
        format!("{sign}{hours:02}:{minutes:02}:{rest:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Milliseconds since the epoch of a UTC time written as `2026-11-28T05:04:00Z`.
    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn date_and_time_in_each_language() {
        let ms = utc("2026-11-28T05:04:00Z");
        assert_eq!(datetime(ms, Lang::Lv), "28.11.2026. 07:04");
        assert_eq!(datetime(ms, Lang::En), "28 Nov 2026, 07:04");
        assert_eq!(date(ms, Lang::Lv), "28.11.2026.");
        assert_eq!(date(ms, Lang::En), "28 Nov 2026");
        assert_eq!(riga_offset_iso(ms), "2026-11-28T07:04:00+02:00");
    }

    #[test]
    fn single_digit_days_and_months() {
        let ms = utc("2026-03-05T07:09:59.999Z");
        assert_eq!(datetime(ms, Lang::Lv), "05.03.2026. 09:09");
        assert_eq!(datetime(ms, Lang::En), "5 Mar 2026, 09:09");
        assert_eq!(riga_offset_iso(ms), "2026-03-05T09:09:59+02:00");
    }

    #[test]
    fn midnight_utc_on_new_years_eve_is_new_year_in_riga() {
        let ms = utc("2026-12-31T00:00:00Z");
        assert_eq!(datetime(ms, Lang::Lv), "31.12.2026. 02:00");
        let ms = utc("2027-01-01T00:00:00Z");
        assert_eq!(date(ms, Lang::Lv), "01.01.2027.");
        assert_eq!(datetime(ms, Lang::En), "1 Jan 2027, 02:00");
        let ms = utc("2026-12-31T22:00:00Z");
        assert_eq!(datetime(ms, Lang::Lv), "01.01.2027. 00:00");
        assert_eq!(date(ms - 1, Lang::En), "31 Dec 2026");
    }

    #[test]
    fn summer_time_starts_on_the_last_sunday_of_march() {
        let before = utc("2026-03-29T00:59:59Z");
        let after = utc("2026-03-29T01:00:00Z");
        assert_eq!(riga_offset_iso(before), "2026-03-29T02:59:59+02:00");
        assert_eq!(riga_offset_iso(after), "2026-03-29T04:00:00+03:00");
        assert_eq!(datetime(after, Lang::Lv), "29.03.2026. 04:00");
    }

    #[test]
    fn summer_time_ends_on_the_last_sunday_of_october() {
        let before = utc("2026-10-25T00:59:59Z");
        let after = utc("2026-10-25T01:00:00Z");
        assert_eq!(riga_offset_iso(before), "2026-10-25T03:59:59+03:00");
        assert_eq!(riga_offset_iso(after), "2026-10-25T03:00:00+02:00");
        assert_eq!(datetime(utc("2026-07-01T12:00:00Z"), Lang::En), "1 Jul 2026, 15:00");
    }

    #[test]
    fn the_epoch_and_instants_before_it() {
        assert_eq!(riga_offset_iso(0), "1970-01-01T03:00:00+03:00");
        assert_eq!(date(-86_400_000, Lang::En), "31 Dec 1969");
    }

    #[test]
    fn every_month_has_an_english_name() {
        let names: Vec<String> =
            (1..=12).map(|month| date(utc(&format!("2026-{month:02}-15T12:00:00Z")), Lang::En)).collect();
        assert_eq!(names[0], "15 Jan 2026");
        assert_eq!(names[4], "15 May 2026");
        assert_eq!(names[11], "15 Dec 2026");
    }

    #[test]
    fn instants_out_of_range_show_the_number() {
        assert_eq!(datetime(i64::MAX, Lang::Lv), i64::MAX.to_string());
        assert_eq!(date(i64::MIN, Lang::En), i64::MIN.to_string());
        assert_eq!(riga_offset_iso(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn offsets_with_seconds() {
        assert_eq!(offset_text(Offset::from_seconds(5794).unwrap()), "+01:36:34");
        assert_eq!(offset_text(Offset::from_seconds(-12_600).unwrap()), "-03:30");
    }
}
