//! Reading a message file: nested YAML maps of strings, flattened to dotted keys.

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

/// The messages of one YAML document, keyed by their path joined with dots:
/// `nav: {catalog: …}` gives `nav.catalog`. Every key must be a string and every leaf a
/// string; anything else (numbers, lists, nulls, duplicate keys) is an error naming the
/// key.
pub(super) fn flatten(source: &str) -> Result<BTreeMap<String, String>, String> {
    let root: Mapping = serde_yaml_ng::from_str(source).map_err(|error| error.to_string())?;
    let mut messages = BTreeMap::new();
    flatten_into(&root, "", &mut messages)?;
    Ok(messages)
}

/// Adds the leaves of `map`, whose keys are prefixed with `prefix`, to `messages`.
fn flatten_into(map: &Mapping, prefix: &str, messages: &mut BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in map {
        let Value::String(name) = key else {
            return Err(format!("{prefix}{key:?}: keys must be strings"));
        };
        let path = format!("{prefix}{name}");
        match value {
            Value::String(text) => {
                if messages.insert(path.clone(), text.clone()).is_some() {
                    return Err(format!("{path}: defined twice"));
                }
            }
            Value::Mapping(inner) => flatten_into(inner, &format!("{path}."), messages)?,
            _ => return Err(format!("{path}: a message must be a string or a map of messages")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_maps_become_dotted_keys() {
        let messages = flatten("site:\n  name: Mākonis\nnav:\n  catalog: Katalogs\n  sub:\n    deep: x\ntop: y\n");
        let expected: BTreeMap<String, String> =
            [("site.name", "Mākonis"), ("nav.catalog", "Katalogs"), ("nav.sub.deep", "x"), ("top", "y")]
                .into_iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect();
        assert_eq!(messages, Ok(expected));
    }

    #[test]
    fn dotted_keys_in_the_file_are_kept() {
        let messages = flatten("state.ready: Gatavs\n").unwrap();
        assert_eq!(messages.get("state.ready").map(String::as_str), Some("Gatavs"));
    }

    #[test]
    fn refuses_what_is_not_a_string() {
        for (source, path) in [
            ("a:\n  b: 3\n", "a.b"),
            ("a:\n  b: [x]\n", "a.b"),
            ("a:\n  b:\n", "a.b"),
            ("a: true\n", "a"),
            ("a.b: x\na:\n  b: y\n", "a.b"),
        ] {
            let error = flatten(source).unwrap_err();
            assert!(error.starts_with(path), "{source:?}: {error}");
        }
        assert!(flatten("1: x\n").unwrap_err().contains("keys must be strings"));
        assert!(flatten("a: x\na: y\n").is_err());
        assert!(flatten("- x\n").is_err());
    }
}
