//! Fields the detector adds to every event before rules see it, from what the platform
//! knows rather than what the event says:
//!
//! - `makonis.working_time`: whether the event's time falls within the agencies' working
//!   hours (08:30–17:00 Europe/Riga on Latvian working days, by the calendar the platform
//!   is configured with: holidays, days off and working Saturdays declared by order).

use jiff::Timestamp;
use makonis_slo_core::{HolidayCalendar, Interval, SupportHours, support::support_time};
use serde_json::Value;

use crate::fields::Record;

/// The name of the working-time field.
pub const WORKING_TIME: &str = "makonis.working_time";

/// Whether an instant falls within working hours by the calendar.
pub fn working_time(calendar: &HolidayCalendar, at: Timestamp) -> bool {
    let ms = at.as_millisecond();
    !support_time(SupportHours::BusinessHours, calendar, Interval::new(ms, ms + 1)).is_empty()
}

/// Adds the platform's fields to a record.
pub fn enrich(record: &mut Record, calendar: &HolidayCalendar) {
    if let Value::Object(fields) = &mut record.fields {
        fields.insert(WORKING_TIME.to_owned(), Value::Bool(working_time(calendar, record.time)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn working_time_is_riga_office_hours_on_working_days() {
        let calendar = HolidayCalendar::default();
        assert!(working_time(&calendar, at("2026-12-07T07:00:00Z")), "Monday 09:00 in Riga");
        assert!(!working_time(&calendar, at("2026-12-07T06:00:00Z")), "Monday 08:00 in Riga");
        assert!(!working_time(&calendar, at("2026-12-07T15:00:00Z")), "Monday 17:00 in Riga");
        assert!(!working_time(&calendar, at("2026-12-05T10:00:00Z")), "a Saturday");
        assert!(!working_time(&calendar, at("2026-11-18T10:00:00Z")), "Proclamation Day");
    }

    #[test]
    fn a_saturday_worked_by_order_is_working_time() {
        let saturday = jiff::civil::date(2025, 5, 10);
        let calendar = HolidayCalendar::default().with_working_days([saturday]);
        assert!(working_time(&calendar, at("2025-05-10T08:00:00Z")));
    }
}
