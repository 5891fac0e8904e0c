//! SigmaHQ's own rules against their published regression events (a sample vendored
//! unchanged under `tests/sigma/sigmahq/`, DRL 1.1): every rule we can take must raise as
//! many alerts on its events as SigmaHQ's `info.yml` says, and the share of rules taken is
//! printed (`cargo test -p makonis-siem-detect --test sigmahq_regression -- --nocapture`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use makonis_siem_detect::correlate::Config;
use makonis_siem_detect::detect::Preparation;
use makonis_siem_detect::input::{Format, ReadOptions};
use makonis_siem_detect::replay::{File, replay};
use makonis_siem_detect::rules::{Source, load};

/// Rules whose vendored regression event cannot match the vendored rule by the rule's own
/// words: the index holds the rule and its event from different commits, and SigmaHQ
/// changed one of them in between. Each must still raise nothing, so that a change on our
/// side that makes it match is noticed.
const OUT_OF_STEP: &[(&str, &str)] = &[
    (
        "9ace0707-b560-49b8-b6ca-5148b42f39fb",
        "the rule asks for EventType CreateKey (registry_add); its event is a SetValue (Sysmon 13)",
    ),
    (
        "460479f3-80b7-42da-9c43-2cc1d54dbccd",
        "the rule asks for a TargetObject ending in `$`; its event's ends in `$\\(Default)`",
    ),
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sigma/sigmahq")
}

fn files_under(root: &Path, name: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if name(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Every vendored rule by its id: its path and text.
fn rules_by_id() -> BTreeMap<String, (String, String)> {
    files_under(&corpus().join("rules"), |p| p.extension().is_some_and(|e| e == "yml"))
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).ok()?;
            Some((value["id"].as_str()?.to_owned(), (path.display().to_string(), text)))
        })
        .collect()
}

#[test]
fn sigmahqs_rules_raise_what_their_regression_data_says() {
    let rules = rules_by_id();
    let mut taken = 0;
    let mut out_of_step = 0;
    let mut matched = 0;
    let mut refused = Vec::new();
    let mut wrong = Vec::new();
    for info in files_under(&corpus().join("regression_data"), |p| p.file_name().is_some_and(|n| n == "info.yml")) {
        let meta: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&info).unwrap()).unwrap();
        let id = meta["rule_metadata"][0]["id"].as_str().unwrap().to_owned();
        let Some((rule_path, rule_text)) = rules.get(&id) else { continue };
        let (set, errors) = load(&[Source { name: rule_path, text: rule_text }]);
        if let Some(error) = errors.first() {
            refused.push(error.to_string());
            continue;
        }
        for test in meta["regression_tests_info"].as_sequence().unwrap() {
            let events = info.with_file_name(format!("{id}.json"));
            let Ok(text) = std::fs::read_to_string(&events) else { continue };
            let expected = test["match_count"].as_u64().unwrap_or(1) as usize;
            taken += 1;
            let read = ReadOptions {
                format: Format::WindowsJson,
                year: None,
                received: jiff::Timestamp::UNIX_EPOCH,
                logsource: Default::default(),
            };
            let path = events.display().to_string();
            let outcome = replay(
                set.clone(),
                &Preparation::default(),
                Config::default(),
                &[File { path: &path, text: &text }],
                &read,
            );
            let alerts = outcome.alerts.iter().filter(|a| a.contains(&format!("\"rule_id\":\"{id}\""))).count();
            if let Some((_, why)) = OUT_OF_STEP.iter().find(|(out, _)| *out == id) {
                out_of_step += 1;
                if alerts != 0 {
                    wrong.push(format!("{rule_path}: listed as out of step ({why}) but raised {alerts} alerts"));
                }
            } else if alerts == expected {
                matched += 1;
            } else {
                wrong.push(format!("{rule_path}: {alerts} alerts on {path}, {expected} expected"));
            }
        }
    }
    println!(
        "SigmaHQ regression data: {matched} of {taken} rules taken matched as published ({out_of_step} out of step \
         with their vendored events); {} rules refused: {refused:#?}",
        refused.len()
    );
    assert!(taken >= 20, "only {taken} rules with regression data were found under {}", corpus().display());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The alerts of the vendored SigmaHQ rules under `folder` over `events`, as rule ids.
fn sigmahq_alerts(folder: &str, events: &str) -> Vec<String> {
    let files = files_under(&corpus().join("rules").join(folder), |p| p.extension().is_some_and(|e| e == "yml"));
    let texts: Vec<(String, String)> =
        files.iter().map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap())).collect();
    let sources: Vec<Source<'_>> = texts.iter().map(|(name, text)| Source { name, text }).collect();
    let (set, _) = load(&sources);
    let read = ReadOptions {
        format: Format::Auto,
        year: Some(2026),
        received: jiff::Timestamp::UNIX_EPOCH,
        logsource: Default::default(),
    };
    let outcome =
        replay(set, &Preparation::default(), Config::default(), &[File { path: "events", text: events }], &read);
    outcome
        .alerts
        .iter()
        .map(|a| serde_json::from_str::<serde_json::Value>(a).unwrap()["rule_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sigmahqs_kubernetes_rules_run_unchanged_on_the_api_servers_audit_events() {
    let event = |verb: &str, resource: &str, sub: Option<&str>| {
        let mut e = serde_json::json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "verb": verb,
            "user": {"username": "anna@lm.gov.lv"}, "requestReceivedTimestamp": "2026-12-07T10:00:00Z",
            "objectRef": {"resource": resource, "namespace": "agency-lm"}, "responseStatus": {"code": 200}});
        if let Some(sub) = sub {
            e["objectRef"]["subresource"] = sub.into();
        }
        e.to_string()
    };
    let events = [event("list", "secrets", None), event("create", "pods", Some("exec"))].join("\n");
    let alerts = sigmahq_alerts("application/kubernetes/audit", &events);
    // SigmaHQ's "Secrets Enumeration" and "Kubernetes Exec into Container".
    assert!(alerts.iter().any(|id| id == "eeb3e9e1-b685-44e4-9232-6bb701f925b5"), "{alerts:?}");
    assert!(alerts.iter().any(|id| id == "a1b0ca4e-7835-413e-8471-3ff2b8a66be6"), "{alerts:?}");
}
