//! What a rule asks for that we do not evaluate, named with its line before the rule is
//! parsed: a modifier we do not know is refused, never ignored.

use serde_yaml_ng::Value;

use super::Document;

/// The value modifiers a detection may use.
pub const MODIFIERS: &[&str] = &[
    "contains",
    "startswith",
    "endswith",
    "all",
    "base64",
    "base64offset",
    "wide",
    "utf16le",
    "utf16be",
    "utf16",
    "windash",
    "re",
    "i",
    "ignorecase",
    "m",
    "multiline",
    "s",
    "dotall",
    "cidr",
    "cased",
    "exists",
    "fieldref",
    "gt",
    "gte",
    "lt",
    "lte",
    "neq",
    "minute",
    "hour",
    "day",
    "week",
    "month",
    "year",
];

/// What is wrong with a document, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file line.
    pub line: usize,
    /// What is wrong, naming the construct.
    pub message: String,
}

/// Checks a document's constructs.
pub fn document(document: &Document) -> Result<(), Problem> {
    let Ok(Value::Mapping(top)) = serde_yaml_ng::from_str::<Value>(&document.text) else {
        // The parser says what is wrong with text that is not a YAML mapping.
        return Ok(());
    };
    if top.contains_key("action") {
        return Err(Problem {
            line: document.line_of("action:").unwrap_or(document.line),
            message: "action: (Sigma 1's global, reset and repeat documents) is not supported: write each rule whole"
                .to_owned(),
        });
    }
    let Some(Value::Mapping(detection)) = top.get("detection") else {
        return Ok(());
    };
    for (name, selection) in detection {
        if matches!(name.as_str(), Some("condition" | "timeframe")) {
            continue;
        }
        fields(selection, &mut |key| check_key(document, key))?;
    }
    Ok(())
}

/// The relation types of `related:` the parser knows.
const RELATIONS: &[&str] = &["derived", "obsolete", "merged", "renamed", "similar"];

/// The document without its `related:` list when that names a relation type the parser
/// does not know (SigmaHQ writes `obsoletes`): the list is metadata and changes nothing
/// that is evaluated, so it must not cost the rule. Other documents are returned as they
/// are.
pub fn without_unknown_relations(text: &str) -> std::borrow::Cow<'_, str> {
    let Ok(Value::Mapping(mut top)) = serde_yaml_ng::from_str::<Value>(text) else {
        return text.into();
    };
    let unknown = top.get("related").and_then(Value::as_sequence).is_some_and(|related| {
        related.iter().any(|r| r.get("type").and_then(Value::as_str).is_none_or(|t| !RELATIONS.contains(&t)))
    });
    if !unknown {
        return text.into();
    }
    top.remove("related");
    serde_yaml_ng::to_string(&top).map_or(text.into(), Into::into)
}

/// Calls `check` with every field key (`Field|mod|mod`) of a selection.
fn fields(selection: &Value, check: &mut dyn FnMut(&str) -> Result<(), Problem>) -> Result<(), Problem> {
    match selection {
        Value::Mapping(items) => {
            for (key, value) in items {
                if let Some(key) = key.as_str() {
                    check(key)?;
                }
                if value.is_mapping() {
                    fields(value, check)?;
                }
            }
        }
        Value::Sequence(items) => {
            for item in items {
                fields(item, check)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Refuses a key's unknown or unsupported modifiers.
fn check_key(document: &Document, key: &str) -> Result<(), Problem> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    for modifier in parts {
        let line = document.line_of(key).unwrap_or(document.line);
        if modifier == "expand" {
            return Err(Problem {
                line,
                message: format!(
                    "modifier |expand (of {field:?}) is not supported: it needs placeholder values, which no pipeline here defines"
                ),
            });
        }
        if !MODIFIERS.contains(&modifier) {
            return Err(Problem { line, message: format!("unknown modifier |{modifier} (of {field:?})") });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Document {
        Document { text: text.to_owned(), line: 20 }
    }

    #[test]
    fn an_unknown_modifier_is_named_with_its_line() {
        let problem = document(&doc(
            "title: t\nlogsource: {product: linux}\ndetection:\n  sel:\n    - a|contains: x\n    - b|endswith|bogus: y\n  condition: sel\n",
        ))
        .unwrap_err();
        assert_eq!(problem.line, 25);
        assert!(problem.message.contains("|bogus") && problem.message.contains("\"b\""), "{}", problem.message);
    }

    #[test]
    fn an_unknown_relation_type_drops_the_related_list_and_nothing_else() {
        let text = "title: t\nrelated:\n  - id: x\n    type: obsoletes\ndetection:\n  s:\n    a: 1\n  condition: s\n";
        let kept: Value = serde_yaml_ng::from_str(&without_unknown_relations(text)).unwrap();
        assert!(kept.get("related").is_none() && kept["detection"]["s"]["a"] == 1);
        let known = "title: t\nrelated:\n  - id: x\n    type: derived\n";
        assert_eq!(without_unknown_relations(known), known);
    }

    #[test]
    fn expand_and_global_actions_are_refused_and_known_modifiers_pass() {
        assert!(
            document(&doc("detection:\n  s:\n    a|expand: '%x%'\n  condition: s\n"))
                .unwrap_err()
                .message
                .contains("|expand")
        );
        assert!(document(&doc("action: global\ntitle: t\n")).is_err());
        assert!(
            document(&doc("detection:\n  s:\n    a|windash|contains|all: [x]\n    b|re|i: y\n  condition: s\n"))
                .is_ok()
        );
    }
}
