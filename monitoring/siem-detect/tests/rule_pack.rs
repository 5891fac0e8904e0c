//! The sector's rule pack (`monitoring/rules/`): every rule file compiles, raises its own
//! alert over its `.match` events and nothing over its `.nomatch` events, replayed exactly
//! as `makonis siem replay` does.

use std::path::{Path, PathBuf};

use makonis_siem_detect::correlate::Config;
use makonis_siem_detect::detect::Preparation;
use makonis_siem_detect::input::{Format, ReadOptions};
use makonis_siem_detect::replay::{File, replay};
use makonis_siem_detect::rules::{Source, load};

fn pack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules")
}

/// Every rule file of the pack, in path order.
fn rule_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![pack()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The test events of a rule file: `<name>.<kind>.log`.
fn events(rule: &Path, kind: &str) -> (String, String) {
    let path = rule.with_extension(format!("{kind}.log"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (path.display().to_string(), text)
}

/// The alerts (as JSON values) of a rule file's rules over some events.
fn alerts(rule_text: &str, name: &str, (path, text): &(String, String)) -> Vec<serde_json::Value> {
    let (rules, errors) = load(&[Source { name, text: rule_text }]);
    assert!(errors.is_empty(), "{errors:?}");
    let read = ReadOptions {
        format: Format::Auto,
        year: Some(2026),
        received: jiff::Timestamp::UNIX_EPOCH,
        logsource: Default::default(),
    };
    let outcome = replay(rules, &Preparation::default(), Config::default(), &[File { path, text }], &read);
    assert!(outcome.unreadable.is_empty(), "{path}: {:?}", outcome.unreadable);
    outcome.alerts.iter().map(|a| serde_json::from_str(a).unwrap()).collect()
}

/// The id of a file's last document: the rule the file is for.
fn main_rule_id(text: &str) -> String {
    let last = text.split("\n---\n").last().unwrap();
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(last).unwrap();
    value["id"].as_str().expect("every rule of the pack has an id").to_owned()
}

#[test]
fn the_pack_holds_at_least_twenty_five_rules_with_ids_titles_and_levels() {
    let files = rule_files();
    assert!(files.len() >= 25, "{} rule files", files.len());
    let mut ids = std::collections::BTreeSet::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for document in text.split("\n---\n") {
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(document).unwrap();
            let id = value["id"].as_str().unwrap_or_else(|| panic!("{}: a rule without an id", file.display()));
            assert!(ids.insert(id.to_owned()), "{}: id {id} used twice", file.display());
            assert!(value["title"].is_string() && value["level"].is_string(), "{}", file.display());
        }
    }
}

#[test]
fn every_rule_alerts_on_its_match_events_and_never_on_its_nomatch_events() {
    let mut failures = Vec::new();
    for file in rule_files() {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let id = main_rule_id(&text);
        let positive = alerts(&text, &name, &events(&file, "match"));
        if !positive.iter().any(|a| a["rule_id"] == id.as_str()) {
            failures.push(format!("{name}: no alert of {id} over its match events: {positive:?}"));
        }
        let negative = alerts(&text, &name, &events(&file, "nomatch"));
        if !negative.is_empty() {
            failures.push(format!("{name}: alerts over its nomatch events: {negative:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
