use super::*;
use crate::store::PartitionKey;

const BRUTE_FORCE: &str = "title: Failed SSH
id: 11111111-0000-4000-8000-000000000001
name: failed
logsource: {product: linux, service: sshd}
detection:
  s:
    event.outcome: failure
  condition: s
level: low
---
title: SSH brute force
id: 11111111-0000-4000-8000-000000000002
correlation:
  type: event_count
  rules: [failed]
  group-by: [source.ip]
  timespan: 5m
  condition: {gte: 3}
level: high
";

fn source(key: &str, scope: Scope, generation: i64) -> RuleObjectSource {
    RuleObjectSource {
        key: key.to_owned(),
        version: ("uid".to_owned(), generation),
        scope,
        enabled: true,
        severity: None,
        sigma: BRUTE_FORCE.to_owned(),
    }
}

fn failed(second: i64, agency: Option<&str>) -> Event {
    let at = Timestamp::from_second(1_800_000_000 + second).unwrap();
    Event {
        timestamp: at,
        created: at,
        original: format!(
            "<86>Dec  6 10:00:00 web1 sshd[1]: Failed password for root from 203.0.113.9 port {second} ssh2"
        )
        .into_bytes(),
        agency: agency.map(str::to_owned),
        source: "agency-lm/servers".to_owned(),
        ..Event::default()
    }
}

/// Evaluates a live event at place `seq`.
fn live(engine: &mut Engine, event: &Event, seq: u64) -> Vec<SecurityAlert> {
    let partition = PartitionKey {
        day: jiff::civil::date(2026, 12, 6),
        category: makonis_siem_core::retention::SourceCategory::Authentication,
    };
    let reference = Reference { partition, seq, source: event.source.clone(), received: event.created };
    engine.evaluate(event, reference, Mode::Live)
}

fn engine() -> (Engine, Arc<MatchCounts>) {
    let counts = Arc::new(MatchCounts::default());
    (Engine::new(Preparation::default(), Config::default(), counts.clone(), None), counts)
}

#[test]
fn an_agencys_rule_sees_only_its_agency_and_a_platform_rule_the_agencies_it_names() {
    let (mut engine, counts) = engine();
    engine.update(&[
        source("DetectionRule agency-lm/bf", Scope::Agency("lm".into()), 1),
        source("ClusterDetectionRule vm-only", Scope::Agencies(vec!["vm".into()]), 1),
    ]);
    let mut alerts = Vec::new();
    for second in 0..3 {
        alerts.extend(live(&mut engine, &failed(second, Some("lm")), second as u64));
        alerts.extend(live(&mut engine, &failed(second, Some("other")), second as u64 + 100));
    }
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(
        (alert.object.as_str(), alert.title.as_str(), alert.level.as_str(), alert.kind),
        ("DetectionRule agency-lm/bf", "SSH brute force", "high", "correlation")
    );
    assert_eq!(alert.group, [("source.ip".to_owned(), "203.0.113.9".to_owned())]);
    assert_eq!(alert.events.len(), 3);
    assert_eq!(counts.take("DetectionRule agency-lm/bf").0, 1);
    assert_eq!(counts.take("ClusterDetectionRule vm-only").0, 0);
}

#[test]
fn an_unchanged_rule_object_keeps_its_correlation_state_and_a_changed_one_starts_again() {
    let (mut engine, _) = engine();
    let all = |generation| source("ClusterDetectionRule bf", Scope::Agencies(Vec::new()), generation);
    engine.update(&[all(1)]);
    live(&mut engine, &failed(0, None), 0);
    live(&mut engine, &failed(1, None), 1);
    engine.update(&[all(1)]);
    assert_eq!(live(&mut engine, &failed(2, None), 2).len(), 1, "two matches kept across the refresh, the third fires");
    live(&mut engine, &failed(3, None), 3);
    live(&mut engine, &failed(4, None), 4);
    engine.update(&[all(2)]);
    assert!(live(&mut engine, &failed(5, None), 5).is_empty(), "a changed spec starts from no matches");
}

#[test]
fn severity_overrides_the_level_and_disabled_or_invalid_objects_are_not_evaluated() {
    let (mut engine, _) = engine();
    let mut loud = source("ClusterDetectionRule loud", Scope::Agencies(Vec::new()), 1);
    loud.severity = Some(Severity::Critical);
    let mut off = source("ClusterDetectionRule off", Scope::Agencies(Vec::new()), 1);
    off.enabled = false;
    let mut broken = source("ClusterDetectionRule broken", Scope::Agencies(Vec::new()), 1);
    broken.sigma = "title: x\ndetection:\n  s:\n    a|nope: 1\n  condition: s\n".into();
    engine.update(&[loud, off, broken]);
    let alerts: Vec<SecurityAlert> = (0..3).flat_map(|s| live(&mut engine, &failed(s, None), s as u64)).collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].object.as_str(), alerts[0].level.as_str()), ("ClusterDetectionRule loud", "critical"));
}

#[test]
fn a_rule_outside_an_agency_namespace_sees_nothing() {
    assert!(!Scope::Nothing.holds(Some("lm")) && !Scope::Nothing.holds(None));
    assert!(Scope::Agencies(Vec::new()).holds(None));
    assert!(!Scope::Agencies(vec!["lm".into()]).holds(None));
}
