//! Latvian public holidays and working days, and Europe/Riga wall-clock time.
//!
//! The days off follow the law "Par svētku, atceres un atzīmējamām dienām": New Year's
//! Day, Good Friday, Easter Sunday and Monday, 1 and 4 May, Whitsunday, 23 and 24 June,
//! 18 November, 24–26 and 31 December. When 4 May or 18 November falls on a Saturday or
//! Sunday, the following Monday is a day off. The government may declare further days
//! off (e.g. after a hockey medal), and it moves working days by order: a Friday between
//! holidays becomes a day off and a Saturday a working day in its place (in 2025, Friday
//! 2 May off and Saturday 10 May worked). Both kinds of declared day are passed to
//! [`HolidayCalendar::declared`].

use std::sync::OnceLock;

use jiff::{
    Timestamp,
    civil::{Date, DateTime, Weekday},
    tz::TimeZone,
};

/// The name of a day off declared by the government.
const DECLARED: &str = "Valdības noteikta brīvdiena (declared by the government)";

/// The Gregorian date of Easter Sunday (the anonymous computus); years outside
/// −9999..=9999 are clamped into it.
pub fn easter_sunday(year: i16) -> Date {
    let year = year.clamp(-9999, 9999);
    let y = i32::from(year);
    let (a, b, c) = (y.rem_euclid(19), y.div_euclid(100), y.rem_euclid(100));
    let (d, e) = (b.div_euclid(4), b.rem_euclid(4));
    let g = (b - (b + 8).div_euclid(25) + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let (i, k) = (c / 4, c % 4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    let month = i8::try_from(n / 31).expect("the computus yields March or April");
    let day = i8::try_from(n % 31 + 1).expect("the computus yields a day of the month");
    Date::new(year, month, day).expect("the computus yields a valid date")
}

/// The Latvian days off and working days: public holidays, and the days off and working
/// days the government declared.
///
/// The default is [`HolidayCalendar::latvia`] without declared days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    /// Days off declared by the government, sorted and without duplicates.
    declared: Vec<Date>,
    /// Weekend days the government declared working days, sorted and without duplicates.
    working: Vec<Date>,
}

/// Why declared days cannot make a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarError {
    /// The same date is declared a day off and a working day.
    OffAndWorking(Date),
    /// A declared working day is a public holiday in law, which no order moves.
    HolidayDeclaredWorking(Date, &'static str),
    /// A declared working day is a Monday to Friday that is a working day anyway (a
    /// moved working day is a Saturday or Sunday).
    AlreadyWorking(Date),
}

impl CalendarError {
    /// A bounded name of the kind of error, for logs and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            Self::OffAndWorking(_) => "OffAndWorking",
            Self::HolidayDeclaredWorking(..) => "HolidayDeclaredWorking",
            Self::AlreadyWorking(_) => "AlreadyWorking",
        }
    }
}

impl std::fmt::Display for CalendarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OffAndWorking(day) => write!(f, "{day} is declared both a day off and a working day"),
            Self::HolidayDeclaredWorking(day, name) => {
                write!(f, "{day} is a public holiday in law ({name}) and cannot be declared a working day")
            }
            Self::AlreadyWorking(day) => write!(
                f,
                "{day} is a {:?} and a working day anyway: a moved working day is a Saturday or Sunday",
                day.weekday()
            ),
        }
    }
}

impl std::error::Error for CalendarError {}

impl HolidayCalendar {
    /// The Latvian public holidays plus the days off the government declared.
    pub fn latvia(extra_days_off: impl IntoIterator<Item = Date>) -> Self {
        Self { declared: sorted(extra_days_off), working: Vec::new() }
    }

    /// This calendar with `working_days` (weekend days the government declared working
    /// days) worked. A date also declared a day off stays a day off; see
    /// [`declared`](Self::declared) for the checked way in.
    pub fn with_working_days(self, working_days: impl IntoIterator<Item = Date>) -> Self {
        Self { working: sorted(working_days), ..self }
    }

    /// The Latvian calendar with the days off and working days the government declared,
    /// refused when they contradict each other or the law: a date both off and worked, a
    /// public holiday declared worked, or a weekday declared worked that is one anyway
    /// (a mistyped date).
    pub fn declared(
        days_off: impl IntoIterator<Item = Date>,
        working_days: impl IntoIterator<Item = Date>,
    ) -> Result<Self, CalendarError> {
        let calendar = Self::latvia(days_off).with_working_days(working_days);
        for &day in &calendar.working {
            if calendar.declared.binary_search(&day).is_ok() {
                return Err(CalendarError::OffAndWorking(day));
            }
            if let Some(name) = fixed_holiday(day).or_else(|| moved_holiday(day)).or_else(|| easter_holiday(day)) {
                return Err(CalendarError::HolidayDeclaredWorking(day, name));
            }
            if !is_weekend(day) {
                return Err(CalendarError::AlreadyWorking(day));
            }
        }
        Ok(calendar)
    }

    /// The days off the government declared, in order.
    pub fn declared_days_off(&self) -> &[Date] {
        &self.declared
    }

    /// The weekend days the government declared working days, in order.
    pub fn declared_working_days(&self) -> &[Date] {
        &self.working
    }

    /// The name of the day off on `date` (Latvian, then English in parentheses), or
    /// `None` for an ordinary day.
    pub fn holiday(&self, date: Date) -> Option<&'static str> {
        fixed_holiday(date)
            .or_else(|| moved_holiday(date))
            .or_else(|| easter_holiday(date))
            .or_else(|| self.declared.binary_search(&date).is_ok().then_some(DECLARED))
    }

    /// Whether `date` is a working day: Monday to Friday and not a day off, or a weekend
    /// day the government declared a working day (and not also a day off).
    pub fn is_working_day(&self, date: Date) -> bool {
        let declared_working = self.working.binary_search(&date).is_ok();
        (declared_working || !is_weekend(date)) && self.holiday(date).is_none()
    }
}

/// Whether `date` is a Saturday or a Sunday.
fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// `days` sorted and without duplicates.
fn sorted(days: impl IntoIterator<Item = Date>) -> Vec<Date> {
    let mut days: Vec<Date> = days.into_iter().collect();
    days.sort_unstable();
    days.dedup();
    days
}

/// The holidays on the same date every year.
fn fixed_holiday(date: Date) -> Option<&'static str> {
    Some(match (date.month(), date.day()) {
        (1, 1) => "Jaungada diena (New Year's Day)",
        (5, 1) => "Darba svētki (Labour Day)",
        (5, 4) => "Neatkarības deklarācijas pasludināšanas diena (Restoration of Independence Day)",
        (6, 23) => "Līgo diena (Midsummer Eve)",
        (6, 24) => "Jāņi (Midsummer Day)",
        (11, 18) => "Latvijas Republikas proklamēšanas diena (Proclamation Day)",
        (12, 24) => "Ziemassvētku vakars (Christmas Eve)",
        (12, 25) => "Ziemassvētki (Christmas Day)",
        (12, 26) => "Otrie Ziemassvētki (Second Day of Christmas)",
        (12, 31) => "Vecgada vakars (New Year's Eve)",
        _ => return None,
    })
}

/// The Monday after 4 May or 18 November when those fall on a weekend: a Monday on the
/// 5th or 6th (19th or 20th) follows a 4th (18th) on the Sunday or Saturday before.
fn moved_holiday(date: Date) -> Option<&'static str> {
    if date.weekday() != Weekday::Monday {
        return None;
    }
    match (date.month(), date.day()) {
        (5, 5 | 6) => Some("Pārceltā 4. maija brīvdiena (Restoration of Independence Day, moved from the weekend)"),
        (11, 19 | 20) => Some("Pārceltā 18. novembra brīvdiena (Proclamation Day, moved from the weekend)"),
        _ => None,
    }
}

/// The holidays that move with Easter.
fn easter_holiday(date: Date) -> Option<&'static str> {
    let days_after_easter = date.day_of_year() - easter_sunday(date.year()).day_of_year();
    match days_after_easter {
        -2 => Some("Lielā Piektdiena (Good Friday)"),
        0 => Some("Lieldienas (Easter Sunday)"),
        1 => Some("Otrās Lieldienas (Easter Monday)"),
        49 => Some("Vasarsvētki (Whitsunday)"),
        _ => None,
    }
}

/// The Europe/Riga time zone, from the bundled time zone database.
pub(crate) fn riga() -> &'static TimeZone {
    static RIGA: OnceLock<TimeZone> = OnceLock::new();
    RIGA.get_or_init(|| TimeZone::get("Europe/Riga").expect("the bundled time zone database has Europe/Riga"))
}

/// The Riga wall-clock time at Unix millisecond `ms` (clamped to the supported years).
pub(crate) fn local(ms: i64) -> DateTime {
    let at = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX });
    riga().to_datetime(at)
}

/// The Unix millisecond of Riga wall-clock time `at`. A time the spring change skips
/// counts as the same time after the change (03:30 becomes 04:30 summer time); a time the
/// autumn change repeats counts as its first occurrence.
pub(crate) fn instant(at: DateTime) -> i64 {
    let clamped = if at.year() < 0 { Timestamp::MIN } else { Timestamp::MAX };
    riga().to_timestamp(at).unwrap_or(clamped).as_millisecond()
}

/// The days from `first` to `last`, both included.
pub(crate) fn days(first: Date, last: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(first), |day| day.tomorrow().ok()).take_while(move |day| *day <= last)
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;

    #[test]
    fn easter_dates() {
        // Published Easter Sundays, including the earliest (22 March) and latest (25 April)
        // possible ones.
        let known = [
            (1818, 3, 22),
            (1943, 4, 25),
            (2000, 4, 23),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2028, 4, 16),
            (2029, 4, 1),
            (2038, 4, 25),
        ];
        for (year, month, day) in known {
            assert_eq!(easter_sunday(year), date(year, month, day), "Easter {year}");
            assert_eq!(easter_sunday(year).weekday(), Weekday::Sunday);
        }
    }

    #[test]
    fn easter_holidays_move_with_easter() {
        let calendar = HolidayCalendar::default();
        // Easter 2025 is 20 April: Good Friday 18 April, Easter Monday 21 April, and
        // Whitsunday seven weeks after Easter, 8 June.
        assert_eq!(calendar.holiday(date(2025, 4, 18)), Some("Lielā Piektdiena (Good Friday)"));
        assert_eq!(calendar.holiday(date(2025, 4, 20)), Some("Lieldienas (Easter Sunday)"));
        assert_eq!(calendar.holiday(date(2025, 4, 21)), Some("Otrās Lieldienas (Easter Monday)"));
        assert_eq!(calendar.holiday(date(2025, 6, 8)), Some("Vasarsvētki (Whitsunday)"));
        assert_eq!(calendar.holiday(date(2025, 4, 17)), None);
        assert_eq!(calendar.holiday(date(2025, 4, 22)), None);
        // Easter 2024 is 31 March: Good Friday 29 March, Easter Monday 1 April.
        assert!(!calendar.is_working_day(date(2024, 3, 29)));
        assert!(!calendar.is_working_day(date(2024, 4, 1)));
        assert!(calendar.is_working_day(date(2024, 4, 2)));
        // 2027: Easter 28 March, Good Friday 26 March, Easter Monday 29 March.
        assert!(!calendar.is_working_day(date(2027, 3, 26)));
        assert!(!calendar.is_working_day(date(2027, 3, 29)));
        // 2028: Easter 16 April, Easter Monday 17 April.
        assert!(!calendar.is_working_day(date(2028, 4, 17)));
        // Mother's Day (second Sunday of May) is no day off.
        assert_eq!(calendar.holiday(date(2025, 5, 11)), None);
    }

    #[test]
    fn fixed_holidays_every_year() {
        let calendar = HolidayCalendar::default();
        for year in 2024..=2028 {
            for (month, day) in
                [(1, 1), (5, 1), (5, 4), (6, 23), (6, 24), (11, 18), (12, 24), (12, 25), (12, 26), (12, 31)]
            {
                assert!(calendar.holiday(date(year, month, day)).is_some(), "{year}-{month}-{day}");
                assert!(!calendar.is_working_day(date(year, month, day)));
            }
            assert_eq!(calendar.holiday(date(year, 6, 22)), None);
            assert_eq!(calendar.holiday(date(year, 12, 27)), None);
        }
        assert_eq!(calendar.holiday(date(2025, 6, 23)), Some("Līgo diena (Midsummer Eve)"));
    }

    #[test]
    fn fourth_of_may_on_a_weekend_moves_to_monday() {
        let calendar = HolidayCalendar::default();
        // 2024-05-04 is a Saturday: Monday 6 May is off, Tuesday 7 May is not.
        assert_eq!(date(2024, 5, 4).weekday(), Weekday::Saturday);
        assert!(!calendar.is_working_day(date(2024, 5, 6)));
        assert!(calendar.is_working_day(date(2024, 5, 7)));
        // 2025-05-04 is a Sunday: Monday 5 May is off.
        assert_eq!(date(2025, 5, 4).weekday(), Weekday::Sunday);
        assert!(calendar.holiday(date(2025, 5, 5)).is_some_and(|name| name.contains("moved")));
        assert!(calendar.is_working_day(date(2025, 5, 6)));
        // 2026-05-04 is a Monday: that day itself is off, Tuesday 5 May is not.
        assert_eq!(date(2026, 5, 4).weekday(), Weekday::Monday);
        assert!(!calendar.is_working_day(date(2026, 5, 4)));
        assert!(calendar.is_working_day(date(2026, 5, 5)));
        // 2027-05-04 is a Tuesday: the Monday before stays a working day.
        assert!(calendar.is_working_day(date(2027, 5, 3)));
    }

    #[test]
    fn eighteenth_of_november_on_a_weekend_moves_to_monday() {
        let calendar = HolidayCalendar::default();
        // 2023-11-18 and 2028-11-18 are Saturdays: Monday the 20th is off.
        for year in [2023, 2028] {
            assert_eq!(date(year, 11, 18).weekday(), Weekday::Saturday);
            assert!(!calendar.is_working_day(date(year, 11, 20)), "{year}");
            assert!(calendar.is_working_day(date(year, 11, 21)), "{year}");
        }
        // 2029-11-18 is a Sunday (2028-11-18 plus 365 days): Monday the 19th is off.
        assert_eq!(date(2029, 11, 18).weekday(), Weekday::Sunday);
        assert!(calendar.holiday(date(2029, 11, 19)).is_some_and(|name| name.contains("Proclamation")));
        // 2024-11-18 is a Monday: Tuesday the 19th works, and Monday 2024-11-25 too.
        assert!(!calendar.is_working_day(date(2024, 11, 18)));
        assert!(calendar.is_working_day(date(2024, 11, 19)));
        // 2025-11-18 is a Tuesday, so Monday 2025-11-17 is an ordinary working day.
        assert!(calendar.is_working_day(date(2025, 11, 17)));
    }

    #[test]
    fn declared_days_off() {
        let calendar = HolidayCalendar::latvia([date(2023, 7, 10), date(2023, 5, 29), date(2023, 5, 29)]);
        // Hockey bronze (Monday 29 May 2023) and the Song Festival (Monday 10 July 2023).
        assert_eq!(calendar.holiday(date(2023, 5, 29)), Some(DECLARED));
        assert!(!calendar.is_working_day(date(2023, 7, 10)));
        assert!(calendar.is_working_day(date(2023, 7, 11)));
        // Without them those Mondays are working days.
        assert!(HolidayCalendar::default().is_working_day(date(2023, 5, 29)));
        assert_eq!(HolidayCalendar::default(), HolidayCalendar::latvia([]));
    }

    #[test]
    fn government_orders_of_2025_move_a_friday_off_and_a_saturday_to_work() {
        // The Cabinet moved the working day of Friday 2 May 2025 (between Labour Day on
        // Thursday 1 May and the weekend of 4 May) to Saturday 10 May 2025.
        let calendar = HolidayCalendar::declared([date(2025, 5, 2)], [date(2025, 5, 10)]).unwrap();
        assert!(!calendar.is_working_day(date(2025, 5, 2)));
        assert_eq!(calendar.holiday(date(2025, 5, 2)), Some(DECLARED));
        assert_eq!(date(2025, 5, 10).weekday(), Weekday::Saturday);
        assert!(calendar.is_working_day(date(2025, 5, 10)));
        assert_eq!(calendar.holiday(date(2025, 5, 10)), None);
        // Sunday 11 May and the next Saturday stay days off.
        assert!(!calendar.is_working_day(date(2025, 5, 11)));
        assert!(!calendar.is_working_day(date(2025, 5, 17)));
        // Without the order, the Friday works and the Saturday does not.
        assert!(HolidayCalendar::default().is_working_day(date(2025, 5, 2)));
        assert!(!HolidayCalendar::default().is_working_day(date(2025, 5, 10)));
        assert_eq!(calendar.declared_days_off(), [date(2025, 5, 2)]);
        assert_eq!(calendar.declared_working_days(), [date(2025, 5, 10)]);
    }

    #[test]
    fn declared_days_that_contradict_each_other_or_the_law_are_refused() {
        let off_and_working = HolidayCalendar::declared([date(2025, 5, 10)], [date(2025, 5, 10)]);
        assert_eq!(off_and_working, Err(CalendarError::OffAndWorking(date(2025, 5, 10))));
        // Midsummer Eve 2025 is a Monday; Whitsunday 2025 is 8 June (a Sunday).
        let midsummer = HolidayCalendar::declared([], [date(2025, 6, 23)]).unwrap_err();
        assert_eq!(midsummer.category(), "HolidayDeclaredWorking");
        assert!(midsummer.to_string().contains("Līgo diena"), "{midsummer}");
        assert!(HolidayCalendar::declared([], [date(2025, 6, 8)]).is_err());
        // Friday 9 May is a working day anyway: a typo for the Saturday.
        let typo = HolidayCalendar::declared([], [date(2025, 5, 9)]).unwrap_err();
        assert_eq!(typo, CalendarError::AlreadyWorking(date(2025, 5, 9)));
        assert!(typo.to_string().contains("Saturday or Sunday"), "{typo}");
        // Unchecked, a date both off and worked stays off.
        let both = HolidayCalendar::latvia([date(2025, 5, 10)]).with_working_days([date(2025, 5, 10)]);
        assert!(!both.is_working_day(date(2025, 5, 10)));
    }

    #[test]
    fn weekends_are_not_working_days() {
        let calendar = HolidayCalendar::default();
        assert!(!calendar.is_working_day(date(2025, 3, 15)));
        assert!(!calendar.is_working_day(date(2025, 3, 16)));
        assert!(calendar.is_working_day(date(2025, 3, 17)));
    }

    #[test]
    fn riga_wall_clock_round_trips_across_dst() {
        // 2024-03-31 03:00 EET jumps to 04:00 EEST: 02:00 local is 00:00Z, 04:00 local is 01:00Z.
        let before = instant(date(2024, 3, 31).at(2, 0, 0, 0));
        let after = instant(date(2024, 3, 31).at(4, 0, 0, 0));
        assert_eq!(after - before, crate::HOUR_MS);
        // 03:30 does not exist that night; it counts as 04:30 summer time.
        assert_eq!(instant(date(2024, 3, 31).at(3, 30, 0, 0)), after + 30 * crate::MINUTE_MS);
        assert_eq!(local(before), date(2024, 3, 31).at(2, 0, 0, 0));
        assert_eq!(days(date(2024, 2, 27), date(2024, 3, 1)).count(), 4);
    }
}
