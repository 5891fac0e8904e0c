//! The engine's availability against a real Prometheus with the blackbox exporter: both
//! probe the same local HTTP target once a second while it is switched up and down on a
//! schedule, and for a 24x7 objective over the schedule's span the engine's computed
//! availability must match `avg_over_time(probe_success[…])` within 0.5 percentage
//! points (and both must match the schedule's ground truth).
//!
//! The same span is then measured through the engine's Prometheus ratio indicator, from
//! the target's own request counters scraped by that Prometheus.
//!
//! Our side is the engine's probe path without Kubernetes: the same [`Prober`], the same
//! failure confirmation (3 failures open an outage, 2 successes close it, both dated
//! from the first result of the streak) and the same availability arithmetic as
//! `makonis slo run`; `slo_lifecycle.rs` runs the whole engine on the control plane.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use makonis_api::slo::PrometheusRatio;
use makonis_slo::{
    probe::{Check, HttpCheck, ProbeSpec, Prober, ProberConfig},
    prometheus::evaluate_ratio,
};
use makonis_slo_core::{
    Confirmer, DEFAULT_RULES, HolidayCalendar, Interval, Objective, ObjectiveState, SupportHours, Transition, evaluate,
    window::Window,
};
use support::{flapping::FlappingTarget, prometheus::PrometheusStack};

/// Up 20 s, down 15 s, up 10 s, down 5 s, up 10 s: 40 of 60 seconds up.
const SCHEDULE: [(bool, Duration); 5] = [
    (true, Duration::from_secs(20)),
    (false, Duration::from_secs(15)),
    (true, Duration::from_secs(10)),
    (false, Duration::from_secs(5)),
    (true, Duration::from_secs(10)),
];

/// 0.5 percentage points.
const TOLERANCE: f64 = 0.005;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

#[tokio::test]
async fn the_engine_and_prometheus_agree_on_a_flapping_targets_availability() {
    let target = FlappingTarget::start().await;
    let url = target.url();
    let stack =
        PrometheusStack::start_scraping(std::slice::from_ref(&url), &[target.authority()], Duration::from_secs(1))
            .await;

    // Prometheus probes on a grid of whole seconds from some phase; our probes run on the
    // same grid, and the switches fall half-way between two probes, so that neither side
    // has to guess which side of a switch a probe belongs to.
    let last_sample_ms =
        (stack.query(&format!("timestamp(probe_success{{instance=\"{url}\"}})"), None).await * 1000.0).round() as i64;
    let next_probe_ms = last_sample_ms + ((now_ms() - last_sample_ms) / 1000 + 2) * 1000;
    let prober = Prober::new(ProberConfig::default()).unwrap();
    let spec = ProbeSpec {
        check: Check::Http(HttpCheck {
            url: url.clone(),
            expected_status: Vec::new(),
            body_match: None,
            latency_threshold: None,
            certificate_warning: Duration::from_secs(14 * 86_400),
        }),
        timeout: Duration::from_millis(900),
        guard: None,
    };
    let schedule_length: Duration = SCHEDULE.iter().map(|(_, d)| *d).sum();
    let probing = async {
        let start = tokio::time::Instant::now() + Duration::from_millis((next_probe_ms - now_ms()).max(0) as u64);
        let mut ticker = tokio::time::interval_at(start, Duration::from_secs(1));
        let mut confirmer = Confirmer::new(3, 2);
        let mut outages: Vec<Interval> = Vec::new();
        let mut open: Option<i64> = None;
        let stop = next_probe_ms + schedule_length.as_millis() as i64 + 3_000;
        loop {
            ticker.tick().await;
            let at = now_ms();
            if at > stop {
                break;
            }
            let result = prober.run(&spec).await;
            let cause = result.failure.map(|f| f.cause).unwrap_or_default();
            match confirmer.observe(at, result.ok, &cause) {
                Transition::Down { since, .. } => open = Some(since),
                Transition::Up { at } => outages.extend(open.take().map(|start| Interval::new(start, at))),
                Transition::None => {}
            }
        }
        outages.extend(open.map(|start| Interval::new(start, stop)));
        outages
    };
    let switching = async {
        let wait = next_probe_ms + 500 - now_ms();
        tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
        target.run_schedule(&SCHEDULE).await
    };
    let (outages, (from, to)) = tokio::join!(probing, switching);

    let objective = Objective {
        target: 0.99,
        window: Window::CalendarMonth,
        support: SupportHours::TwentyFourSeven,
        maintenance: Vec::new(),
        measured_since: from,
    };
    let ours = evaluate(&objective, &outages, to, &HolidayCalendar::default(), &[])
        .availability
        .expect("support time was measured");
    let prometheus = stack.avg_probe_success(&url, from, to).await;
    let truth = target.uptime_ratio(from, to);
    println!("span {from}..{to} ({} ms); outages (ms): {outages:?}", to - from);
    println!("ground truth {truth:.4}, engine {ours:.4}, Prometheus {prometheus:.4}");
    assert!((truth - 40.0 / 60.0).abs() < 0.01, "the schedule ran off its timing: {truth}");
    assert_eq!(outages.len(), 2, "the two down periods, each confirmed once: {outages:?}");
    assert!(
        (ours - prometheus).abs() <= TOLERANCE,
        "engine {ours} and Prometheus {prometheus} differ by more than 0.5 pp"
    );
    assert!((ours - truth).abs() <= TOLERANCE, "engine {ours} vs ground truth {truth}");

    // The same span through a Prometheus ratio indicator: the target's own counts of the
    // requests it answered 200 and 503 (both probers' requests), as the engine evaluates
    // an objective with `indicator.prometheus`. Counts of requests rather than time, and
    // `increase()` extrapolating at the span's edges: within 2.5 percentage points.
    let indicator = PrometheusRatio {
        good: "flapping_requests_total{code=\"200\"}".into(),
        total: "flapping_requests_total".into(),
    };
    let windows = [5 * 60_000, 60 * 60_000];
    let (ratio, burns) = evaluate_ratio(&stack.url(), &indicator, &objective, to, &DEFAULT_RULES, &windows)
        .await
        .expect("Prometheus answers the ratio queries");
    let by_ratio = ratio.availability.expect("events were counted");
    println!("ratio indicator {by_ratio:.4}; burn rates {burns:?}");
    assert!((by_ratio - truth).abs() <= 0.025, "ratio indicator {by_ratio} vs ground truth {truth}");
    assert_eq!(ratio.state, ObjectiveState::AtRisk, "a third of the requests failed against a 99 % target");
    assert!(ratio.firing.iter().any(|alert| alert.rule == "fast"), "{:?}", ratio.firing);
}
