//! One service level objective: what it promises and how it stands.

use serde::{Deserialize, Serialize};

use crate::{
    HOUR_MS, Interval,
    burn::{BurnRule, FiringAlert, burn_rate, firing},
    calendar::HolidayCalendar,
    interval::{clip, normalize, overlap_ms, total_ms},
    support::counted_time,
    window::Window,
};

/// When a service is supported, so that its downtime counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SupportHours {
    /// Around the clock, every day.
    TwentyFourSeven,
    /// Working days 08:30–17:00 Europe/Riga; Latvian public holidays are days off.
    BusinessHours,
}

/// A weekly window in Europe/Riga time, e.g. Saturdays from 22:00 for 4 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyWindow {
    /// The day it starts on.
    pub weekday: jiff::civil::Weekday,
    /// Minutes after local midnight it starts at (0..1440).
    pub start_minute: u16,
    /// Its length in milliseconds (at most a week).
    pub duration_ms: i64,
}

/// What an objective promises.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    /// The availability target as a ratio, e.g. `0.995` for 99.5 %.
    pub target: f64,
    /// The window availability is measured over.
    pub window: Window,
    /// When downtime counts.
    pub support: SupportHours,
    /// Planned maintenance, when downtime does not count.
    pub maintenance: Vec<WeeklyWindow>,
    /// When measurement began (the objective's creation): nothing before it counts.
    pub measured_since: i64,
}

/// Where an objective stands in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectiveState {
    /// On target, and no burn-rate alert fires.
    Met,
    /// Below target so far, or a burn-rate alert fires, but the budget is not spent.
    AtRisk,
    /// The window's error budget is spent: the target cannot be met this window.
    Breached,
}

/// An objective's standing at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveStatus {
    /// The current window.
    pub window: crate::Interval,
    /// Support time of the window that has passed and was measured, in ms.
    pub elapsed_support_ms: i64,
    /// Support time of the whole window, in ms (the budget's base).
    pub window_support_ms: i64,
    /// Downtime counted so far this window, in ms.
    pub downtime_ms: i64,
    /// Availability so far, `1 - downtime / elapsed support`; `None` before any support
    /// time was measured.
    pub availability: Option<f64>,
    /// The window's error budget, `(1 - target) × window support time`, in ms.
    pub budget_ms: i64,
    /// What is left of the budget, in ms (negative once overspent).
    pub budget_remaining_ms: i64,
    /// What is left of the budget as a ratio of it (negative once overspent).
    pub budget_remaining_ratio: f64,
    /// How fast the budget burns over the last hour (1.0 spends it exactly by the end of
    /// the window).
    pub burn_rate_1h: f64,
    /// The burn-rate alerts that fire now.
    pub firing: Vec<FiringAlert>,
    /// The resulting state.
    pub state: ObjectiveState,
}

/// The standing at `now` of `objective`, given its probe's outages (in any order, possibly
/// overlapping; an open outage ends at `now`) and the burn-rate `rules`.
///
/// Availability and downtime cover the counted time (support time minus maintenance) of
/// the window from `measured_since` up to `now`; the budget is `(1 - target)` of the
/// counted time of the whole window. With no budget (a 100 % target, or no counted time)
/// the remaining ratio is 1.0 without downtime and -1.0 with it. Burn rates look back from
/// `now` over counted time since `measured_since`, also into the previous calendar month,
/// so `outages` should reach back over the longest rule window as well.
pub fn evaluate(
    objective: &Objective,
    outages: &[Interval],
    now: i64,
    calendar: &HolidayCalendar,
    rules: &[BurnRule],
) -> ObjectiveStatus {
    let window = objective.window.containing(now);
    let counted = |span| counted_time(objective.support, &objective.maintenance, calendar, span);
    let whole_window = counted(window);
    let elapsed = clip(&whole_window, Interval::new(window.start.max(objective.measured_since), now));
    let outages = normalize(outages.to_vec());

    let window_support_ms = total_ms(&whole_window);
    let elapsed_support_ms = total_ms(&elapsed);
    let downtime_ms = overlap_ms(&outages, &elapsed);
    let availability = (elapsed_support_ms > 0).then(|| 1.0 - downtime_ms as f64 / elapsed_support_ms as f64);
    let budget_ms = ((1.0 - objective.target) * window_support_ms as f64).round() as i64;
    let budget_remaining_ms = budget_ms - downtime_ms;

    let recent = counted(Interval::new(now.saturating_sub(longest_lookback(rules)).max(objective.measured_since), now));
    let burn = |lookback_ms: i64| {
        burn_rate(&recent, &outages, Interval::new(now.saturating_sub(lookback_ms), now), objective.target)
    };
    let firing = firing(rules, burn);
    let state = if budget_remaining_ms < 0 {
        ObjectiveState::Breached
    } else if !firing.is_empty() || availability.is_some_and(|availability| availability < objective.target) {
        ObjectiveState::AtRisk
    } else {
        ObjectiveState::Met
    };
    ObjectiveStatus {
        window,
        elapsed_support_ms,
        window_support_ms,
        downtime_ms,
        availability,
        budget_ms,
        budget_remaining_ms,
        budget_remaining_ratio: remaining_ratio(budget_ms, downtime_ms),
        burn_rate_1h: burn(HOUR_MS),
        firing,
        state,
    }
}

/// The longest lookback the burn rates need: one hour, or the rules' longest window.
fn longest_lookback(rules: &[BurnRule]) -> i64 {
    rules.iter().map(|rule| rule.long_ms.max(rule.short_ms)).fold(HOUR_MS, i64::max)
}

/// What is left of `budget_ms` after `downtime_ms`, as a ratio of it; without a budget
/// 1.0 when nothing was down and -1.0 otherwise.
fn remaining_ratio(budget_ms: i64, downtime_ms: i64) -> f64 {
    match (budget_ms, downtime_ms) {
        (budget, downtime) if budget > 0 => (budget - downtime) as f64 / budget as f64,
        (_, 0) => 1.0,
        _ => -1.0,
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::{Weekday, date};

    use super::*;
    use crate::{DAY_MS, MINUTE_MS, burn::DEFAULT_RULES, calendar::instant, window::month_span};

    /// Tuesday 15 April 2025, 12:00 Riga: 14.5 days into April (30 days, no clock change).
    fn now() -> i64 {
        instant(date(2025, 4, 15).at(12, 0, 0, 0))
    }

    fn objective(target: f64) -> Objective {
        Objective {
            target,
            window: Window::CalendarMonth,
            support: SupportHours::TwentyFourSeven,
            maintenance: Vec::new(),
            measured_since: month_span(2025, 1).start,
        }
    }

    /// An outage of `minutes` that ended at noon the day before.
    fn yesterday(minutes: i64) -> Vec<Interval> {
        let end = now() - DAY_MS;
        vec![Interval::new(end - minutes * MINUTE_MS, end)]
    }

    fn evaluate_at(objective: &Objective, outages: &[Interval], now: i64) -> ObjectiveStatus {
        evaluate(objective, outages, now, &HolidayCalendar::default(), &DEFAULT_RULES)
    }

    #[test]
    fn below_target_so_far_is_at_risk() {
        let status = evaluate_at(&objective(0.999), &yesterday(30), now());
        // April has 720 h; 0.1 % of it is 43.2 min = 2,592,000 ms of budget.
        assert_eq!(status.window, month_span(2025, 4));
        assert_eq!(status.window_support_ms, 720 * HOUR_MS);
        assert_eq!(status.budget_ms, 2_592_000);
        assert_eq!(status.downtime_ms, 30 * MINUTE_MS);
        assert_eq!(status.budget_remaining_ms, 2_592_000 - 1_800_000);
        assert!((status.budget_remaining_ratio - 792.0 / 2592.0).abs() < 1e-12);
        // 348 h have passed: 1 - 0.5/348 = 0.998563 < 0.999.
        assert_eq!(status.elapsed_support_ms, 348 * HOUR_MS);
        let availability = status.availability.expect("support time passed");
        assert!((availability - (1.0 - 0.5 / 348.0)).abs() < 1e-12);
        assert_eq!(status.burn_rate_1h, 0.0);
        // The outage is over 6 h old: no rule's short window sees it.
        assert!(status.firing.is_empty());
        assert_eq!(status.state, ObjectiveState::AtRisk);
    }

    #[test]
    fn on_target_is_met_and_a_spent_budget_is_breached() {
        // 10 min of 348 h: 99.952 %.
        assert_eq!(evaluate_at(&objective(0.999), &yesterday(10), now()).state, ObjectiveState::Met);
        // 50 min is more than the 43.2 min budget.
        let status = evaluate_at(&objective(0.999), &yesterday(50), now());
        assert_eq!(status.budget_remaining_ms, 2_592_000 - 3_000_000);
        assert_eq!(status.state, ObjectiveState::Breached);
    }

    #[test]
    fn an_open_outage_pages_fast() {
        // Six minutes down up to now: 1 h burn = 0.1 / 0.001 = 100.
        let outages = [Interval::new(now() - 6 * MINUTE_MS, now())];
        let status = evaluate_at(&objective(0.999), &outages, now());
        assert!((status.burn_rate_1h - 100.0).abs() < 1e-9);
        assert_eq!(status.firing[0].rule, "fast");
        assert_eq!(status.state, ObjectiveState::AtRisk);
    }

    #[test]
    fn measurement_starts_at_creation() {
        // Created on 10 April 00:00: 5.5 days = 132 h measured; the outage the day before
        // creation does not count.
        let mut created = objective(0.999);
        created.measured_since = instant(date(2025, 4, 10).at(0, 0, 0, 0));
        let outages = [Interval::new(created.measured_since - HOUR_MS, created.measured_since + 6 * MINUTE_MS)];
        let status = evaluate_at(&created, &outages, now());
        assert_eq!(status.elapsed_support_ms, 132 * HOUR_MS);
        assert_eq!(status.downtime_ms, 6 * MINUTE_MS);
        // The budget still covers the whole month.
        assert_eq!(status.window_support_ms, 720 * HOUR_MS);
    }

    #[test]
    fn burn_looks_back_into_the_previous_month() {
        // 1 May 00:10 Riga, down since 23:55 on 30 April: the last hour holds 15 min down.
        let now = instant(date(2025, 5, 1).at(0, 10, 0, 0));
        let outages = [Interval::new(now - 15 * MINUTE_MS, now)];
        let status = evaluate_at(&objective(0.999), &outages, now);
        assert!((status.burn_rate_1h - 0.25 / 0.001).abs() < 1e-9);
        // Only the 10 minutes of May count against May's budget.
        assert_eq!(status.downtime_ms, 10 * MINUTE_MS);
    }

    #[test]
    fn business_hours_and_maintenance_shape_the_window() {
        let mut office = objective(0.99);
        office.support = SupportHours::BusinessHours;
        office.maintenance =
            vec![WeeklyWindow { weekday: Weekday::Wednesday, start_minute: 8 * 60 + 30, duration_ms: 30 * MINUTE_MS }];
        // April 2025: 22 weekdays minus Good Friday (18th) and Easter Monday (21st) = 20
        // working days of 8.5 h, minus 30 min on each of its 5 Wednesdays = 167.5 h.
        let status = evaluate_at(&office, &[], now());
        assert_eq!(status.window_support_ms, 1675 * HOUR_MS / 10);
        // Up to Tuesday 15 April noon: 10 working days before (1–4, 7–11, 14 April) of
        // 8.5 h, less 30 min on the 2nd and the 9th, plus 08:30–12:00: 85 - 1 + 3.5 h.
        assert_eq!(status.elapsed_support_ms, 875 * HOUR_MS / 10);
        assert_eq!(status.state, ObjectiveState::Met);
        assert_eq!(status.budget_remaining_ratio, 1.0);
    }

    #[test]
    fn a_hundred_percent_target_has_no_budget() {
        let status = evaluate_at(&objective(1.0), &[], now());
        assert_eq!((status.budget_ms, status.budget_remaining_ratio, status.state), (0, 1.0, ObjectiveState::Met));
        let status = evaluate_at(&objective(1.0), &yesterday(1), now());
        assert_eq!((status.budget_remaining_ratio, status.state), (-1.0, ObjectiveState::Breached));
        assert_eq!(status.burn_rate_1h, 0.0);
    }

    #[test]
    fn rolling_window_and_unsorted_overlapping_outages() {
        let mut rolling = objective(0.999);
        rolling.window = Window::Rolling { days: 28 };
        // [-30, -20) and [-25, -10) minutes overlap: 20 minutes down in all.
        let outages = [
            Interval::new(now() - 25 * MINUTE_MS, now() - 10 * MINUTE_MS),
            Interval::new(now() - 30 * MINUTE_MS, now() - 20 * MINUTE_MS),
        ];
        let status = evaluate_at(&rolling, &outages, now());
        assert_eq!(status.window, Interval::new(now() - 28 * DAY_MS, now()));
        assert_eq!(status.downtime_ms, 20 * MINUTE_MS);
        assert_eq!(status.window_support_ms, 28 * DAY_MS);
    }
}
