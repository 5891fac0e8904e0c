//! The generated alerting rules as Prometheus itself reads them: Prometheus' own
//! `promtool` (Debian's `prometheus` package, installed by `tests/setup.sh --tests`)
//! checks the rule files and evaluates them on input series.
//!
//! - Names a tenant writes (a service called `{{ .Value }}`, quotes, backslashes, a
//!   newline) never make Prometheus refuse the rule group, and the alerts' annotations
//!   and labels show them exactly as written.
//! - At a burn rate exactly at a rule's factor, and just around it, Prometheus fires the
//!   same rules as the engine's own decision (`burn::firing`).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
};

use makonis_slo_core::{
    DEFAULT_RULES,
    burn::firing,
    quoting::go_string,
    rules::{RuleTarget, prometheus_rule_spec, window_label},
};
use serde_json::{Value, json};

const PROMTOOL: &str = "/usr/bin/promtool";

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "promtool-{name}-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Runs promtool with `args` in `dir`; its output, or a panic with it when it fails.
fn promtool(dir: &Path, args: &[&str]) -> String {
    assert!(
        Path::new(PROMTOOL).exists(),
        "{PROMTOOL} is missing: install Debian's `prometheus` package (tests/setup.sh --tests)"
    );
    let output = Command::new(PROMTOOL).args(args).current_dir(dir).output().expect("promtool runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

/// The input series of one objective's burn rates: every window of the default rules at
/// `burn`, for two minutes.
fn burn_series(namespace: &str, objective: &str, burn: f64) -> Vec<Value> {
    let mut windows: Vec<String> =
        DEFAULT_RULES.iter().flat_map(|rule| [window_label(rule.long_ms), window_label(rule.short_ms)]).collect();
    windows.sort();
    windows.dedup();
    windows
        .iter()
        .map(|window| {
            let labels = [("namespace", namespace), ("objective", objective), ("window", window.as_str())]
                .map(|(label, value)| format!("{label}={}", go_string(value)))
                .join(",");
            json!({"series": format!("makonis_slo_burn_rate{{{labels}}}"), "values": format!("{burn} {burn} {burn}")})
        })
        .collect()
}

/// Writes the rule groups and a unit test of them, and runs `promtool check rules` and
/// `promtool test rules`.
fn check_and_test(dir: &Path, groups: Vec<Value>, series: Vec<Value>, alert_tests: Vec<Value>) {
    fs::write(dir.join("rules.json"), json!({"groups": groups}).to_string()).unwrap();
    let checked = promtool(dir, &["check", "rules", "rules.json"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let test = json!({
        "rule_files": ["rules.json"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": alert_tests}],
    });
    fs::write(dir.join("test.json"), test.to_string()).unwrap();
    let tested = promtool(dir, &["test", "rules", "test.json"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn template_syntax_in_names_is_shown_verbatim_and_never_breaks_the_rule_group() {
    let hostile = [
        "{{ .Value }}",
        "{{ template \"x\" }}",
        "{{",
        "}}",
        "a }} b {{ c",
        "{{- /* comment */ -}}",
        "{ single } braces",
        r#"quote " and backslash \ and {{ "nested" }}"#,
        "$labels.namespace and $value",
        "two\nlines\tand a tab",
        "Labklājības portāls {{ humanize 1 }}",
        &"{{".repeat(100),
    ];
    let dir = scratch("hostile");
    let mut groups = Vec::new();
    let mut series = Vec::new();
    let mut expected = Vec::new();
    for (i, name) in hostile.iter().enumerate() {
        // The service is free text; the objective and namespace are hostile too, for the
        // class (in the cluster they are DNS names).
        let (namespace, objective) = (format!("ns-{i} {{{{"), format!("obj-{i}\"}}}}"));
        let target =
            RuleTarget { namespace: &namespace, objective: &objective, agency: "lm", service: name, target: 0.995 };
        let spec = prometheus_rule_spec(&target, &DEFAULT_RULES[..1]);
        groups.extend(spec["groups"].as_array().unwrap().iter().cloned());
        series.extend(burn_series(&namespace, &objective, 100.0));
        expected.push(json!({
            "exp_labels": {
                "severity": "page", "agency": "lm", "namespace": namespace, "objective": objective, "window": "1h",
            },
            "exp_annotations": {
                "summary": format!("{name}: error budget burns 14.4× too fast"),
                "description": format!(
                    "{name} (objective {namespace}/{objective}, target 99.5 %) has burned its error budget more \
                     than 14.4× faster than the window allows, over both the last 1h and the last 5m. See the \
                     objective's status: kubectl describe slo -n {namespace} {objective}"
                ),
            },
        }));
    }
    let alert_tests = vec![json!({"eval_time": "2m", "alertname": "MakonisSloBurnRateFast", "exp_alerts": expected})];
    check_and_test(&dir, groups, series, alert_tests);
}

#[test]
fn prometheus_and_the_engine_fire_the_same_rules_at_and_around_each_factor() {
    let dir = scratch("boundary");
    // Each factor, and the nearest numbers above and below it.
    let burns: Vec<f64> = DEFAULT_RULES
        .iter()
        .flat_map(|rule| {
            [rule.factor, f64::from_bits(rule.factor.to_bits() + 1), f64::from_bits(rule.factor.to_bits() - 1)]
        })
        .collect();
    let objectives: Vec<String> = (0..burns.len()).map(|i| format!("burn-{i}")).collect();
    let specs: Vec<Value> = objectives
        .iter()
        .map(|objective| {
            let target =
                RuleTarget { namespace: "lm-portal", objective, agency: "lm", service: "Portāls", target: 0.999 };
            prometheus_rule_spec(&target, &DEFAULT_RULES)
        })
        .collect();
    let groups = specs.iter().flat_map(|spec| spec["groups"].as_array().unwrap().iter().cloned()).collect();
    let series = objectives
        .iter()
        .zip(&burns)
        .flat_map(|(objective, burn)| burn_series("lm-portal", objective, *burn))
        .collect();
    // What the engine decides for each burn rate is what Prometheus must do too.
    let alert_tests: Vec<Value> = DEFAULT_RULES
        .iter()
        .enumerate()
        .map(|(index, rule)| {
            let expected: Vec<Value> = (0..burns.len())
                .filter(|&i| firing(&DEFAULT_RULES, |_| burns[i]).iter().any(|fired| fired.rule == rule.name))
                .map(|i| {
                    let alert = &specs[i]["groups"][0]["rules"][index];
                    let mut labels = alert["labels"].clone();
                    labels["window"] = window_label(rule.long_ms).into();
                    json!({"exp_labels": labels, "exp_annotations": alert["annotations"]})
                })
                .collect();
            let alertname = &specs[0]["groups"][0]["rules"][index]["alert"];
            json!({"eval_time": "2m", "alertname": alertname, "exp_alerts": expected})
        })
        .collect();
    check_and_test(&dir, groups, series, alert_tests);
    // Exactly at its factor a rule does not fire; just above it, it does.
    for (i, rule) in DEFAULT_RULES.iter().enumerate() {
        let fires = |burn: f64| firing(&[*rule], |_| burn).len() == 1;
        assert!(!fires(burns[3 * i]) && fires(burns[3 * i + 1]) && !fires(burns[3 * i + 2]), "{}", rule.name);
    }
}
