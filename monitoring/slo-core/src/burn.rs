//! Multi-window, multi-burn-rate alerts (the method of Google's SRE workbook).

use serde::{Deserialize, Serialize};

use crate::{
    DAY_MS, HOUR_MS, Interval, MINUTE_MS,
    interval::{clip, overlap_ms, total_ms},
};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    /// Someone must act now.
    Page,
    /// Someone must act within working hours.
    Ticket,
}

/// One burn-rate alert rule: fires while the burn rate exceeds `factor` (strictly) over
/// both the long and the short window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BurnRule {
    /// Stable name, e.g. `fast` (used in metrics labels and incident records).
    pub name: &'static str,
    /// How urgent it is.
    pub severity: Severity,
    /// The burn-rate factor, e.g. `14.4`.
    pub factor: f64,
    /// The long window in ms, e.g. one hour.
    pub long_ms: i64,
    /// The short window in ms, e.g. five minutes.
    pub short_ms: i64,
}

impl BurnRule {
    /// Whether a burn rate is over this rule's threshold: strictly above the factor, so a
    /// budget spent exactly at the pace the window allows does not alert. This and
    /// [`promql_condition`](Self::promql_condition) are the one definition of the
    /// threshold: the engine decides with the first, the generated Prometheus rules
    /// with the second.
    pub fn exceeded_by(&self, burn: f64) -> bool {
        burn > self.factor
    }

    /// The PromQL condition that holds while `expr` (a burn-rate series) is over this
    /// rule's threshold, e.g. `makonis_slo_burn_rate{…} > 14.4`; see
    /// [`exceeded_by`](Self::exceeded_by).
    pub fn promql_condition(&self, expr: &str) -> String {
        format!("{expr} > {}", self.factor)
    }
}

/// A rule that fires, with the burn rates that made it fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FiringAlert {
    /// The rule's name.
    pub rule: String,
    /// Its severity.
    pub severity: Severity,
    /// The burn rate over the long window.
    pub long_burn: f64,
    /// The burn rate over the short window.
    pub short_burn: f64,
}

/// The SRE workbook's rules for a 30-day budget: `fast` pages at 14.4× over 1 h and 5 min
/// (2 % of the budget in an hour), `slow` pages at 6× over 6 h and 30 min (5 % in six
/// hours), `ticket` at 1× over 3 days and 6 h (10 % in three days).
pub const DEFAULT_RULES: [BurnRule; 3] = [
    BurnRule { name: "fast", severity: Severity::Page, factor: 14.4, long_ms: HOUR_MS, short_ms: 5 * MINUTE_MS },
    BurnRule { name: "slow", severity: Severity::Page, factor: 6.0, long_ms: 6 * HOUR_MS, short_ms: 30 * MINUTE_MS },
    BurnRule { name: "ticket", severity: Severity::Ticket, factor: 1.0, long_ms: 3 * DAY_MS, short_ms: 6 * HOUR_MS },
];

/// The burn rate inside `lookback`: the share of the counted time in it that was down,
/// divided by the share the target allows (`1 - target`). Both lists are normalized.
/// It is 0.0 when no time counted in the lookback, or when the target is 100 % (no
/// budget to burn; such an objective is breached by any downtime instead).
pub fn burn_rate(counted: &[Interval], outages: &[Interval], lookback: Interval, target: f64) -> f64 {
    let allowed = 1.0 - target;
    let counted = clip(counted, lookback);
    let support = total_ms(&counted);
    if support == 0 || allowed <= 0.0 {
        return 0.0;
    }
    overlap_ms(&counted, outages) as f64 / support as f64 / allowed
}

/// The rules that fire: those whose burn rates over both the long and the short window
/// exceed the factor ([`BurnRule::exceeded_by`]). `burn(lookback_ms)` is the burn rate
/// over the last `lookback_ms`.
pub fn firing(rules: &[BurnRule], burn: impl Fn(i64) -> f64) -> Vec<FiringAlert> {
    rules
        .iter()
        .filter_map(|rule| {
            let (long_burn, short_burn) = (burn(rule.long_ms), burn(rule.short_ms));
            (rule.exceeded_by(long_burn) && rule.exceeded_by(short_burn)).then(|| FiringAlert {
                rule: rule.name.to_owned(),
                severity: rule.severity,
                long_burn,
                short_burn,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 99.9 % objective, around the clock.
    const TARGET: f64 = 0.999;
    /// "Now" in the synthetic histories: three days after the epoch.
    const NOW: i64 = 3 * DAY_MS;

    /// The burn-rate alerts at `now` of an around-the-clock objective measured for three days.
    fn alerts(outages: &[Interval], now: i64) -> Vec<FiringAlert> {
        let counted = [Interval::new(now - 3 * DAY_MS, now)];
        firing(&DEFAULT_RULES, |lookback| burn_rate(&counted, outages, Interval::new(now - lookback, now), TARGET))
    }

    fn names(alerts: &[FiringAlert]) -> Vec<&str> {
        alerts.iter().map(|alert| alert.rule.as_str()).collect()
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    #[test]
    fn six_minutes_down_in_the_last_hour_pages_fast() {
        let outages = [Interval::new(NOW - 6 * MINUTE_MS, NOW)];
        let fired = alerts(&outages, NOW);
        // 1 h: 6/60 down = 10 % of time, 100× the 0.1 % allowed; 5 min: all down, 1000×.
        assert_eq!(fired[0].rule, "fast");
        assert_eq!(fired[0].severity, Severity::Page);
        assert_close(fired[0].long_burn, 100.0);
        assert_close(fired[0].short_burn, 1000.0);
        // 6 h: 6/360 → 16.67×; 30 min: 6/30 → 200×; 3 d: 6/4320 → 1.39×: all fire.
        assert_eq!(names(&fired), ["fast", "slow", "ticket"]);
        assert_close(fired[1].long_burn, 6.0 / 360.0 / (1.0 - TARGET));
        assert_close(fired[2].long_burn, 6.0 / 4320.0 / (1.0 - TARGET));
    }

    #[test]
    fn a_steady_one_percent_error_rate_opens_a_ticket_but_does_not_page() {
        // 36 s down at the start of every hour of the last day: 1 % of the time, a burn
        // rate of 10 over any whole number of hours.
        let outages: Vec<_> = (48..72).map(|hour| Interval::new(hour * HOUR_MS, hour * HOUR_MS + 36_000)).collect();
        let counted = [Interval::new(2 * DAY_MS, NOW)];
        let burn = |lookback: i64| burn_rate(&counted, &outages, Interval::new(NOW - lookback, NOW), TARGET);
        assert_close(burn(HOUR_MS), 10.0);
        assert_close(burn(6 * HOUR_MS), 10.0);
        // The three-day lookback only holds the one measured day.
        assert_close(burn(3 * DAY_MS), 10.0);
        // The last 30 minutes hold no outage.
        assert_close(burn(30 * MINUTE_MS), 0.0);
        let fired = firing(&DEFAULT_RULES, burn);
        // fast needs 14.4 over the hour (10 is not enough); slow needs 6 over the last
        // 30 minutes too (0); ticket needs 1 over 3 days and 6 hours (10 and 10).
        assert_eq!(names(&fired), ["ticket"]);
    }

    #[test]
    fn a_recovered_blip_stops_paging_once_the_short_window_passes() {
        let blip = [Interval::new(NOW - 5 * MINUTE_MS, NOW)];
        assert!(names(&alerts(&blip, NOW)).contains(&"fast"));
        // Five minutes after recovery the hour still burns 5/60 → 83.3×, but the last
        // five minutes burn 0: fast stops; slow (30-minute short window) still fires.
        let later = NOW + 5 * MINUTE_MS;
        let fired = alerts(&blip, later);
        assert_eq!(names(&fired), ["slow", "ticket"]);
        assert_close(fired[0].short_burn, 5.0 / 30.0 / (1.0 - TARGET));
        let counted = [Interval::new(later - 3 * DAY_MS, later)];
        let hour = burn_rate(&counted, &blip, Interval::new(later - HOUR_MS, later), TARGET);
        assert_close(hour, 5.0 / 60.0 / (1.0 - TARGET));
        // Thirty minutes after recovery only the ticket remains (6 h: 5/360 → 13.9×).
        assert_eq!(names(&alerts(&blip, NOW + 30 * MINUTE_MS)), ["ticket"]);
    }

    #[test]
    fn a_burn_rate_exactly_at_the_factor_does_not_fire_and_just_above_it_does() {
        for rule in DEFAULT_RULES {
            let at = firing(&[rule], |_| rule.factor);
            assert!(at.is_empty(), "{} fired at exactly {}", rule.name, rule.factor);
            let above = rule.factor + rule.factor * f64::EPSILON * 4.0;
            assert_eq!(names(&firing(&[rule], |_| above)), [rule.name], "{} at {above}", rule.name);
            // The generated PromQL compares the same way.
            assert_eq!(rule.promql_condition("x"), format!("x > {}", rule.factor));
        }
    }

    #[test]
    fn no_counted_time_or_no_budget_burns_nothing() {
        let outages = [Interval::new(0, HOUR_MS)];
        let lookback = Interval::new(0, HOUR_MS);
        assert_eq!(burn_rate(&[], &outages, lookback, TARGET), 0.0);
        assert_eq!(burn_rate(&[lookback], &outages, lookback, 1.0), 0.0);
        // Downtime outside counted time does not burn: half the hour counts, none of it down.
        let counted = [Interval::new(HOUR_MS / 2, 2 * HOUR_MS)];
        let outages = [Interval::new(0, HOUR_MS / 2)];
        assert_eq!(burn_rate(&counted, &outages, lookback, TARGET), 0.0);
    }
}
