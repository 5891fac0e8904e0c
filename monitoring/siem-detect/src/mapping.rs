//! The logsource mapping (`mapping/logsources.yml`): which Sigma categories and services
//! an event carries beyond its own, and which of its fields also answer to a Sigma name.
//! Declarative and versioned, so that a rule's result names the mapping it was found
//! under.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;

use crate::fields::{LogsourceKey, Record};

/// The mapping shipped with this version.
pub static SHIPPED: LazyLock<Mapping> = LazyLock::new(|| {
    Mapping::parse(include_str!("../mapping/logsources.yml")).expect("the shipped logsource mapping parses")
});

/// A logsource mapping.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Raised with every change.
    pub version: u32,
    /// The entries, applied in order.
    pub entries: Vec<Entry>,
}

/// One entry: the events it applies to and what it adds.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The logsource product of the events it applies to.
    pub product: String,
    /// Fields and the values (any of them) each must hold, compared as text, ignoring case.
    #[serde(default)]
    pub when: BTreeMap<String, Vec<Value>>,
    /// Logsource attributes added (`category`, `service`).
    #[serde(default)]
    pub add: BTreeMap<String, Vec<String>>,
    /// Fields copied to their Sigma name, unless the event has that name already.
    #[serde(default)]
    pub alias: BTreeMap<String, String>,
}

/// Why a mapping cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// Not YAML of the mapping's shape.
    #[error("the logsource mapping is not valid: {0}")]
    Shape(#[from] serde_yaml_ng::Error),
    /// An entry adds an attribute other than `category` and `service`.
    #[error("entry {entry} of the logsource mapping adds {key:?}: only category and service can be added")]
    Attribute {
        /// The entry's position (1-based).
        entry: usize,
        /// The attribute.
        key: String,
    },
}

impl Mapping {
    /// Reads a mapping from YAML.
    pub fn parse(yaml: &str) -> Result<Self, MappingError> {
        let mapping: Mapping = serde_yaml_ng::from_str(yaml)?;
        for (index, entry) in mapping.entries.iter().enumerate() {
            if let Some(key) = entry.add.keys().find(|k| !matches!(k.as_str(), "category" | "service")) {
                return Err(MappingError::Attribute { entry: index + 1, key: key.clone() });
            }
        }
        Ok(mapping)
    }

    /// Adds to a record what the entries that apply to it say.
    pub fn apply(&self, record: &mut Record) {
        for entry in &self.entries {
            if !record.logsource.carries(LogsourceKey::Product, &entry.product) || !entry.matches(&record.fields) {
                continue;
            }
            for (key, values) in &entry.add {
                let key = if key == "category" { LogsourceKey::Category } else { LogsourceKey::Service };
                for value in values {
                    record.logsource.insert(key, value);
                }
            }
            if let Value::Object(fields) = &mut record.fields {
                for (from, to) in &entry.alias {
                    if !fields.contains_key(to)
                        && let Some(value) = fields.get(from).cloned()
                    {
                        fields.insert(to.clone(), value);
                    }
                }
            }
        }
    }
}

impl Entry {
    /// Whether every field of `when` holds one of its values.
    fn matches(&self, fields: &Value) -> bool {
        self.when.iter().all(|(name, values)| {
            fields
                .get(name)
                .and_then(text)
                .is_some_and(|actual| values.iter().filter_map(text).any(|v| v.eq_ignore_ascii_case(&actual)))
        })
    }
}

/// The text of a scalar.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::Logsource;
    use serde_json::json;

    fn record(product: &str, fields: Value) -> Record {
        let mut logsource = Logsource::default();
        logsource.product.push(product.to_owned());
        Record { time: jiff::Timestamp::UNIX_EPOCH, fields, logsource }
    }

    #[test]
    fn the_shipped_mapping_parses_and_has_a_version() {
        assert!(SHIPPED.version >= 1);
        assert!(SHIPPED.entries.len() > 30);
    }

    #[test]
    fn sysmon_process_creation_carries_its_category_and_service() {
        let mut r = record("windows", json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}));
        SHIPPED.apply(&mut r);
        assert_eq!(r.logsource.category, ["process_creation"]);
        assert_eq!(r.logsource.service, ["sysmon"]);
    }

    #[test]
    fn event_numbers_match_as_text_and_other_products_are_untouched() {
        let mut r = record("windows", json!({"Channel": "microsoft-windows-sysmon/operational", "EventID": "13"}));
        SHIPPED.apply(&mut r);
        assert_eq!(r.logsource.category, ["registry_event", "registry_set"]);
        let mut linux = record("linux", json!({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}));
        SHIPPED.apply(&mut linux);
        assert!(linux.logsource.category.is_empty());
    }

    #[test]
    fn security_process_creation_answers_to_sysmons_field_names_without_overwriting() {
        let mut r = record(
            "windows",
            json!({"Channel": "Security", "EventID": 4688, "NewProcessName": "C:\\x.exe", "User": "kept"}),
        );
        SHIPPED.apply(&mut r);
        assert_eq!(r.fields["Image"], "C:\\x.exe");
        assert_eq!(r.fields["User"], "kept");
        assert_eq!(r.logsource.category, ["process_creation"]);
    }

    #[test]
    fn sshd_lines_are_auth_lines_and_answer_to_sigmahqs_names() {
        let mut r = record("linux", json!({"appname": "sshd", "user.name": "root", "source.ip": "192.0.2.1"}));
        SHIPPED.apply(&mut r);
        assert_eq!(r.logsource.service, ["auth"]);
        assert_eq!(
            (&r.fields["user_name"], &r.fields["client_ip"], &r.fields["deviceProcessName"]),
            (&json!("root"), &json!("192.0.2.1"), &json!("sshd"))
        );
    }

    #[test]
    fn kubernetes_audit_is_also_the_application_category() {
        let mut r = record("kubernetes", json!({"verb": "list"}));
        SHIPPED.apply(&mut r);
        assert_eq!(r.logsource.category, ["application"]);
    }

    #[test]
    fn an_entry_adding_an_unknown_attribute_is_refused() {
        let error = Mapping::parse("version: 1\nentries:\n  - {product: linux, add: {definition: [x]}}\n").unwrap_err();
        assert!(error.to_string().contains("entry 1"), "{error}");
        assert!(Mapping::parse("version: 1\nentries: []\nextra: 1\n").is_err());
    }
}
