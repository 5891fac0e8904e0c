//! Prometheus alerting rules for the burn-rate alerts.
//!
//! The rules read the engine's own gauges rather than raw probe results, so they respect
//! support hours and maintenance windows exactly as the engine does.

use serde_json::{Value, json};

use crate::burn::{BurnRule, Severity};
use crate::metric_names::{
    BURN_RATE, ERROR_BUDGET_REMAINING_RATIO, EVALUATION_DURATION_SECONDS, PROBE_CERTIFICATE_EXPIRY_SECONDS,
};
use crate::quoting::{go_string, template_text};
use crate::{DAY_MS, HOUR_MS, MINUTE_MS};

/// The objective a set of alerting rules watches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleTarget<'a> {
    /// The objective's namespace.
    pub namespace: &'a str,
    /// The objective's name.
    pub objective: &'a str,
    /// The agency that owns it.
    pub agency: &'a str,
    /// The service it covers, as people call it.
    pub service: &'a str,
    /// The availability target as a ratio, e.g. `0.995`.
    pub target: f64,
}

/// A window length as a Prometheus duration in the largest unit that divides it exactly,
/// e.g. `5m`, `1h`, `3d`; also the `window` label of the burn-rate gauge.
pub fn window_label(ms: i64) -> String {
    const UNITS: [(i64, &str); 4] = [(DAY_MS, "d"), (HOUR_MS, "h"), (MINUTE_MS, "m"), (1_000, "s")];
    let (size, unit) = UNITS.into_iter().find(|(size, _)| ms % size == 0).unwrap_or((1, "ms"));
    format!("{}{unit}", ms / size)
}

/// The `spec` of a `PrometheusRule` with one burn-rate alert per rule and a budget-exhausted
/// alert for one objective.
pub fn prometheus_rule_spec(target: &RuleTarget, rules: &[BurnRule]) -> Value {
    let mut alerts: Vec<Value> = rules.iter().map(|rule| burn_alert(target, rule)).collect();
    alerts.push(budget_exhausted_alert(target));
    json!({
        "groups": [{
            "name": format!("makonis-slo-{}-{}", target.namespace, target.objective),
            "rules": alerts,
        }]
    })
}

/// The `spec` of a `PrometheusRule` that watches the engine itself: that it evaluates, and
/// that the certificates its probes see are not about to expire.
pub fn engine_rules_spec() -> Value {
    json!({
        "groups": [{
            "name": "makonis-slo-engine",
            "rules": [
                {
                    "alert": "MakonisSloEngineDown",
                    "expr": format!(
                        "absent({EVALUATION_DURATION_SECONDS}_count) or sum(increase({EVALUATION_DURATION_SECONDS}_count[5m])) == 0"
                    ),
                    "for": "5m",
                    "labels": { "severity": severity_label(Severity::Page) },
                    "annotations": {
                        "summary": "The Mākonis SLO engine does not evaluate objectives",
                        "description": "No replica of the SLO engine has evaluated the objectives for 5 minutes \
                            (a standby waiting for the lease does not evaluate): \
                            availability, error budgets and burn-rate alerts are not being measured. \
                            Check the makonis slo pods and their /metrics endpoint.",
                    },
                },
                {
                    "alert": "MakonisSloProbeCertificateExpiring",
                    "expr": format!("{PROBE_CERTIFICATE_EXPIRY_SECONDS} - time() < 14 * 86400"),
                    "labels": { "severity": severity_label(Severity::Ticket) },
                    "annotations": {
                        "summary": "{{ $labels.namespace }}/{{ $labels.probe }}: TLS certificate expires soon",
                        "description": "The certificate served to probe {{ $labels.probe }} in namespace \
                            {{ $labels.namespace }} expires in {{ $value | humanizeDuration }}. Renew it \
                            before it expires and the probe, and the service, fail.",
                    },
                },
            ],
        }]
    })
}

/// A PromQL label matcher list, e.g. `{namespace="a",probe="b"}`; values are string
/// literals, so any text matches as itself.
pub(crate) fn selector(matchers: &[(&str, &str)]) -> String {
    let inner: Vec<String> = matchers.iter().map(|(label, value)| format!("{label}={}", go_string(value))).collect();
    format!("{{{}}}", inner.join(","))
}

/// A ratio as a percentage without float noise, e.g. `0.995` → `99.5`.
pub(crate) fn percent(ratio: f64) -> String {
    format!("{}", (ratio * 100.0 * 1e6).round() / 1e6)
}

/// The names of an objective as alert text: each expands to itself in Prometheus'
/// templates (see [`template_text`]), whatever the tenant wrote.
struct AlertText {
    service: String,
    namespace: String,
    objective: String,
    agency: String,
}

impl AlertText {
    fn of(target: &RuleTarget) -> Self {
        Self {
            service: template_text(target.service),
            namespace: template_text(target.namespace),
            objective: template_text(target.objective),
            agency: template_text(target.agency),
        }
    }
}

/// The burn-rate alert of one rule.
fn burn_alert(target: &RuleTarget, rule: &BurnRule) -> Value {
    let (long, short) = (window_label(rule.long_ms), window_label(rule.short_ms));
    let text = AlertText::of(target);
    json!({
        "alert": format!("MakonisSloBurnRate{}", pascal_case(rule.name)),
        "expr": burn_expr(target, rule, &long, &short),
        "labels": alert_labels(&text, rule.severity),
        "annotations": {
            "summary": format!("{}: error budget burns {}× too fast", text.service, rule.factor),
            "description": format!(
                "{} (objective {}/{}, target {} %) has burned its error budget more than {}× faster than \
                 the window allows, over both the last {long} and the last {short}. See the objective's \
                 status: kubectl describe slo -n {} {}",
                text.service,
                text.namespace,
                text.objective,
                percent(target.target),
                rule.factor,
                text.namespace,
                text.objective,
            ),
        },
    })
}

/// The expression that holds while `rule` fires: its condition over both windows, which
/// differ in their `window` label, so they are matched ignoring it.
fn burn_expr(target: &RuleTarget, rule: &BurnRule, long: &str, short: &str) -> String {
    let over = |window: &str| {
        let labels = selector(&[("namespace", target.namespace), ("objective", target.objective), ("window", window)]);
        rule.promql_condition(&format!("{BURN_RATE}{labels}"))
    };
    format!("{} and ignoring(window) {}", over(long), over(short))
}

/// The alert that fires once the window's error budget is spent.
fn budget_exhausted_alert(target: &RuleTarget) -> Value {
    let labels = selector(&[("namespace", target.namespace), ("objective", target.objective)]);
    let text = AlertText::of(target);
    json!({
        "alert": "MakonisSloBudgetExhausted",
        "expr": format!("{ERROR_BUDGET_REMAINING_RATIO}{labels} < 0"),
        "labels": alert_labels(&text, Severity::Ticket),
        "annotations": {
            "summary": format!("{}: error budget exhausted", text.service),
            "description": format!(
                "{} (objective {}/{}) has spent its whole error budget: the target of {} % cannot be met \
                 in this window. See the objective's status: kubectl describe slo -n {} {}",
                text.service,
                text.namespace,
                text.objective,
                percent(target.target),
                text.namespace,
                text.objective,
            ),
        },
    })
}

/// The labels every alert of an objective carries (Prometheus expands label values as
/// templates too).
fn alert_labels(text: &AlertText, severity: Severity) -> Value {
    json!({
        "severity": severity_label(severity),
        "agency": text.agency,
        "namespace": text.namespace,
        "objective": text.objective,
    })
}

/// The `severity` label value Alertmanager routes on.
fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Page => "page",
        Severity::Ticket => "ticket",
    }
}

/// `fast` → `Fast`, `budget-burn` → `BudgetBurn`.
fn pascal_case(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .flat_map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase()).into_iter().chain(chars)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burn::DEFAULT_RULES;

    fn portal() -> RuleTarget<'static> {
        RuleTarget {
            namespace: "lm-portal",
            objective: "availability",
            agency: "lm",
            service: "Labklājības portāls",
            target: 0.995,
        }
    }

    fn rules_of(spec: &Value) -> &Vec<Value> {
        spec["groups"][0]["rules"].as_array().unwrap()
    }

    #[test]
    fn window_labels_use_the_largest_exact_unit() {
        assert_eq!(window_label(5 * MINUTE_MS), "5m");
        assert_eq!(window_label(30 * MINUTE_MS), "30m");
        assert_eq!(window_label(HOUR_MS), "1h");
        assert_eq!(window_label(6 * HOUR_MS), "6h");
        assert_eq!(window_label(3 * DAY_MS), "3d");
        assert_eq!(window_label(90 * MINUTE_MS), "90m");
        assert_eq!(window_label(36 * HOUR_MS), "36h");
        assert_eq!(window_label(45_000), "45s");
        assert_eq!(window_label(1_500), "1500ms");
    }

    #[test]
    fn burn_alerts_have_exact_expressions() {
        let spec = prometheus_rule_spec(&portal(), &DEFAULT_RULES);
        assert_eq!(spec["groups"].as_array().unwrap().len(), 1);
        assert_eq!(spec["groups"][0]["name"], "makonis-slo-lm-portal-availability");
        let rules = rules_of(&spec);
        let names: Vec<&str> = rules.iter().map(|rule| rule["alert"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "MakonisSloBurnRateFast",
                "MakonisSloBurnRateSlow",
                "MakonisSloBurnRateTicket",
                "MakonisSloBudgetExhausted"
            ]
        );
        assert_eq!(
            rules[0]["expr"],
            "makonis_slo_burn_rate{namespace=\"lm-portal\",objective=\"availability\",window=\"1h\"} > 14.4 \
             and ignoring(window) \
             makonis_slo_burn_rate{namespace=\"lm-portal\",objective=\"availability\",window=\"5m\"} > 14.4"
        );
        assert_eq!(
            rules[1]["expr"],
            "makonis_slo_burn_rate{namespace=\"lm-portal\",objective=\"availability\",window=\"6h\"} > 6 \
             and ignoring(window) \
             makonis_slo_burn_rate{namespace=\"lm-portal\",objective=\"availability\",window=\"30m\"} > 6"
        );
        assert_eq!(
            rules[2]["expr"],
            "makonis_slo_burn_rate{namespace=\"lm-portal\",objective=\"availability\",window=\"3d\"} > 1 \
             and ignoring(window) \
             makonis_slo_burn_rate{namespace=\"lm-portal\",objective=\"availability\",window=\"6h\"} > 1"
        );
        assert_eq!(
            rules[3]["expr"],
            "makonis_slo_error_budget_remaining_ratio{namespace=\"lm-portal\",objective=\"availability\"} < 0"
        );
    }

    #[test]
    fn burn_alerts_carry_labels_and_annotations() {
        let spec = prometheus_rule_spec(&portal(), &[DEFAULT_RULES[0], DEFAULT_RULES[2]]);
        let rules = rules_of(&spec);
        assert_eq!(
            rules[0]["labels"],
            json!({"severity": "page", "agency": "lm", "namespace": "lm-portal", "objective": "availability"})
        );
        assert_eq!(rules[1]["labels"]["severity"], "ticket");
        assert_eq!(rules[2]["labels"]["severity"], "ticket");
        assert_eq!(rules[0]["annotations"]["summary"], "Labklājības portāls: error budget burns 14.4× too fast");
        let description = rules[0]["annotations"]["description"].as_str().unwrap();
        assert!(description.contains("target 99.5 %"), "{description}");
        assert!(description.contains("the last 1h and the last 5m"), "{description}");
        assert!(description.ends_with("kubectl describe slo -n lm-portal availability"), "{description}");
        assert_eq!(rules[2]["annotations"]["summary"], "Labklājības portāls: error budget exhausted");
    }

    #[test]
    fn label_values_are_quoted_in_expressions() {
        let target = RuleTarget { objective: r#"a"b\c"#, ..portal() };
        let spec = prometheus_rule_spec(&target, &DEFAULT_RULES[..1]);
        let rules = rules_of(&spec);
        assert_eq!(
            rules[1]["expr"],
            r#"makonis_slo_error_budget_remaining_ratio{namespace="lm-portal",objective="a\"b\\c"} < 0"#
        );
        assert_eq!(rules[1]["labels"]["objective"], r#"a"b\c"#);
    }

    #[test]
    fn names_with_template_syntax_become_string_constants_in_annotations_and_labels() {
        let target = RuleTarget { service: "{{ .Value }} portāls", objective: "a{b", ..portal() };
        let spec = prometheus_rule_spec(&target, &DEFAULT_RULES[..1]);
        let rules = rules_of(&spec);
        assert_eq!(
            rules[0]["annotations"]["summary"],
            r#"{{ "{{ .Value }} portāls" }}: error budget burns 14.4× too fast"#
        );
        assert_eq!(rules[1]["labels"]["objective"], r#"{{ "a{b" }}"#);
        assert_eq!(rules[1]["labels"]["namespace"], "lm-portal");
        assert!(rules[1]["expr"].as_str().unwrap().contains(r#"objective="a{b""#));
    }

    #[test]
    fn percentages_have_no_float_noise() {
        assert_eq!(percent(0.995), "99.5");
        assert_eq!(percent(0.9995), "99.95");
        assert_eq!(percent(0.99), "99");
    }

    #[test]
    fn rule_names_become_pascal_case() {
        assert_eq!(pascal_case("fast"), "Fast");
        assert_eq!(pascal_case("budget-burn_2"), "BudgetBurn2");
    }

    #[test]
    fn engine_rules_watch_evaluation_and_certificates() {
        let spec = engine_rules_spec();
        assert_eq!(spec["groups"][0]["name"], "makonis-slo-engine");
        let rules = rules_of(&spec);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0]["alert"], "MakonisSloEngineDown");
        assert_eq!(
            rules[0]["expr"],
            "absent(makonis_slo_evaluation_duration_seconds_count) \
             or sum(increase(makonis_slo_evaluation_duration_seconds_count[5m])) == 0"
        );
        assert_eq!(rules[0]["for"], "5m");
        assert_eq!(rules[0]["labels"]["severity"], "page");
        assert_eq!(rules[1]["alert"], "MakonisSloProbeCertificateExpiring");
        assert_eq!(rules[1]["expr"], "makonis_slo_probe_certificate_expiry_timestamp_seconds - time() < 14 * 86400");
        assert_eq!(rules[1]["labels"]["severity"], "ticket");
    }
}
