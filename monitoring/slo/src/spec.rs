//! From the Kubernetes kinds to what the engine runs and computes: a probe's check and
//! thresholds, an objective's promise. Pure; errors are messages for the status.

use std::time::Duration;

use jiff::civil::Weekday as CivilWeekday;
use kube::ResourceExt;
use makonis_api::{
    catalog::{MaintenanceWindow, SupportHours as ApiSupportHours, Weekday},
    slo::{Probe, ServiceLevelObjective, SloWindow},
    tenancy::code_of_namespace,
};
use makonis_slo_core::{Objective, SupportHours, WeeklyWindow, window::Window};

use crate::probe::{Check, HttpCheck, ProbeSpec};

/// How one probe runs: the check, its interval and its confirmation thresholds.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    /// What a run checks, and its timeout.
    pub spec: ProbeSpec,
    /// Time between runs.
    pub interval: Duration,
    /// Consecutive failures that open an outage.
    pub failure_threshold: u32,
    /// Consecutive successes that close it.
    pub success_threshold: u32,
    /// `http` or `tcp`, for metrics.
    pub kind: &'static str,
}

/// The agency of a namespace: `agency-vdi` → `vdi`; any other namespace (the platform's
/// own) → empty.
pub fn agency_of(namespace: &str) -> String {
    code_of_namespace(namespace).unwrap_or_default().to_string()
}

/// Unix milliseconds as an RFC 3339 time for a status field.
pub fn rfc3339(ms: i64) -> Option<String> {
    jiff::Timestamp::from_millisecond(ms).ok().map(|t| t.to_string())
}

/// A duration such as `30s`, `5m`, `4h` or `2d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(number * seconds))
}

/// What a `Probe` runs, or why it cannot run.
pub fn probe_plan(probe: &Probe) -> Result<ProbePlan, String> {
    let spec = &probe.spec;
    let interval =
        parse_duration(&spec.interval).ok_or_else(|| format!("spec.interval `{}` is not a duration", spec.interval))?;
    let timeout =
        parse_duration(&spec.timeout).ok_or_else(|| format!("spec.timeout `{}` is not a duration", spec.timeout))?;
    let (check, kind) = match (&spec.http, &spec.tcp) {
        (Some(http), None) => {
            let body_match = http
                .body_match
                .as_deref()
                .map(regex::Regex::new)
                .transpose()
                .map_err(|e| format!("spec.http.bodyMatch is not a regular expression: {e}"))?;
            let latency_threshold = http
                .latency_threshold
                .as_deref()
                .map(|t| parse_duration(t).ok_or_else(|| format!("spec.http.latencyThreshold `{t}` is not a duration")))
                .transpose()?;
            let expected_status = http
                .expected_status
                .iter()
                .map(|s| u16::try_from(*s).map_err(|_| format!("spec.http.expectedStatus: {s} is not a status code")))
                .collect::<Result<_, _>>()?;
            let check = HttpCheck {
                url: http.url.clone(),
                expected_status,
                body_match,
                latency_threshold,
                certificate_warning: Duration::from_secs(
                    86_400 * u64::from(http.certificate_expiry_warning_days.max(0) as u32),
                ),
            };
            (Check::Http(check), "http")
        }
        (None, Some(tcp)) => {
            let port = u16::try_from(tcp.port).map_err(|_| format!("spec.tcp.port: {} is not a port", tcp.port))?;
            (Check::Tcp { host: tcp.host.clone(), port }, "tcp")
        }
        _ => return Err("set exactly one of spec.http and spec.tcp".into()),
    };
    Ok(ProbePlan {
        spec: ProbeSpec { check, timeout, guard: None },
        interval,
        failure_threshold: spec.failure_threshold.clamp(1, 10) as u32,
        success_threshold: spec.success_threshold.clamp(1, 10) as u32,
        kind,
    })
}

/// What a `ServiceLevelObjective` promises, measured from its creation.
pub fn objective_of(slo: &ServiceLevelObjective) -> Result<Objective, String> {
    let spec = &slo.spec;
    let maintenance = spec
        .maintenance_windows
        .iter()
        .enumerate()
        .map(|(i, w)| weekly_window(w).map_err(|e| format!("spec.maintenanceWindows[{i}]: {e}")))
        .collect::<Result<_, _>>()?;
    let measured_since = slo.creation_timestamp().map(|t| t.0.as_millisecond()).unwrap_or_default();
    Ok(Objective {
        target: spec.target_percent / 100.0,
        window: match spec.window {
            SloWindow::CalendarMonth => Window::CalendarMonth,
            SloWindow::Rolling28Days => Window::Rolling { days: 28 },
            SloWindow::Rolling30Days => Window::Rolling { days: 30 },
        },
        support: support_hours(spec.support_hours),
        maintenance,
        measured_since,
    })
}

/// The core's support hours for the API's.
pub fn support_hours(hours: ApiSupportHours) -> SupportHours {
    match hours {
        ApiSupportHours::TwentyFourSeven => SupportHours::TwentyFourSeven,
        ApiSupportHours::BusinessHours => SupportHours::BusinessHours,
    }
}

/// A maintenance window as the core computes with it.
pub fn weekly_window(window: &MaintenanceWindow) -> Result<WeeklyWindow, String> {
    let (hours, minutes) = window
        .start
        .split_once(':')
        .and_then(|(h, m)| Some((h.parse::<u16>().ok()?, m.parse::<u16>().ok()?)))
        .filter(|(h, m)| *h < 24 && *m < 60)
        .ok_or_else(|| format!("start `{}` is not HH:MM", window.start))?;
    let duration = parse_duration(&window.duration)
        .filter(|d| *d <= Duration::from_secs(7 * 86_400))
        .ok_or_else(|| format!("duration `{}` is not a duration of at most 7d", window.duration))?;
    Ok(WeeklyWindow {
        weekday: weekday(window.day),
        start_minute: hours * 60 + minutes,
        duration_ms: duration.as_millis() as i64,
    })
}

fn weekday(day: Weekday) -> CivilWeekday {
    match day {
        Weekday::Monday => CivilWeekday::Monday,
        Weekday::Tuesday => CivilWeekday::Tuesday,
        Weekday::Wednesday => CivilWeekday::Wednesday,
        Weekday::Thursday => CivilWeekday::Thursday,
        Weekday::Friday => CivilWeekday::Friday,
        Weekday::Saturday => CivilWeekday::Saturday,
        Weekday::Sunday => CivilWeekday::Sunday,
    }
}

#[cfg(test)]
mod tests {
    use makonis_api::slo::{HttpProbe, ProbeSpec as ApiProbeSpec, TcpProbe};

    use super::*;

    fn probe(http: Option<HttpProbe>, tcp: Option<TcpProbe>) -> Probe {
        Probe::new(
            "web",
            ApiProbeSpec {
                instance: None,
                http,
                tcp,
                interval: "15s".into(),
                timeout: "3s".into(),
                failure_threshold: 3,
                success_threshold: 2,
            },
        )
    }

    fn http(body_match: Option<&str>) -> HttpProbe {
        HttpProbe {
            url: "https://web.vdi.apps.makonis.lv/".into(),
            expected_status: vec![200, 204],
            body_match: body_match.map(Into::into),
            latency_threshold: Some("2s".into()),
            certificate_expiry_warning_days: 14,
        }
    }

    #[test]
    fn durations_and_agencies() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("4h"), Some(Duration::from_secs(4 * 3600)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("5w"), None);
        assert_eq!(agency_of("agency-vdi"), "vdi");
        assert_eq!(agency_of("makonis-system"), "");
    }

    #[test]
    fn an_http_probe_becomes_a_check_with_its_thresholds() {
        let plan = probe_plan(&probe(Some(http(Some("ok"))), None)).unwrap();
        assert_eq!((plan.interval, plan.spec.timeout), (Duration::from_secs(15), Duration::from_secs(3)));
        assert_eq!((plan.failure_threshold, plan.success_threshold, plan.kind), (3, 2, "http"));
        let Check::Http(check) = plan.spec.check else { panic!("an HTTP check") };
        assert_eq!(check.expected_status, vec![200, 204]);
        assert_eq!(check.latency_threshold, Some(Duration::from_secs(2)));
        assert_eq!(check.certificate_warning, Duration::from_secs(14 * 86_400));
    }

    #[test]
    fn a_bad_body_pattern_is_named() {
        let error = probe_plan(&probe(Some(http(Some("(unclosed"))), None)).unwrap_err();
        assert!(error.starts_with("spec.http.bodyMatch is not a regular expression"), "{error}");
        let plan = probe_plan(&probe(None, Some(TcpProbe { host: "db".into(), port: 5432 }))).unwrap();
        assert!(matches!(plan.spec.check, Check::Tcp { ref host, port: 5432 } if host == "db"));
        assert!(probe_plan(&probe(None, None)).is_err());
    }

    #[test]
    fn maintenance_windows_become_weekly_windows() {
        let window = MaintenanceWindow { day: Weekday::Saturday, start: "22:00".into(), duration: "4h".into() };
        let weekly = weekly_window(&window).unwrap();
        assert_eq!(weekly.weekday, CivilWeekday::Saturday);
        assert_eq!((weekly.start_minute, weekly.duration_ms), (22 * 60, 4 * 3_600_000));
        let bad = MaintenanceWindow { day: Weekday::Monday, start: "25:00".into(), duration: "4h".into() };
        assert_eq!(weekly_window(&bad).unwrap_err(), "start `25:00` is not HH:MM");
    }
}
