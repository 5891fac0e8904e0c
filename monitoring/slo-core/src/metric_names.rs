//! The names of the metrics the SLO engine exports, shared by the engine, the Prometheus rules and the dashboards.

/// Gauge `{agency, namespace, objective}`: availability so far in the current window (0–1).
pub const AVAILABILITY_RATIO: &str = "makonis_slo_availability_ratio";
/// Gauge `{agency, namespace, objective}`: the availability target as a ratio (0–1).
pub const TARGET_RATIO: &str = "makonis_slo_target_ratio";
/// Gauge `{agency, namespace, objective}`: what is left of the window's error budget as a
/// ratio of it (negative once overspent).
pub const ERROR_BUDGET_REMAINING_RATIO: &str = "makonis_slo_error_budget_remaining_ratio";
/// Gauge `{agency, namespace, objective}`: what is left of the window's error budget in
/// seconds (negative once overspent).
pub const ERROR_BUDGET_REMAINING_SECONDS: &str = "makonis_slo_error_budget_remaining_seconds";
/// Gauge `{agency, namespace, objective, window}`: the burn rate over `window`, one of the
/// burn rules' windows (`5m`, `30m`, `1h`, `6h`, `3d`, see [`crate::rules::window_label`]).
pub const BURN_RATE: &str = "makonis_slo_burn_rate";
/// Gauge `{agency, namespace, objective, state}`: 1 for the objective's current state
/// (`Met`, `AtRisk`, `Breached`), 0 for the others.
pub const STATE: &str = "makonis_slo_state";
/// Gauge `{agency, namespace, objective, rule, severity}`: 1 while the burn-rate rule fires.
pub const ALERT_FIRING: &str = "makonis_slo_alert_firing";
/// Gauge `{agency, namespace, probe}`: the probe's confirmed state, 1 up, 0 down.
pub const PROBE_UP: &str = "makonis_slo_probe_up";
/// Counter `{kind, outcome, category}`: probe results; `kind` is `http` or `tcp`, `outcome`
/// `success` or `failure`, `category` one of `none`, `dns`, `connect`, `timeout`, `tls`,
/// `protocol`, `status`, `body`, `latency`, `forbidden` (an agency's probe named or
/// resolved to a target out of its reach; nothing was connected to).
pub const PROBE_RESULTS_TOTAL: &str = "makonis_slo_probe_results_total";
/// Histogram `{kind}`: how long one probe took, in seconds.
pub const PROBE_DURATION_SECONDS: &str = "makonis_slo_probe_duration_seconds";
/// Gauge `{agency, namespace, probe}`: Unix time the server certificate expires at.
pub const PROBE_CERTIFICATE_EXPIRY_SECONDS: &str = "makonis_slo_probe_certificate_expiry_timestamp_seconds";
/// Counter `{agency}`: outages opened in the outage ledger.
pub const OUTAGES_TOTAL: &str = "makonis_slo_outages_total";
/// Gauge `{agency}`: outages open now.
pub const OPEN_OUTAGES: &str = "makonis_slo_open_outages";
/// Counter `{severity}`: incidents opened by burn-rate alerts.
pub const INCIDENTS_OPENED_TOTAL: &str = "makonis_slo_incidents_opened_total";
/// Histogram, no labels: how long one evaluation pass over all objectives took, in seconds.
pub const EVALUATION_DURATION_SECONDS: &str = "makonis_slo_evaluation_duration_seconds";
/// Gauge `{kind}`: objects the engine watches but cannot decode now (`Probe`,
/// `ServiceLevelObjective`, `Agency`, `Service`); each is named in a Warning Event.
pub const UNDECODABLE_OBJECTS: &str = "makonis_slo_undecodable_objects";

/// Every metric name above.
pub const ALL: &[&str] = &[
    AVAILABILITY_RATIO,
    TARGET_RATIO,
    ERROR_BUDGET_REMAINING_RATIO,
    ERROR_BUDGET_REMAINING_SECONDS,
    BURN_RATE,
    STATE,
    ALERT_FIRING,
    PROBE_UP,
    PROBE_RESULTS_TOTAL,
    PROBE_DURATION_SECONDS,
    PROBE_CERTIFICATE_EXPIRY_SECONDS,
    OUTAGES_TOTAL,
    OPEN_OUTAGES,
    INCIDENTS_OPENED_TOTAL,
    EVALUATION_DURATION_SECONDS,
    UNDECODABLE_OBJECTS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_prefixed_and_valid() {
        assert_eq!(ALL.len(), 16);
        for (i, name) in ALL.iter().enumerate() {
            assert!(name.starts_with("makonis_slo_"), "{name}");
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{name}");
            assert!(!ALL[i + 1..].contains(name), "{name} listed twice");
        }
    }
}
