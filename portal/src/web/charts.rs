//! The SLA report's charts as geometry: where each bar, tick and outage goes, in the
//! coordinates of an SVG `viewBox`. Pure arithmetic; the template
//! (`templates/sla_report.html`) only places what is computed here and writes the numbers
//! in the viewer's language, so the charts need no script and load nothing.
//!
//! - [`availability`]: one horizontal bar per service from the left edge of the axis to
//!   its measured availability, with a tick at its target. The axis starts at 90 % (or
//!   lower, one point below the lowest value shown) rather than 0 %, so that 99.5 % and
//!   99.9 % look different.
//! - [`timeline`]: one row per service that had outages, the month's days across, a span
//!   for each outage; spans too short to see are widened to [`MIN_SPAN`].

use jiff::{civil::Date, tz::TimeZone};
use makonis_slo_core::{Interval, report::ServiceReport};
use serde::Serialize;

/// The width of every chart's `viewBox`.
pub const WIDTH: f64 = 720.0;
/// Where the plot area starts, from the left edge: room for half the first tick's label.
pub const PLOT_LEFT: f64 = 24.0;
/// Where the availability chart's plot area ends; its values are written to the right.
pub const BARS_RIGHT: f64 = 488.0;
/// Where the timeline's plot area ends.
pub const TIMELINE_RIGHT: f64 = WIDTH - 8.0;
/// The height of one service's row: its name above, its bar below.
pub const ROW_HEIGHT: f64 = 44.0;
/// The height of a bar or an outage row.
pub const BAR_HEIGHT: f64 = 16.0;
/// Where a row's name sits, below the row's top.
const LABEL_BASELINE: f64 = 18.0;
/// Where a row's bar starts, below the row's top.
const BAR_TOP: f64 = 24.0;
/// How far a target's tick reaches above and below its bar.
const TARGET_OVERHANG: f64 = 4.0;
/// The gap between the availability chart's plot and the values written beside it.
const VALUE_GAP: f64 = 12.0;
/// The narrowest an outage is drawn, so that a minute's outage in a month still shows.
pub const MIN_SPAN: f64 = 2.0;
/// The highest the axis starts: availability below 90 % is rare enough to widen it.
pub const AXIS_FROM_AT_MOST: f64 = 90.0;
/// The steps the availability axis's ticks may take, in percentage points.
const TICK_STEPS: [f64; 7] = [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0];
/// The most intervals between ticks.
const MAX_TICK_INTERVALS: f64 = 5.0;
/// The days of the month whose number is written under the timeline (and the last day).
const LABELLED_DAYS: [i8; 6] = [1, 5, 10, 15, 20, 25];

/// `value` rounded to a hundredth: enough for a `viewBox` 720 wide, and short in the page.
fn px(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// A labelled mark on an axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    /// Its position.
    pub x: f64,
    /// The percentage it marks.
    pub value: f64,
}

/// One service in the availability chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailabilityBar {
    /// The service's name.
    pub service: String,
    /// The baseline of its name.
    pub label_y: f64,
    /// The top of its bar.
    pub bar_y: f64,
    /// The bar's width; `None` when nothing was measured (no bar is drawn).
    pub bar_width: Option<f64>,
    /// Where its target is.
    pub target_x: f64,
    /// The top of the target's tick.
    pub target_top: f64,
    /// The bottom of the target's tick.
    pub target_bottom: f64,
    /// The baseline of the value written beside the bar.
    pub value_y: f64,
    /// Measured availability in percent, if measured.
    pub availability_percent: Option<f64>,
    /// The target in percent.
    pub target_percent: f64,
    /// Whether the target was met.
    pub met: bool,
}

/// Availability against target, one bar per service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AvailabilityChart {
    /// The `viewBox` width.
    pub width: f64,
    /// The `viewBox` height.
    pub height: f64,
    /// Where the plot starts (the axis's left end).
    pub plot_left: f64,
    /// Where the plot ends (100 %).
    pub plot_right: f64,
    /// Where the values beside the bars start.
    pub value_x: f64,
    /// The height of a bar.
    pub bar_height: f64,
    /// The percentage at the left end of the axis (the right end is 100 %).
    pub axis_from: f64,
    /// Where the axis line is.
    pub axis_y: f64,
    /// The baseline of the ticks' labels.
    pub tick_label_y: f64,
    /// The axis's labelled marks, left to right, ending at 100 %.
    pub ticks: Vec<Tick>,
    /// The bars, in the order of the services given.
    pub bars: Vec<AvailabilityBar>,
}

/// Where the axis of `services` starts: 90 %, or one point below the lowest availability
/// or target shown, rounded down to a whole percent, but not below 0 %.
pub fn axis_from(services: &[ServiceReport]) -> f64 {
    let lowest = services
        .iter()
        .flat_map(|service| [Some(service.target_percent), service.availability_percent])
        .flatten()
        .fold(f64::INFINITY, f64::min);
    if lowest.is_finite() { (lowest - 1.0).floor().clamp(0.0, AXIS_FROM_AT_MOST) } else { AXIS_FROM_AT_MOST }
}

/// The x of `percent` on the axis from `from` to 100 %, clamped to the plot.
fn percent_x(percent: f64, from: f64) -> f64 {
    let share = ((percent - from) / (100.0 - from)).clamp(0.0, 1.0);
    px(PLOT_LEFT + share * (BARS_RIGHT - PLOT_LEFT))
}

/// The ticks of an axis from `from` to 100 %: at the multiples of the smallest step that
/// makes at most five intervals.
fn percent_ticks(from: f64) -> Vec<Tick> {
    let span = 100.0 - from;
    let step = TICK_STEPS.into_iter().find(|step| span / step <= MAX_TICK_INTERVALS).unwrap_or(100.0);
    let first = (from / step).ceil() as i64;
    let last = (100.0 / step).floor() as i64;
    (first..=last).map(|n| n as f64 * step).map(|value| Tick { x: percent_x(value, from), value }).collect()
}

/// The availability chart of `services`.
pub fn availability(services: &[ServiceReport]) -> AvailabilityChart {
    let from = axis_from(services);
    let bars: Vec<AvailabilityBar> = services
        .iter()
        .enumerate()
        .map(|(index, service)| {
            let top = index as f64 * ROW_HEIGHT;
            let bar_y = top + BAR_TOP;
            AvailabilityBar {
                service: service.service.clone(),
                label_y: top + LABEL_BASELINE,
                bar_y,
                bar_width: service.availability_percent.map(|percent| px(percent_x(percent, from) - PLOT_LEFT)),
                target_x: percent_x(service.target_percent, from),
                target_top: bar_y - TARGET_OVERHANG,
                target_bottom: bar_y + BAR_HEIGHT + TARGET_OVERHANG,
                value_y: bar_y + BAR_HEIGHT - 3.0,
                availability_percent: service.availability_percent,
                target_percent: service.target_percent,
                met: service.met,
            }
        })
        .collect();
    let axis_y = bars.len() as f64 * ROW_HEIGHT + 8.0;
    AvailabilityChart {
        width: WIDTH,
        height: axis_y + 24.0,
        plot_left: PLOT_LEFT,
        plot_right: BARS_RIGHT,
        value_x: BARS_RIGHT + VALUE_GAP,
        bar_height: BAR_HEIGHT,
        axis_from: from,
        axis_y,
        tick_label_y: axis_y + 18.0,
        ticks: percent_ticks(from),
        bars,
    }
}

/// One outage on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutageBox {
    /// Its left edge.
    pub x: f64,
    /// Its width, at least [`MIN_SPAN`].
    pub width: f64,
    /// When it began, within the month (Unix ms).
    pub start: i64,
    /// When it ended, within the month (Unix ms).
    pub end: i64,
}

/// One service's row on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineRow {
    /// The service's name.
    pub service: String,
    /// The baseline of its name.
    pub label_y: f64,
    /// The top of its row.
    pub bar_y: f64,
    /// Its outages.
    pub outages: Vec<OutageBox>,
}

/// A day's line on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayLine {
    /// Where the day starts.
    pub x: f64,
    /// The middle of the day, where its number goes.
    pub label_x: f64,
    /// The day of the month.
    pub day: i8,
    /// Whether its number is written.
    pub labelled: bool,
}

/// A stretch of the plot, left to right.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// Its left edge.
    pub x: f64,
    /// Its width.
    pub width: f64,
}

/// The month's outages, one row per service that had any.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timeline {
    /// The `viewBox` width.
    pub width: f64,
    /// The `viewBox` height.
    pub height: f64,
    /// Where the plot starts (the month's first midnight).
    pub plot_left: f64,
    /// The plot's width (to the next month's first midnight).
    pub plot_width: f64,
    /// The height of a row's bar.
    pub bar_height: f64,
    /// Where the day lines end, below the last row.
    pub grid_bottom: f64,
    /// Where the day numbers' baseline is.
    pub axis_y: f64,
    /// One line per day.
    pub days: Vec<DayLine>,
    /// The rows.
    pub rows: Vec<TimelineRow>,
    /// For a month still running: the part still to come, from now to its end.
    pub future: Option<Band>,
}

/// The Unix ms of local midnight in Riga of every day of `month` (1–12) of `year`, first
/// to last, and of the first day of the next month.
pub fn riga_midnights(year: i16, month: i8) -> Vec<i64> {
    let riga = TimeZone::get("Europe/Riga").expect("the bundled time zone database has Europe/Riga");
    let Ok(first) = Date::new(year, month, 1) else { return Vec::new() };
    (0..=i32::from(first.days_in_month()))
        .filter_map(|offset| first.checked_add(jiff::Span::new().days(offset)).ok())
        .filter_map(|date| riga.to_timestamp(date.at(0, 0, 0, 0)).ok())
        .map(|instant| instant.as_millisecond())
        .collect()
}

/// The timeline of `services` over a month whose days start at `midnights` (as
/// [`riga_midnights`] gives them), as of `now`; `None` when no service had an outage.
pub fn timeline(services: &[ServiceReport], midnights: &[i64], now: i64) -> Option<Timeline> {
    let (&start, &end) = (midnights.first()?, midnights.last()?);
    if end <= start {
        return None;
    }
    let unrounded = |at: i64| {
        let share = ((at - start) as f64 / (end - start) as f64).clamp(0.0, 1.0);
        PLOT_LEFT + share * (TIMELINE_RIGHT - PLOT_LEFT)
    };
    let x = |at: i64| px(unrounded(at));
    let rows: Vec<TimelineRow> = services
        .iter()
        .filter(|service| !service.outage_spans.is_empty())
        .enumerate()
        .map(|(index, service)| {
            let top = index as f64 * ROW_HEIGHT;
            TimelineRow {
                service: service.service.clone(),
                label_y: top + LABEL_BASELINE,
                bar_y: top + BAR_TOP,
                outages: service.outage_spans.iter().map(|span| outage_box(*span, x)).collect(),
            }
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let last_day = midnights.len() - 1;
    let days = midnights
        .windows(2)
        .zip(1_i8..)
        .map(|(pair, day)| DayLine {
            x: x(pair[0]),
            label_x: px((unrounded(pair[0]) + unrounded(pair[1])) / 2.0),
            day,
            labelled: LABELLED_DAYS.contains(&day) || usize::from(day.unsigned_abs()) == last_day,
        })
        .collect();
    let grid_bottom = rows.len() as f64 * ROW_HEIGHT + 4.0;
    let future = (now < end).then(|| {
        let left = x(now.max(start));
        Band { x: left, width: px(TIMELINE_RIGHT - left) }
    });
    Some(Timeline {
        width: WIDTH,
        height: grid_bottom + 24.0,
        plot_left: PLOT_LEFT,
        plot_width: TIMELINE_RIGHT - PLOT_LEFT,
        bar_height: BAR_HEIGHT,
        grid_bottom,
        axis_y: grid_bottom + 18.0,
        days,
        rows,
        future,
    })
}

/// An outage's box, widened to [`MIN_SPAN`] (and kept inside the plot).
fn outage_box(span: Interval, x: impl Fn(i64) -> f64) -> OutageBox {
    let (left, right) = (x(span.start), x(span.end));
    let width = px((right - left).max(MIN_SPAN));
    OutageBox { x: px(left.min(TIMELINE_RIGHT - width)), width, start: span.start, end: span.end }
}

#[cfg(test)]
mod tests {
    use makonis_slo_core::{SupportHours, window::month_span};

    use super::*;

    const MINUTE: i64 = 60_000;

    fn service(name: &str, target: f64, availability: Option<f64>, spans: Vec<Interval>) -> ServiceReport {
        ServiceReport {
            namespace: "agency-vdi".into(),
            name: name.into(),
            agency: "vdi".into(),
            instance: String::new(),
            service: format!("Service {name}"),
            target_percent: target,
            support: SupportHours::TwentyFourSeven,
            support_minutes: 44_640.0,
            availability_percent: availability,
            downtime_minutes: 0.0,
            outages: u32::try_from(spans.len()).unwrap(),
            longest_outage_minutes: 0.0,
            met: availability.is_none_or(|a| a >= target),
            budget_left_percent: 100.0,
            outage_spans: spans,
        }
    }

    /// Positions are rounded to a hundredth.
    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() <= 0.005, "{actual} != {expected}");
    }

    #[test]
    fn the_axis_starts_at_90_unless_something_is_lower() {
        assert_eq!(axis_from(&[service("a", 99.5, Some(99.93), vec![])]), 90.0);
        assert_eq!(axis_from(&[service("a", 99.5, Some(85.2), vec![])]), 84.0);
        assert_eq!(axis_from(&[service("a", 80.0, Some(100.0), vec![])]), 79.0, "a low target widens it too");
        assert_eq!(axis_from(&[service("a", 99.0, Some(91.0), vec![])]), 90.0, "91 - 1 is not below 90");
        assert_eq!(axis_from(&[service("a", 99.0, Some(0.5), vec![])]), 0.0, "never below 0");
        assert_eq!(axis_from(&[service("a", 99.0, None, vec![])]), 90.0, "unmeasured services do not count");
        assert_eq!(axis_from(&[]), 90.0);
    }

    #[test]
    fn ticks_make_at_most_five_intervals_and_end_at_100() {
        let values = |from: f64| percent_ticks(from).iter().map(|tick| tick.value).collect::<Vec<_>>();
        assert_eq!(values(90.0), [90.0, 92.0, 94.0, 96.0, 98.0, 100.0]);
        assert_eq!(values(84.0), [85.0, 90.0, 95.0, 100.0]);
        assert_eq!(values(0.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(values(98.0), [98.0, 99.0, 100.0]);
        let ticks = percent_ticks(90.0);
        close(ticks[0].x, PLOT_LEFT);
        close(ticks[5].x, BARS_RIGHT);
        close(ticks[1].x, PLOT_LEFT + 0.2 * (BARS_RIGHT - PLOT_LEFT));
    }

    #[test]
    fn bars_reach_availability_and_ticks_mark_targets() {
        let chart = availability(&[
            service("a", 99.5, Some(99.0), vec![]),
            service("b", 95.0, Some(100.0), vec![]),
            service("c", 99.9, None, vec![]),
        ]);
        assert_eq!(chart.axis_from, 90.0);
        let plot = BARS_RIGHT - PLOT_LEFT;
        // 99 % on an axis from 90 % to 100 % is nine tenths of the way.
        close(chart.bars[0].bar_width.unwrap(), 0.9 * plot);
        close(chart.bars[0].target_x, PLOT_LEFT + 0.95 * plot);
        assert!(!chart.bars[0].met);
        close(chart.bars[1].bar_width.unwrap(), plot);
        close(chart.bars[1].target_x, PLOT_LEFT + 0.5 * plot);
        assert!(chart.bars[1].met);
        assert_eq!(chart.bars[2].bar_width, None, "nothing measured, no bar");
        assert_eq!(chart.bars[2].service, "Service c");
        let first = &chart.bars[0];
        assert_eq!((first.target_top, first.target_bottom, first.value_y), (20.0, 44.0, 37.0));
        assert_eq!((chart.value_x, chart.tick_label_y), (BARS_RIGHT + 12.0, chart.axis_y + 18.0));
        assert_eq!(chart.bars.iter().map(|bar| bar.bar_y).collect::<Vec<_>>(), [24.0, 68.0, 112.0]);
        assert_eq!((chart.axis_y, chart.height), (3.0 * ROW_HEIGHT + 8.0, 3.0 * ROW_HEIGHT + 32.0));
    }

    #[test]
    fn values_below_the_axis_are_clamped_to_its_edge() {
        close(percent_x(50.0, 90.0), PLOT_LEFT);
        close(percent_x(120.0, 90.0), BARS_RIGHT);
    }

    #[test]
    fn riga_days_follow_summer_time() {
        let march = riga_midnights(2024, 3);
        assert_eq!(march.len(), 32, "31 days and the next month's first midnight");
        assert_eq!((march[0], march[31]), (month_span(2024, 3).start, month_span(2024, 3).end));
        // The clocks go forward on Sunday 31 March: that day has 23 hours.
        assert_eq!(march[31] - march[30], 23 * 60 * MINUTE);
        assert_eq!(march[1] - march[0], 24 * 60 * MINUTE);
        assert_eq!(riga_midnights(2024, 2).len(), 30);
        assert!(riga_midnights(2024, 13).is_empty());
    }

    #[test]
    fn outages_sit_on_their_days_and_short_ones_stay_visible() {
        let month = month_span(2025, 1);
        let midnights = riga_midnights(2025, 1);
        let day = 24 * 60 * MINUTE;
        let spans = vec![
            // The whole of 11 January.
            Interval::new(month.start + 10 * day, month.start + 11 * day),
            // One minute on the 20th.
            Interval::new(month.start + 19 * day, month.start + 19 * day + MINUTE),
        ];
        let services = [service("a", 99.5, Some(99.0), spans), service("quiet", 99.5, Some(100.0), vec![])];
        let chart = timeline(&services, &midnights, month.end + day).unwrap();
        assert_eq!(chart.rows.len(), 1, "only services with outages get a row");
        assert_eq!(chart.rows[0].service, "Service a");
        let width = TIMELINE_RIGHT - PLOT_LEFT;
        let outages = &chart.rows[0].outages;
        close(outages[0].x, PLOT_LEFT + width * 10.0 / 31.0);
        close(outages[0].width, width / 31.0);
        close(outages[1].x, PLOT_LEFT + width * 19.0 / 31.0);
        assert_eq!(outages[1].width, MIN_SPAN);
        assert_eq!((outages[1].start, outages[1].end), (month.start + 19 * day, month.start + 19 * day + MINUTE));
        assert_eq!(chart.days.len(), 31);
        let labelled: Vec<i8> = chart.days.iter().filter(|d| d.labelled).map(|d| d.day).collect();
        assert_eq!(labelled, [1, 5, 10, 15, 20, 25, 31]);
        close(chart.days[0].label_x, PLOT_LEFT + width / 62.0);
        assert_eq!(chart.future, None, "the month is over");
        assert_eq!((chart.grid_bottom, chart.axis_y), (ROW_HEIGHT + 4.0, ROW_HEIGHT + 22.0));
    }

    #[test]
    fn a_running_month_marks_now_and_an_outage_at_its_end_stays_inside() {
        let month = month_span(2025, 2);
        let midnights = riga_midnights(2025, 2);
        let last_minute = Interval::new(month.end - MINUTE, month.end);
        let chart = timeline(&[service("a", 99.0, Some(99.9), vec![last_minute])], &midnights, month.start).unwrap();
        let outage = &chart.rows[0].outages[0];
        close(outage.x + outage.width, TIMELINE_RIGHT);
        assert_eq!(chart.future, Some(Band { x: PLOT_LEFT, width: TIMELINE_RIGHT - PLOT_LEFT }), "all still to come");
        let halfway =
            timeline(&[service("a", 99.0, Some(99.9), vec![last_minute])], &midnights, midnights[14]).unwrap();
        let future = halfway.future.unwrap();
        close(future.x, PLOT_LEFT + (TIMELINE_RIGHT - PLOT_LEFT) / 2.0);
        close(future.x + future.width, TIMELINE_RIGHT);
        let labelled: Vec<i8> = chart.days.iter().filter(|d| d.labelled).map(|d| d.day).collect();
        assert_eq!(labelled, [1, 5, 10, 15, 20, 25, 28], "February's last day is labelled");
    }

    #[test]
    fn no_outages_no_timeline() {
        let midnights = riga_midnights(2025, 1);
        assert_eq!(timeline(&[service("a", 99.0, Some(100.0), vec![])], &midnights, 0), None);
        assert_eq!(timeline(&[], &midnights, 0), None);
        assert_eq!(timeline(&[service("a", 99.0, None, vec![Interval::new(1, 2)])], &[], 0), None);
    }
}
