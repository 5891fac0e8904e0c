use super::*;
use crate::detect::Preparation;
use crate::fields::Logsource;
use crate::input::Format;
use crate::rules::{Source, load};

const RULES: &str = "title: Failed SSH password
id: 4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0001
name: ssh_failed
logsource: {product: linux, service: sshd}
detection:
  s:
    event.outcome: failure
  condition: s
level: low
---
title: SSH brute force
id: 4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0002
correlation:
  type: event_count
  rules: [ssh_failed]
  group-by: [source.ip]
  timespan: 1m
  condition: {gte: 3}
level: high
";

const LOG: &str = "Dec  6 10:00:00 web1 sshd[1]: Failed password for root from 10.0.0.1 port 1 ssh2
Dec  6 10:00:01 web1 sshd[1]: Failed password for root from 10.0.0.2 port 1 ssh2
Dec  6 10:00:02 web1 sshd[1]: Failed password for admin from 10.0.0.1 port 2 ssh2
Dec  6 10:00:03 web1 cron[2]: Failed password for x from 10.0.0.1 port 3 ssh2
Dec  6 10:00:04 web1 sshd[1]: Failed password for oracle from 10.0.0.1 port 4 ssh2
";

fn replay_of(rules: &str, files: &[File<'_>]) -> Outcome {
    let (set, errors) = load(&[Source { name: "rules.yml", text: rules }]);
    assert!(errors.is_empty(), "{errors:?}");
    let read = ReadOptions {
        format: Format::Auto,
        year: Some(2026),
        received: jiff::Timestamp::UNIX_EPOCH,
        logsource: Logsource::default(),
    };
    replay(set, &Preparation::default(), Config::default(), files, &read)
}

#[test]
fn a_correlation_prints_one_line_per_firing_in_the_documented_shape() {
    let outcome = replay_of(RULES, &[File { path: "auth.log", text: LOG }]);
    assert_eq!(outcome.events, 5);
    assert_eq!(
        outcome.alerts,
        [concat!(
            r#"{"rule_id":"4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0002","title":"SSH brute force","level":"high","file":"auth.log","#,
            r#""events":[{"line":1,"time":"2026-12-06T10:00:00Z"},{"line":3,"time":"2026-12-06T10:00:02Z"},{"line":5,"time":"2026-12-06T10:00:04Z"}],"#,
            r#""group":{"source.ip":"10.0.0.1"},"first":"2026-12-06T10:00:00Z","last":"2026-12-06T10:00:04Z"}"#
        )]
    );
}

#[test]
fn a_detection_rule_alerts_per_matching_event_and_with_generate_its_correlation_too() {
    let outcome =
        replay_of(&RULES.replace("level: high", "generate: true\nlevel: high"), &[File { path: "a.log", text: LOG }]);
    assert_eq!(outcome.alerts.len(), 5, "{:#?}", outcome.alerts);
    let first: serde_json::Value = serde_json::from_str(&outcome.alerts[0]).unwrap();
    assert_eq!(first["rule_id"], "4e1b6c55-1f1d-4c59-8f0c-2f8f4d1a0001");
    assert_eq!(first["events"], serde_json::json!([{"line": 1, "time": "2026-12-06T10:00:00Z"}]));
    assert_eq!(first["group"], serde_json::json!({}));
    assert_eq!(first["first"], first["last"]);
    let keys: Vec<&str> = outcome.alerts[0].split("\":").map(|k| k.rsplit('"').next().unwrap()).collect();
    assert_eq!(keys[..8], ["rule_id", "title", "level", "file", "events", "line", "time", "group"]);
}

#[test]
fn unreadable_records_are_reported_with_their_file_and_line() {
    let outcome = replay_of(RULES, &[File { path: "x.json", text: "{\"a\": 1}\n" }]);
    assert!(outcome.alerts.is_empty());
    assert_eq!(outcome.unreadable.len(), 1);
    assert_eq!((outcome.unreadable[0].0.as_str(), outcome.unreadable[0].1), ("x.json", 1));
}
