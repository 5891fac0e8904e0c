use super::*;
use serde_json::{Value, json};

fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: 5f0c6d5e-0000-4000-8000-000000000001\nlogsource:\n  product: linux\ndetection:\n{detection}\n"
    )
}

fn record(fields: Value) -> Record {
    let mut logsource = Logsource::default();
    logsource.insert(LogsourceKey::Product, "linux");
    Record { time: jiff::Timestamp::UNIX_EPOCH, fields, logsource }
}

fn matches(detection: &str, fields: Value) -> bool {
    let text = rule(detection);
    let (set, errors) = load(&[Source { name: "t.yml", text: &text }]);
    assert!(errors.is_empty(), "{errors:?}");
    set.rules[0].matches(&record(fields))
}

fn refusal(text: &str) -> LoadError {
    let (set, mut errors) = load(&[Source { name: "r.yml", text }]);
    assert!(set.rules.is_empty() && set.correlations.is_empty(), "{set:?}");
    assert_eq!(errors.len(), 1, "{errors:?}");
    errors.remove(0)
}

#[test]
fn strings_compare_without_case_and_wildcards_follow_sigmas_escaping() {
    assert!(matches("  s:\n    f: 'a*b'\n  condition: s", json!({"f": "AxxB"})));
    assert!(matches("  s:\n    f: 'a?c'\n  condition: s", json!({"f": "abc"})));
    assert!(matches("  s:\n    f: 'a\\*b'\n  condition: s", json!({"f": "a*b"})));
    assert!(!matches("  s:\n    f: 'a\\*b'\n  condition: s", json!({"f": "axb"})));
    assert!(matches("  s:\n    f: 'a\\\\*'\n  condition: s", json!({"f": "a\\anything"})));
    assert!(matches("  s:\n    f: 'C:\\Windows\\System32'\n  condition: s", json!({"f": "c:\\windows\\system32"})));
}

#[test]
fn null_means_absent_and_keywords_search_every_value() {
    assert!(matches("  s:\n    f: null\n  condition: s", json!({"g": "x"})));
    assert!(!matches("  s:\n    f: null\n  condition: s", json!({"f": "x"})));
    assert!(matches("  k:\n    - 'FAILED pass'\n  condition: k", json!({"m": "x failed password y"})));
    assert!(!matches("  k:\n    - 'nothing'\n  condition: k", json!({"m": "x failed password y"})));
}

#[test]
fn modifiers_that_sigmahq_rules_use_work() {
    assert!(matches("  s:\n    c|windash|contains: ' -enc '\n  condition: s", json!({"c": "ps /enc x"})));
    assert!(matches("  s:\n    c|windash|contains: ' -enc '\n  condition: s", json!({"c": "ps \u{2013}enc x"})));
    assert!(matches("  s:\n    c|base64offset|contains: 'http://'\n  condition: s", json!({"c": "xx aHR0cDovL3g yy"})));
    assert!(matches("  s:\n    c|base64|contains: 'ping'\n  condition: s", json!({"c": "xx cGluZw== yy"})));
    assert!(matches("  s:\n    ip|cidr: '10.0.0.0/8'\n  condition: s", json!({"ip": "10.2.3.4"})));
    assert!(!matches("  s:\n    ip|cidr: '10.0.0.0/8'\n  condition: s", json!({"ip": "11.2.3.4"})));
    assert!(matches("  s:\n    a|fieldref: b\n  condition: s", json!({"a": "X", "b": "x"})));
    assert!(matches("  s:\n    f|re: '^a.c$'\n  condition: s", json!({"f": "abc"})));
    assert!(matches("  s:\n    f|exists: false\n  condition: s", json!({"g": 1})));
    assert!(matches("  s:\n    n|gte: 5\n  condition: s", json!({"n": "7"})));
    assert!(!matches("  s:\n    n|lt: 5\n  condition: s", json!({"n": 7})));
    assert!(matches("  s:\n    c|contains|all: ['a', 'b']\n  condition: s", json!({"c": "xaxb"})));
    assert!(matches(
        "  s:\n    c|startswith: 'ab'\n  s2:\n    c|endswith: 'yz'\n  condition: s and s2",
        json!({"c": "abxyz"})
    ));
}

#[test]
fn numbers_and_strings_compare_by_their_text_and_arrays_by_any_element() {
    assert!(matches("  s:\n    EventID: 4625\n  condition: s", json!({"EventID": "4625"})));
    assert!(matches("  s:\n    EventID: '4625'\n  condition: s", json!({"EventID": 4625})));
    assert!(matches("  s:\n    groups: 'system:masters'\n  condition: s", json!({"groups": ["a", "system:masters"]})));
    assert!(matches(
        "  s:\n    objectRef.resource: secrets\n  condition: s",
        json!({"objectRef": {"resource": "secrets"}})
    ));
    assert!(matches("  s:\n    user.name: root\n  condition: s", json!({"user.name": "root"})));
}

#[test]
fn conditions_take_quantifiers_patterns_and_parentheses() {
    let two = "  sel_a:\n    a: 1\n  sel_b:\n    b: 2\n  filter:\n    c: 3\n";
    assert!(matches(&format!("{two}  condition: 1 of sel_* and not filter"), json!({"b": 2})));
    assert!(!matches(&format!("{two}  condition: all of sel_*"), json!({"b": 2})));
    assert!(matches(&format!("{two}  condition: all of them"), json!({"a": 1, "b": 2, "c": 3})));
    assert!(matches(&format!("{two}  condition: not (sel_a or filter)"), json!({"b": 2})));
    assert!(!matches(&format!("{two}  condition: 1 of them and not filter"), json!({"a": 1, "c": 3})));
}

#[test]
fn a_rule_applies_only_to_events_that_carry_every_logsource_attribute_it_names() {
    let text = "title: t\nlogsource:\n  product: linux\n  service: sshd\ndetection:\n  s:\n    a: 1\n  condition: s\n";
    let (set, _) = load(&[Source { name: "t.yml", text }]);
    let mut carrying = Logsource::default();
    carrying.insert(LogsourceKey::Product, "Linux");
    assert!(!set.rules[0].applies_to(&carrying));
    carrying.insert(LogsourceKey::Service, "sshd");
    assert!(set.rules[0].applies_to(&carrying));
    carrying.insert(LogsourceKey::Category, "other");
    assert!(set.rules[0].applies_to(&carrying));
}

#[test]
fn what_cannot_be_evaluated_is_refused_with_its_line_and_construct() {
    let unknown = refusal(&rule("  s:\n    f|bogus: 'x'\n  condition: s"));
    assert_eq!(unknown.line, 7);
    assert!(unknown.message.contains("|bogus"), "{unknown}");
    let regex = refusal(&rule("  s:\n    f|re: '(a)\\1'\n  condition: s"));
    assert_eq!(regex.line, 7);
    assert!(regex.message.contains("backreferences"), "{regex}");
    let condition = refusal(&rule("  s:\n    f: 1\n  condition: s and missing"));
    assert_eq!(condition.line, 8);
    assert!(condition.message.contains("missing"), "{condition}");
    let cidr = refusal(&rule("  s:\n    f|cidr: 'nope'\n  condition: s"));
    assert!(cidr.message.contains("CIDR") && cidr.line == 7, "{cidr}");
    assert!(refusal("title: [unclosed\n").message.contains("YAML"));
    assert!(refusal(&rule("  s:\n    f|base64offset: 'x'\n  condition: s")).message.contains("|contains"));
}

#[test]
fn rules_of_a_file_that_fail_do_not_take_the_others_with_them() {
    let text =
        format!("{}---\n{}", rule("  s:\n    f: 1\n  condition: s"), rule("  s:\n    f|bogus: 1\n  condition: s"));
    let (set, errors) = load(&[Source { name: "two.yml", text: &text }]);
    assert_eq!(set.rules.len(), 1);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 16, "{}", errors[0]);
    assert_eq!(errors[0].to_string(), format!("two.yml:16: unknown modifier |bogus (of \"f\")"));
}

const FAILED: &str = "title: Failed SSH
id: 0b4c6e1a-0000-4000-8000-000000000001
name: ssh_failed
logsource: {product: linux, service: sshd}
detection:
  s:
    event.outcome: failure
  condition: s
level: low
";

#[test]
fn correlations_find_their_rules_by_id_or_name_across_files() {
    let by_name = "title: Brute force\nid: c0000000-0000-4000-8000-000000000001\ncorrelation:\n  type: event_count\n  rules: [ssh_failed]\n  group-by: [source.ip]\n  timespan: 1m\n  condition: {gte: 5}\nlevel: high\n";
    let by_id = by_name.replace("[ssh_failed]", "[0b4c6e1a-0000-4000-8000-000000000001]");
    for text in [by_name.to_owned(), by_id] {
        let (set, errors) = load(&[Source { name: "c.yml", text: &text }, Source { name: "d.yml", text: FAILED }]);
        assert!(errors.is_empty(), "{errors:?}");
        let correlation = &set.correlations[0];
        assert_eq!(correlation.kind, Kind::EventCount);
        assert_eq!(correlation.rules, [0]);
        assert_eq!(correlation.timespan, SignedDuration::from_mins(1));
        assert_eq!(correlation.group_by[0].per_rule, ["source.ip"]);
        assert!(!set.rules[0].alerts, "a rule only a correlation uses alerts through it alone");
    }
    let generated = by_name.replace("level: high", "generate: true\nlevel: high");
    let (set, _) = load(&[Source { name: "c.yml", text: &generated }, Source { name: "d.yml", text: FAILED }]);
    assert!(set.rules[0].alerts);
}

#[test]
fn a_correlation_of_an_unknown_rule_or_an_unsupported_kind_is_refused() {
    let missing = refusal(
        "title: c\ncorrelation:\n  type: event_count\n  rules: [nowhere]\n  timespan: 1m\n  condition: {gte: 2}\n",
    );
    assert!(missing.message.contains("nowhere"), "{missing}");
    assert_eq!(missing.line, 4);
    let (_, errors) = load(&[
        Source { name: "d.yml", text: FAILED },
        Source {
            name: "s.yml",
            text: "title: c\ncorrelation:\n  type: value_sum\n  rules: [ssh_failed]\n  timespan: 1m\n  condition: {gte: 2, field: x}\n",
        },
    ]);
    assert!(errors[0].message.contains("value_sum"), "{errors:?}");
}

#[test]
fn aliases_name_a_group_field_per_rule() {
    let other = FAILED
        .replace("0b4c6e1a-0000-4000-8000-000000000001", "0b4c6e1a-0000-4000-8000-000000000002")
        .replace("ssh_failed", "win_failed");
    let text = "title: c\ncorrelation:\n  type: temporal\n  rules: [ssh_failed, win_failed]\n  group-by: [ip]\n  aliases:\n    ip:\n      ssh_failed: source.ip\n      win_failed: IpAddress\n  timespan: 5m\n";
    let (set, errors) =
        load(&[Source { name: "a", text: FAILED }, Source { name: "b", text: &other }, Source { name: "c", text }]);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(set.correlations[0].group_by[0].per_rule, ["source.ip", "IpAddress"]);
}

#[test]
fn a_set_lists_its_rules_in_the_order_written() {
    let text = format!(
        "{FAILED}---\ntitle: Brute force\ncorrelation:\n  type: event_count\n  rules: [ssh_failed]\n  timespan: 1m\n  condition: {{gte: 3}}\n"
    );
    let (set, errors) = load(&[Source { name: "s", text: &text }]);
    assert!(errors.is_empty(), "{errors:?}");
    let summary = set.summary();
    assert_eq!(summary.len(), 2);
    assert_eq!(
        (summary[0].id.as_deref(), summary[0].kind),
        (Some("0b4c6e1a-0000-4000-8000-000000000001"), "detection")
    );
    assert_eq!(
        (summary[1].id.as_deref(), summary[1].title.as_str(), summary[1].kind),
        (None, "Brute force", "event_count")
    );
}
