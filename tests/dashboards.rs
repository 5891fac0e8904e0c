//! The Grafana dashboards in `monitoring/dashboards` are well-formed and query only metrics
//! the SLO engine or the SIEM exports.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use serde_json::Value;

/// The series suffixes Prometheus adds to a histogram's name.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_count", "_sum"];

/// The keys whose string values are PromQL: panel targets and template variable queries.
const QUERY_KEYS: [&str; 3] = ["expr", "query", "definition"];

/// Every dashboard file with its parsed JSON model.
fn dashboards() -> Vec<(PathBuf, Value)> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/monitoring/dashboards"));
    let mut paths: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("reading {}: {error}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).unwrap();
            let model = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            (path, model)
        })
        .collect()
}

/// The panels of a dashboard, including those nested in rows.
fn panels(model: &Value) -> Vec<&Value> {
    let mut found = Vec::new();
    let mut stack: Vec<&Value> = model["panels"].as_array().map(|panels| panels.iter().collect()).unwrap_or_default();
    while let Some(panel) = stack.pop() {
        if let Some(nested) = panel["panels"].as_array() {
            stack.extend(nested);
        }
        found.push(panel);
    }
    found
}

/// Every string under one of [`QUERY_KEYS`], anywhere in `value`.
fn queries(value: &Value) -> Vec<&str> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(key, inner)| match inner.as_str() {
                Some(text) if QUERY_KEYS.contains(&key.as_str()) => vec![text],
                _ => queries(inner),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(queries).collect(),
        _ => Vec::new(),
    }
}

/// The identifiers in a query that start with `makonis_`.
fn makonis_names(query: &str) -> Vec<&str> {
    query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|token| token.starts_with("makonis_"))
        .collect()
}

/// Whether `name` is an exported metric, or a histogram series of one.
fn is_exported(name: &str) -> bool {
    let base = HISTOGRAM_SUFFIXES.iter().find_map(|suffix| name.strip_suffix(suffix)).unwrap_or(name);
    let exported = |name: &str| {
        makonis_slo_core::metric_names::ALL.contains(&name) || makonis_siem_core::metric_names::ALL.contains(&name)
    };
    exported(name) || exported(base)
}

/// The metric names `model` queries that the engine does not export.
fn unknown_metrics(model: &Value) -> BTreeSet<String> {
    queries(model).into_iter().flat_map(makonis_names).filter(|name| !is_exported(name)).map(str::to_owned).collect()
}

/// Whether a panel's data source is the dashboard's `datasource` variable.
fn uses_datasource_variable(datasource: &Value) -> bool {
    datasource == "${datasource}" || datasource["uid"] == "${datasource}"
}

#[test]
fn there_are_dashboards() {
    let names: Vec<String> =
        dashboards().iter().map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert!(names.contains(&"makonis-slo-overview.json".to_owned()), "{names:?}");
    assert!(names.contains(&"makonis-slo-probes.json".to_owned()), "{names:?}");
    assert!(names.contains(&"makonis-siem.json".to_owned()), "{names:?}");
}

#[test]
fn dashboards_have_identity() {
    for (path, model) in dashboards() {
        let path = path.display();
        assert!(model["uid"].as_str().is_some_and(|uid| !uid.is_empty()), "{path}: uid");
        assert!(model["title"].as_str().is_some_and(|title| !title.is_empty()), "{path}: title");
        assert_eq!(model["schemaVersion"], 39, "{path}: schemaVersion");
        let variables = model["templating"]["list"].as_array().unwrap();
        assert!(
            variables.iter().any(|variable| variable["name"] == "datasource" && variable["type"] == "datasource"),
            "{path}: datasource variable"
        );
    }
}

#[test]
fn uids_are_unique() {
    let uids: Vec<String> = dashboards().iter().map(|(_, model)| model["uid"].to_string()).collect();
    let distinct: BTreeSet<&String> = uids.iter().collect();
    assert_eq!(distinct.len(), uids.len(), "{uids:?}");
}

#[test]
fn panels_are_complete_and_uniquely_numbered() {
    for (path, model) in dashboards() {
        let path = path.display();
        let panels = panels(&model);
        assert!(!panels.is_empty(), "{path}: no panels");
        let mut ids = BTreeSet::new();
        for panel in panels {
            let id = panel["id"].as_u64().unwrap_or_else(|| panic!("{path}: panel without id: {}", panel["title"]));
            assert!(ids.insert(id), "{path}: panel id {id} used twice");
            let position = &panel["gridPos"];
            for key in ["x", "y", "w", "h"] {
                assert!(position[key].is_u64(), "{path}: panel {id} gridPos.{key}");
            }
            assert!(uses_datasource_variable(&panel["datasource"]), "{path}: panel {id} datasource");
            let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("{path}: panel {id} has no targets"));
            assert!(!targets.is_empty(), "{path}: panel {id} has no targets");
            for target in targets {
                assert!(target["expr"].as_str().is_some_and(|expr| !expr.is_empty()), "{path}: panel {id} expr");
            }
        }
    }
}

#[test]
fn queries_use_only_exported_metrics() {
    for (path, model) in dashboards() {
        let names: Vec<&str> = queries(&model).into_iter().flat_map(makonis_names).collect();
        assert!(!names.is_empty(), "{}: queries no makonis metric", path.display());
        assert_eq!(unknown_metrics(&model), BTreeSet::new(), "{}", path.display());
    }
}

#[test]
fn the_metric_check_catches_misspellings() {
    let model = serde_json::json!({
        "panels": [{"targets": [
            {"expr": "histogram_quantile(0.95, rate(makonis_slo_probe_duration_seconds_bucket[5m]))"},
            {"expr": "sum(makonis_slo_availabilty_ratio{agency=~\"$agency\"})"},
            {"expr": "sum(rate(makonis_siem_events_total[5m])) + sum(makonis_siem_event_total)"},
        ]}],
        "templating": {"list": [{"query": {"query": "label_values(makonis_slo_probe_upp, probe)"}}]},
    });
    let expected: BTreeSet<String> =
        ["makonis_siem_event_total", "makonis_slo_availabilty_ratio", "makonis_slo_probe_upp"]
            .into_iter()
            .map(str::to_owned)
            .collect();
    assert_eq!(unknown_metrics(&model), expected);
}
