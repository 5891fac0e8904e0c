//! The monthly SLA report: per service, per agency and for the whole platform.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::{
    Interval, MINUTE_MS, Objective, SupportHours,
    calendar::HolidayCalendar,
    interval::{clip, normalize, overlap_ms, total_ms},
    support::counted_time,
    window::month_span,
};

/// One objective as the ledger keeps it, alive or deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveRecord {
    /// The objective's namespace.
    pub namespace: String,
    /// The objective's name.
    pub name: String,
    /// The agency's code (`vdi`), or empty for the platform's own objectives.
    pub agency: String,
    /// The `ServiceInstance` it measures, or empty.
    pub instance: String,
    /// The service as people call it, e.g. `Dokumentu vadība (dms, standard)`.
    pub service: String,
    /// What it promises. `measured_since` is its creation.
    pub objective: Objective,
    /// When it was deleted, if it was.
    pub deleted_at: Option<i64>,
}

/// One outage of one objective's probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageRecord {
    /// The objective's namespace.
    pub namespace: String,
    /// The objective it counts against.
    pub objective: String,
    /// When the outage began.
    pub started_at: i64,
    /// When it ended; `None` while it lasts.
    pub ended_at: Option<i64>,
    /// What the probe saw, e.g. `HTTP 503 (expected 200)`.
    pub cause: String,
}

/// One service's month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceReport {
    /// The objective's namespace.
    pub namespace: String,
    /// The objective's name.
    pub name: String,
    /// The agency's code, or empty for the platform.
    pub agency: String,
    /// The instance it measures, or empty.
    pub instance: String,
    /// The service as people call it.
    pub service: String,
    /// The target in percent, e.g. `99.5`.
    pub target_percent: f64,
    /// Whether support is around the clock or in business hours.
    pub support: crate::SupportHours,
    /// Support time measured in the month (up to now for the current month), in minutes.
    pub support_minutes: f64,
    /// Measured availability in percent; `None` when no support time was measured.
    pub availability_percent: Option<f64>,
    /// Downtime that counted, in minutes.
    pub downtime_minutes: f64,
    /// Outages that overlapped the month (whether or not they counted).
    pub outages: u32,
    /// The longest of them inside the month, in minutes.
    pub longest_outage_minutes: f64,
    /// Whether the target was met (or is met so far).
    pub met: bool,
    /// The month's error budget left, in percent of it (negative once overspent).
    pub budget_left_percent: f64,
    /// The outages clipped to the month, for the timeline.
    pub outage_spans: Vec<Interval>,
}

/// One agency's services in the month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgencyReport {
    /// The agency's code, or empty for the platform's own services.
    pub agency: String,
    /// Its services, ordered by service name.
    pub services: Vec<ServiceReport>,
    /// How many met their target.
    pub met: usize,
    /// How many did not.
    pub breached: usize,
}

/// The platform's own availability against its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformSummary {
    /// The target in percent (97 % for the sector's central infrastructure).
    pub target_percent: f64,
    /// Availability of the platform's own services pooled: total counted downtime over
    /// total support time; `None` when the platform has no objectives.
    pub availability_percent: Option<f64>,
    /// Whether it meets the target.
    pub met: bool,
}

/// The SLA report of one calendar month (Europe/Riga).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthlyReport {
    /// The year.
    pub year: i16,
    /// The month, 1–12.
    pub month: i8,
    /// The month's span (up to now for the current month).
    pub span: Interval,
    /// Whether the month is still running.
    pub partial: bool,
    /// One entry per agency with objectives, by agency code; the platform's own (empty
    /// code) first.
    pub agencies: Vec<AgencyReport>,
    /// The platform's own availability.
    pub platform: PlatformSummary,
}

/// The SLA report of calendar month `month` of `year` (Europe/Riga) as of `now`.
///
/// Each objective alive in the month is measured from its creation (or the month's start)
/// to its deletion (or the month's end, or `now`): support time minus maintenance is the
/// time that counts, and outages (an open one ends at `now`) count where they overlap it.
/// Its outages are clipped to that measured part, so a re-created objective of the same
/// name does not inherit its predecessor's. Its budget is `(1 - target)` of its counted
/// time; with no budget, 100 % is left without downtime and −100 % with it. An objective
/// with no counted time has no availability and meets its target.
pub fn monthly_report(
    year: i16,
    month: i8,
    objectives: &[ObjectiveRecord],
    outages: &[OutageRecord],
    now: i64,
    calendar: &HolidayCalendar,
    platform_target_percent: f64,
) -> MonthlyReport {
    let whole = month_span(year, month);
    let span = Interval::new(whole.start, whole.end.min(now));
    let outages = outages_by_objective(outages, span, now);
    let mut counted = CountedTime { calendar, span, cache: HashMap::new() };
    let mut agencies: BTreeMap<&str, Vec<ServiceReport>> = BTreeMap::new();
    for record in objectives {
        let Some(measured) = measured_span(record, span) else { continue };
        let counted = clip(counted.of(&record.objective), measured);
        let outages = outages.get(&(record.namespace.as_str(), record.name.as_str())).map_or(&[][..], Vec::as_slice);
        agencies.entry(&record.agency).or_default().push(service_report(record, &counted, &clip(outages, measured)));
    }
    let platform = platform_summary(agencies.get(""), platform_target_percent);
    MonthlyReport {
        year,
        month: month.clamp(1, 12),
        span,
        partial: now < whole.end,
        agencies: agencies.into_iter().map(|(agency, services)| agency_report(agency, services)).collect(),
        platform,
    }
}

/// The outages that overlap `span`, as spans (open ones end at `now`), by namespace and
/// objective name.
fn outages_by_objective(outages: &[OutageRecord], span: Interval, now: i64) -> HashMap<(&str, &str), Vec<Interval>> {
    let mut grouped: HashMap<(&str, &str), Vec<Interval>> = HashMap::new();
    for outage in outages {
        let interval = Interval::new(outage.started_at, outage.ended_at.unwrap_or(now));
        if interval.intersect(span).is_some() {
            grouped.entry((&outage.namespace, &outage.objective)).or_default().push(interval);
        }
    }
    grouped
}

/// The part of `span` the objective was alive in, `None` if it was not.
fn measured_span(record: &ObjectiveRecord, span: Interval) -> Option<Interval> {
    let alive = Interval::new(record.objective.measured_since, record.deleted_at.unwrap_or(i64::MAX));
    alive.intersect(span)
}

/// What makes two objectives' counted time the same: support hours and maintenance.
type Profile = (bool, Vec<(i8, u16, i64)>);

/// The counted time of the month's span per support profile, computed once per profile.
struct CountedTime<'a> {
    /// The calendar of working days.
    calendar: &'a HolidayCalendar,
    /// The month's span.
    span: Interval,
    /// Counted time by profile.
    cache: HashMap<Profile, Vec<Interval>>,
}

impl CountedTime<'_> {
    /// The counted time of `objective` over the month's span.
    fn of(&mut self, objective: &Objective) -> &[Interval] {
        let profile = (
            objective.support == SupportHours::BusinessHours,
            objective
                .maintenance
                .iter()
                .map(|window| (window.weekday.to_monday_zero_offset(), window.start_minute, window.duration_ms))
                .collect(),
        );
        self.cache
            .entry(profile)
            .or_insert_with(|| counted_time(objective.support, &objective.maintenance, self.calendar, self.span))
    }
}

/// One objective's month, given its counted time and its outages, both inside its
/// measured span.
fn service_report(record: &ObjectiveRecord, counted: &[Interval], outages: &[Interval]) -> ServiceReport {
    let target = record.objective.target;
    let outage_spans = normalize(outages.to_vec());
    let support_ms = total_ms(counted);
    let downtime_ms = overlap_ms(&outage_spans, counted);
    let availability = (support_ms > 0).then(|| 1.0 - downtime_ms as f64 / support_ms as f64);
    ServiceReport {
        namespace: record.namespace.clone(),
        name: record.name.clone(),
        agency: record.agency.clone(),
        instance: record.instance.clone(),
        service: record.service.clone(),
        target_percent: target * 100.0,
        support: record.objective.support,
        support_minutes: minutes(support_ms),
        availability_percent: availability.map(|availability| availability * 100.0),
        downtime_minutes: minutes(downtime_ms),
        outages: u32::try_from(outages.len()).unwrap_or(u32::MAX),
        longest_outage_minutes: minutes(outages.iter().map(Interval::len).max().unwrap_or(0)),
        met: availability.is_none_or(|availability| availability >= target),
        budget_left_percent: budget_left_percent((1.0 - target) * support_ms as f64, downtime_ms),
        outage_spans,
    }
}

/// What is left of `budget_ms` after `downtime_ms`, in percent of it; without a budget
/// 100 when nothing was down and −100 otherwise.
fn budget_left_percent(budget_ms: f64, downtime_ms: i64) -> f64 {
    if budget_ms > 0.0 {
        100.0 * (budget_ms - downtime_ms as f64) / budget_ms
    } else if downtime_ms == 0 {
        100.0
    } else {
        -100.0
    }
}

/// Milliseconds as minutes.
fn minutes(ms: i64) -> f64 {
    ms as f64 / MINUTE_MS as f64
}

/// One agency's services, ordered by service name, then objective name and namespace.
fn agency_report(agency: &str, mut services: Vec<ServiceReport>) -> AgencyReport {
    services.sort_by(|a, b| (&a.service, &a.name, &a.namespace).cmp(&(&b.service, &b.name, &b.namespace)));
    let met = services.iter().filter(|service| service.met).count();
    AgencyReport { agency: agency.to_owned(), breached: services.len() - met, met, services }
}

/// The platform's own services pooled: their downtime over their support time.
fn platform_summary(services: Option<&Vec<ServiceReport>>, target_percent: f64) -> PlatformSummary {
    let (downtime, support) = services.into_iter().flatten().fold((0.0, 0.0), |(downtime, support), service| {
        (downtime + service.downtime_minutes, support + service.support_minutes)
    });
    let availability_percent = (support > 0.0).then(|| 100.0 * (1.0 - downtime / support));
    PlatformSummary {
        target_percent,
        availability_percent,
        met: availability_percent.is_none_or(|availability| availability >= target_percent),
    }
}

#[cfg(test)]
mod tests {
    use jiff::civil::{Weekday, date};

    use super::*;
    use crate::{WeeklyWindow, calendar::instant, window::Window};

    /// Riga wall-clock time as Unix ms.
    fn riga(year: i16, month: i8, day: i8, hour: i8, minute: i8) -> i64 {
        instant(date(year, month, day).at(hour, minute, 0, 0))
    }

    fn record(agency: &str, name: &str, support: SupportHours, target: f64) -> ObjectiveRecord {
        ObjectiveRecord {
            namespace: format!("ns-{agency}"),
            name: name.to_owned(),
            agency: agency.to_owned(),
            instance: String::new(),
            service: format!("Service {name}"),
            objective: Objective {
                target,
                window: Window::CalendarMonth,
                support,
                maintenance: Vec::new(),
                measured_since: riga(2020, 1, 1, 0, 0),
            },
            deleted_at: None,
        }
    }

    fn outage(of: &ObjectiveRecord, started_at: i64, ended_at: Option<i64>) -> OutageRecord {
        OutageRecord {
            namespace: of.namespace.clone(),
            objective: of.name.clone(),
            started_at,
            ended_at,
            cause: "HTTP 503 (expected 200)".to_owned(),
        }
    }

    /// The report of a month that is over, with the platform target of 97 %.
    fn report(year: i16, month: i8, objectives: &[ObjectiveRecord], outages: &[OutageRecord]) -> MonthlyReport {
        monthly_report(year, month, objectives, outages, riga(2030, 1, 1, 0, 0), &HolidayCalendar::default(), 97.0)
    }

    fn only(report: &MonthlyReport) -> &ServiceReport {
        &report.agencies[0].services[0]
    }

    fn find<'a>(report: &'a MonthlyReport, name: &str) -> &'a ServiceReport {
        report.agencies.iter().flat_map(|agency| &agency.services).find(|service| service.name == name).expect(name)
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    #[test]
    fn march_2024_has_743_hours_and_october_2026_745() {
        let objectives = [record("vdi", "web", SupportHours::TwentyFourSeven, 0.995)];
        let march = report(2024, 3, &objectives, &[]);
        assert_eq!(only(&march).support_minutes, 743.0 * 60.0);
        assert_eq!((march.span, march.partial), (month_span(2024, 3), false));
        assert_eq!(only(&march).availability_percent, Some(100.0));
        assert_eq!(only(&march).budget_left_percent, 100.0);
        assert!(only(&march).met);
        assert_eq!(only(&report(2026, 10, &objectives, &[])).support_minutes, 745.0 * 60.0);
    }

    #[test]
    fn an_outage_over_a_month_end_counts_in_both_months() {
        let web = record("vdi", "web", SupportHours::TwentyFourSeven, 0.999);
        let outages = [outage(&web, riga(2025, 1, 31, 23, 0), Some(riga(2025, 2, 1, 1, 0)))];
        let objectives = [web];
        for month in [1, 2] {
            let service = only(&report(2025, month, &objectives, &outages)).clone();
            assert_eq!(service.downtime_minutes, 60.0, "month {month}");
            assert_eq!((service.outages, service.longest_outage_minutes), (1, 60.0));
        }
        let january = report(2025, 1, &objectives, &outages);
        assert_eq!(only(&january).outage_spans, vec![Interval::new(riga(2025, 1, 31, 23, 0), month_span(2025, 1).end)]);
        // January: 44,640 min with 60 down is 99.866 %, below 99.9 %; the budget of 44.64 min
        // is overspent by 15.36 min, −34.4 %.
        assert_close(only(&january).availability_percent.expect("measured"), 100.0 * (1.0 - 60.0 / 44_640.0));
        assert!(!only(&january).met);
        assert_close(only(&january).budget_left_percent, 100.0 * (44.64 - 60.0) / 44.64);
        assert_eq!((january.agencies[0].met, january.agencies[0].breached), (0, 1));
    }

    #[test]
    fn business_hours_count_only_working_time() {
        let office = record("lm", "office", SupportHours::BusinessHours, 0.99);
        let always = record("lm", "always", SupportHours::TwentyFourSeven, 0.99);
        let outages = [
            // Wednesday 15 January 2025 16:00 to Thursday 09:30: across midnight. Business
            // hours count 16:00–17:00 and 08:30–09:30; around the clock all 17.5 h.
            outage(&office, riga(2025, 1, 15, 16, 0), Some(riga(2025, 1, 16, 9, 30))),
            outage(&always, riga(2025, 1, 15, 16, 0), Some(riga(2025, 1, 16, 9, 30))),
            // Saturday 18 January: outside business hours.
            outage(&office, riga(2025, 1, 18, 10, 0), Some(riga(2025, 1, 18, 12, 0))),
        ];
        let january = report(2025, 1, &[office, always], &outages);
        assert_eq!(find(&january, "office").downtime_minutes, 120.0);
        assert_eq!(find(&january, "office").outages, 2);
        assert_eq!(find(&january, "always").downtime_minutes, 1050.0);
        // January 2025: 23 weekdays minus New Year's Day = 22 working days of 510 min.
        assert_eq!(find(&january, "office").support_minutes, 22.0 * 510.0);
    }

    #[test]
    fn a_saturday_worked_by_government_order_counts_and_the_friday_off_does_not() {
        // May 2025: Friday 2 May off by order, Saturday 10 May worked in its place.
        let calendar = HolidayCalendar::declared([date(2025, 5, 2)], [date(2025, 5, 10)]).unwrap();
        let office = record("lm", "office", SupportHours::BusinessHours, 0.99);
        let outages = [
            outage(&office, riga(2025, 5, 2, 10, 0), Some(riga(2025, 5, 2, 11, 0))),
            outage(&office, riga(2025, 5, 10, 10, 0), Some(riga(2025, 5, 10, 11, 30))),
        ];
        let objectives = [office];
        let may = monthly_report(2025, 5, &objectives, &outages, riga(2030, 1, 1, 0, 0), &calendar, 97.0);
        // Only the Saturday's 90 minutes fall in business hours.
        assert_eq!(only(&may).downtime_minutes, 90.0);
        // 20 working days of the law (22 weekdays minus 1 and 5 May), minus the Friday, plus
        // the Saturday: 20 × 510 min.
        assert_eq!(only(&may).support_minutes, 20.0 * 510.0);
        // Without the order, it is the other way round.
        assert_eq!(only(&report(2025, 5, &objectives, &outages)).downtime_minutes, 60.0);
    }

    #[test]
    fn a_latvian_holiday_is_outside_business_hours() {
        let office = record("lm", "office", SupportHours::BusinessHours, 0.99);
        let always = record("lm", "always", SupportHours::TwentyFourSeven, 0.99);
        // Monday 23 June 2025 is Līgo: 10:00–11:00 is not business time that day.
        let outages = [
            outage(&office, riga(2025, 6, 23, 10, 0), Some(riga(2025, 6, 23, 11, 0))),
            outage(&always, riga(2025, 6, 23, 10, 0), Some(riga(2025, 6, 23, 11, 0))),
        ];
        let june = report(2025, 6, &[office, always], &outages);
        assert_eq!(find(&june, "office").downtime_minutes, 0.0);
        assert_eq!(find(&june, "office").outages, 1);
        assert_eq!(find(&june, "always").downtime_minutes, 60.0);
        // June 2025: 21 weekdays minus Līgo (Mon 23rd) and Jāņi (Tue 24th) = 19 days.
        assert_eq!(find(&june, "office").support_minutes, 19.0 * 510.0);
    }

    #[test]
    fn maintenance_windows_do_not_count() {
        let mut web = record("vdi", "web", SupportHours::TwentyFourSeven, 0.999);
        web.objective.maintenance =
            vec![WeeklyWindow { weekday: Weekday::Saturday, start_minute: 22 * 60, duration_ms: 4 * 60 * MINUTE_MS }];
        // Inside the window of Saturday 18 January, then 30 min after it ends.
        let outages = [
            outage(&web, riga(2025, 1, 18, 22, 30), Some(riga(2025, 1, 18, 23, 30))),
            outage(&web, riga(2025, 1, 19, 2, 0), Some(riga(2025, 1, 19, 2, 30))),
        ];
        let january = report(2025, 1, &[web], &outages);
        assert_eq!(only(&january).downtime_minutes, 30.0);
        // Saturdays 4, 11, 18 and 25 January lose 4 h each: 744 - 16 = 728 h.
        assert_eq!(only(&january).support_minutes, 728.0 * 60.0);
    }

    #[test]
    fn deleted_and_created_objectives_count_while_alive() {
        let mut deleted = record("vdi", "deleted", SupportHours::TwentyFourSeven, 0.99);
        deleted.deleted_at = Some(riga(2025, 1, 10, 0, 0));
        let mut created = record("vdi", "created", SupportHours::TwentyFourSeven, 0.99);
        created.objective.measured_since = riga(2025, 1, 20, 0, 0);
        let mut gone = record("vdi", "gone", SupportHours::TwentyFourSeven, 0.99);
        gone.deleted_at = Some(riga(2024, 12, 31, 0, 0));
        let mut future = record("vdi", "future", SupportHours::TwentyFourSeven, 0.99);
        future.objective.measured_since = riga(2025, 2, 1, 0, 0);
        let outages = [outage(&deleted, riga(2025, 1, 5, 0, 0), Some(riga(2025, 1, 5, 1, 0)))];
        let january = report(2025, 1, &[deleted, created, gone, future], &outages);
        let names: Vec<_> = january.agencies[0].services.iter().map(|service| service.name.as_str()).collect();
        // Ordered by service name: "Service created" before "Service deleted".
        assert_eq!(names, ["created", "deleted"]);
        // 1–10 January: 9 days; 20–31 January: 12 days.
        assert_eq!(find(&january, "deleted").support_minutes, 9.0 * 24.0 * 60.0);
        assert_eq!(find(&january, "deleted").downtime_minutes, 60.0);
        assert_eq!(find(&january, "created").support_minutes, 12.0 * 24.0 * 60.0);
    }

    #[test]
    fn an_open_outage_ends_now_in_a_partial_month() {
        let web = record("vdi", "web", SupportHours::TwentyFourSeven, 0.999);
        let now = riga(2025, 1, 15, 12, 0);
        let outages = [outage(&web, riga(2025, 1, 15, 11, 0), None)];
        let january = monthly_report(2025, 1, &[web], &outages, now, &HolidayCalendar::default(), 97.0);
        assert!(january.partial);
        assert_eq!(january.span, Interval::new(month_span(2025, 1).start, now));
        // 14.5 days so far, one hour of it down.
        assert_eq!(only(&january).support_minutes, 348.0 * 60.0);
        assert_eq!(only(&january).downtime_minutes, 60.0);
        assert_eq!(only(&january).outage_spans, vec![Interval::new(riga(2025, 1, 15, 11, 0), now)]);
    }

    #[test]
    fn agencies_are_grouped_with_the_platform_first() {
        let api = record("", "api", SupportHours::TwentyFourSeven, 0.999);
        let dns = record("", "dns", SupportHours::TwentyFourSeven, 0.999);
        let objectives = [
            record("vdi", "b", SupportHours::TwentyFourSeven, 0.99),
            dns.clone(),
            record("lm", "a", SupportHours::TwentyFourSeven, 0.99),
            record("vdi", "a", SupportHours::TwentyFourSeven, 0.99),
            api.clone(),
        ];
        let outages = [outage(&api, riga(2025, 1, 10, 0, 0), Some(riga(2025, 1, 10, 1, 0)))];
        let january = report(2025, 1, &objectives, &outages);
        let agencies: Vec<_> = january.agencies.iter().map(|agency| agency.agency.as_str()).collect();
        assert_eq!(agencies, ["", "lm", "vdi"]);
        let vdi: Vec<_> = january.agencies[2].services.iter().map(|service| service.name.as_str()).collect();
        assert_eq!(vdi, ["a", "b"]);
        // Pooled: 60 min down of 2 × 44,640 min.
        let pooled = january.platform.availability_percent.expect("the platform has objectives");
        assert_close(pooled, 100.0 * (1.0 - 60.0 / 89_280.0));
        assert!(january.platform.met);
        assert_eq!(january.platform.target_percent, 97.0);
        // Without platform objectives there is nothing to pool.
        let agencies_only = report(2025, 1, &objectives[..1], &[]);
        assert_eq!(agencies_only.platform.availability_percent, None);
        assert!(agencies_only.platform.met);
    }

    #[test]
    fn the_platform_misses_its_target() {
        let api = record("", "api", SupportHours::TwentyFourSeven, 0.97);
        // Down for 24 h of February 2025's 672 h: 96.43 % < 97 %.
        let outages = [outage(&api, riga(2025, 2, 3, 0, 0), Some(riga(2025, 2, 4, 0, 0)))];
        let february = report(2025, 2, &[api], &outages);
        assert_close(february.platform.availability_percent.expect("measured"), 100.0 * (1.0 - 24.0 / 672.0));
        assert!(!february.platform.met);
    }

    #[test]
    fn no_budget_and_no_support_time() {
        let mut perfect = record("vdi", "perfect", SupportHours::TwentyFourSeven, 1.0);
        let outages = [outage(&perfect, riga(2025, 1, 10, 0, 0), Some(riga(2025, 1, 10, 0, 1)))];
        assert_eq!(find(&report(2025, 1, std::slice::from_ref(&perfect), &[]), "perfect").budget_left_percent, 100.0);
        assert_eq!(
            find(&report(2025, 1, std::slice::from_ref(&perfect), &outages), "perfect").budget_left_percent,
            -100.0
        );
        // A business-hours objective alive only over a weekend measures nothing and meets.
        perfect.objective.support = SupportHours::BusinessHours;
        perfect.objective.measured_since = riga(2025, 1, 11, 0, 0);
        perfect.deleted_at = Some(riga(2025, 1, 13, 0, 0));
        let january = report(2025, 1, &[perfect], &[]);
        assert_eq!((only(&january).availability_percent, only(&january).met), (None, true));
    }

    #[test]
    fn a_full_platform_month() {
        // 12 agencies × 100 services and 10 platform services, 10 one-hour outages each on
        // the first ten days of January at 10:00: 600 min down around the clock, 600 min in
        // business hours (all ten days but the 1st, 4th and 5th are working days: 420 min).
        let mut objectives = Vec::new();
        for agency in (0..12).map(|i| format!("a{i:02}")).chain(std::iter::once(String::new())) {
            let count = if agency.is_empty() { 10 } else { 100 };
            for i in 0..count {
                let support = if i % 2 == 0 { SupportHours::TwentyFourSeven } else { SupportHours::BusinessHours };
                objectives.push(record(&agency, &format!("s{i:03}"), support, 0.995));
            }
        }
        let outages: Vec<_> = objectives
            .iter()
            .flat_map(|objective| {
                (1..=10).map(move |day| outage(objective, riga(2025, 1, day, 10, 0), Some(riga(2025, 1, day, 11, 0))))
            })
            .collect();
        let january = report(2025, 1, &objectives, &outages);
        assert_eq!(january.agencies.len(), 13);
        let services: Vec<_> = january.agencies.iter().flat_map(|agency| &agency.services).collect();
        assert_eq!(services.len(), 1210);
        for service in services {
            let expected = if service.support == SupportHours::TwentyFourSeven { 600.0 } else { 420.0 };
            assert_eq!(service.downtime_minutes, expected, "{}", service.name);
            assert_eq!(service.outages, 10);
        }
    }
}
