use super::*;
use crate::fields::{Logsource, LogsourceKey};
use crate::rules::{Source, load};
use serde_json::json;

const FAILED: &str = "title: Failed SSH
id: 0b4c6e1a-0000-4000-8000-000000000001
name: failed
logsource: {product: linux}
detection:
  s:
    event.outcome: failure
  condition: s
---
title: Accepted SSH
name: accepted
logsource: {product: linux}
detection:
  s:
    event.outcome: success
  condition: s
";

fn rules(correlation: &str) -> RuleSet {
    let (set, errors) = load(&[Source { name: "r", text: FAILED }, Source { name: "c", text: correlation }]);
    assert!(errors.is_empty(), "{errors:?}");
    set
}

fn record(second: i64, fields: serde_json::Value) -> Record {
    let mut logsource = Logsource::default();
    logsource.insert(LogsourceKey::Product, "linux");
    Record { time: Timestamp::from_second(1_800_000_000 + second).unwrap(), fields, logsource }
}

/// A firing as the seconds of its events and its group.
type Shown = (Vec<i64>, Vec<(String, String)>);

/// Feeds (second, outcome, ip) events; returns the firings and what was dropped.
fn run(set: &RuleSet, config: Config, events: &[(i64, &str, &str)]) -> (Vec<Shown>, Dropped) {
    let mut correlator = Correlator::new(set, config);
    let mut firings = Vec::new();
    for &(second, outcome, ip) in events {
        let r = record(second, json!({"event.outcome": outcome, "source.ip": ip, "user.name": format!("u{second}")}));
        let matched: Vec<usize> =
            set.rules.iter().enumerate().filter(|(_, rule)| rule.matches(&r)).map(|(i, _)| i).collect();
        firings.extend(correlator.observe(set, &r, &matched, second).unwrap_or_default());
    }
    firings.extend(correlator.finish(set));
    let shown = firings.into_iter().map(|f| (f.events.iter().map(|(_, s)| *s).collect(), f.group)).collect();
    (shown, correlator.dropped())
}

const COUNT: &str = "title: Brute force\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [source.ip]\n  timespan: 60s\n  condition: {gte: 3}\n";

#[test]
fn event_count_fires_per_group_once_the_window_holds_enough_and_starts_again() {
    let set = rules(COUNT);
    let a = "10.0.0.1";
    let b = "10.0.0.2";
    let (firings, _) = run(
        &set,
        Config::default(),
        &[
            (0, "failure", a),
            (1, "failure", b),
            (2, "failure", a),
            (3, "success", a),
            (4, "failure", a),
            (5, "failure", a),
            (6, "failure", a),
            (7, "failure", a),
        ],
    );
    assert_eq!(firings.len(), 2, "{firings:?}");
    assert_eq!(firings[0].0, [0, 2, 4]);
    assert_eq!(firings[0].1, [("source.ip".to_owned(), a.to_owned())]);
    assert_eq!(firings[1].0, [5, 6, 7]);
}

#[test]
fn matches_further_apart_than_the_timespan_never_fire_together() {
    let set = rules(COUNT);
    let (firings, _) = run(
        &set,
        Config::default(),
        &[(0, "failure", "x"), (50, "failure", "x"), (100, "failure", "x"), (150, "failure", "x")],
    );
    assert!(firings.is_empty(), "{firings:?}");
    let (firings, _) = run(&set, Config::default(), &[(0, "failure", "x"), (30, "failure", "x"), (60, "failure", "x")]);
    assert_eq!(firings.len(), 1, "the window holds both its ends");
}

#[test]
fn a_late_event_within_the_lateness_counts_in_its_window_and_a_later_one_is_counted_aside() {
    let set = rules(COUNT);
    let config = Config { allowed_lateness: SignedDuration::from_secs(30), ..Config::default() };
    let (firings, dropped) = run(
        &set,
        config,
        &[
            (100, "failure", "x"),
            (102, "failure", "x"),
            (300, "failure", "y"),
            (280, "failure", "x"),
            (101, "failure", "x"),
        ],
    );
    assert!(firings.is_empty(), "{firings:?}");
    assert_eq!(dropped.too_late, 1);
    let (firings, dropped) = run(&set, config, &[(100, "failure", "x"), (130, "failure", "x"), (110, "failure", "x")]);
    assert_eq!(firings, [(vec![100, 110, 130], vec![("source.ip".to_owned(), "x".to_owned())])]);
    assert_eq!(dropped.too_late, 0);
}

#[test]
fn value_count_counts_distinct_values() {
    let set = rules(
        "title: Spray\ncorrelation:\n  type: value_count\n  rules: [failed]\n  group-by: [source.ip]\n  timespan: 5m\n  condition: {gte: 3, field: user.name}\n",
    );
    let (firings, _) = run(&set, Config::default(), &[(0, "failure", "x"), (1, "failure", "x"), (2, "failure", "x")]);
    assert_eq!(firings.len(), 1, "three users");
    let mut correlator = Correlator::new(&set, Config::default());
    let same_user: Vec<_> = (0..5)
        .filter_map(|s| {
            correlator.observe(
                &set,
                &record(s, json!({"event.outcome": "failure", "source.ip": "x", "user.name": "one"})),
                &[0],
                s,
            )
        })
        .flatten()
        .collect();
    assert!(same_user.is_empty());
}

#[test]
fn temporal_needs_every_rule_and_temporal_ordered_their_order() {
    let any_order = rules(
        "title: T\ncorrelation:\n  type: temporal\n  rules: [failed, accepted]\n  group-by: [source.ip]\n  timespan: 1m\n",
    );
    let (firings, _) = run(&any_order, Config::default(), &[(0, "success", "x"), (5, "failure", "x")]);
    assert_eq!(firings.len(), 1);
    let ordered = rules(
        "title: T\ncorrelation:\n  type: temporal_ordered\n  rules: [failed, accepted]\n  group-by: [source.ip]\n  timespan: 1m\n",
    );
    let (firings, _) = run(&ordered, Config::default(), &[(0, "success", "x"), (5, "failure", "x")]);
    assert!(firings.is_empty());
    let (firings, _) =
        run(&ordered, Config::default(), &[(0, "success", "x"), (5, "failure", "x"), (9, "success", "x")]);
    assert_eq!(firings[0].0, [5, 9]);
}

#[test]
fn an_upper_bound_is_judged_when_the_window_closes() {
    let set = rules(
        "title: Few\ncorrelation:\n  type: event_count\n  rules: [failed]\n  group-by: [source.ip]\n  timespan: 1m\n  condition: {lt: 3}\n",
    );
    let (firings, _) = run(
        &set,
        Config::default(),
        &[(0, "failure", "few"), (1, "failure", "many"), (2, "failure", "many"), (3, "failure", "many")],
    );
    assert_eq!(firings.len(), 1, "{firings:?}");
    assert_eq!(firings[0].1[0].1, "few");
}

#[test]
fn an_event_without_a_group_field_is_not_grouped_and_state_expires_and_stays_bounded() {
    let set = rules(COUNT);
    let mut correlator = Correlator::new(&set, Config { max_groups: 2, max_matches_per_group: 2, ..Config::default() });
    let no_ip = record(0, json!({"event.outcome": "failure"}));
    assert!(correlator.observe(&set, &no_ip, &[0], 0).unwrap().is_empty());
    assert_eq!(correlator.group_count(), 0);
    for (second, ip) in [(1, "a"), (2, "b"), (3, "c")] {
        correlator.observe(&set, &record(second, json!({"event.outcome": "failure", "source.ip": ip})), &[0], second);
    }
    assert_eq!(correlator.group_count(), 2);
    assert_eq!(correlator.dropped().groups_full, 1);
    correlator.observe(&set, &record(4, json!({"event.outcome": "failure", "source.ip": "a"})), &[0], 4);
    correlator.observe(&set, &record(5, json!({"event.outcome": "failure", "source.ip": "a"})), &[0], 5);
    assert_eq!(correlator.dropped().group_full, 1, "a group keeps two matches, so three never fire");
    correlator.observe(&set, &record(10_000, json!({"event.outcome": "success"})), &[], 10_000);
    assert_eq!(correlator.group_count(), 0, "state older than the watermark less the timespan is gone");
}
