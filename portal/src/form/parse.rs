//! Reading a form submission back into typed parameters, by walking the schema the form was
//! built from.
//!
//! Each key is a field's JSON pointer. Text is trimmed and an empty text means "absent" (so
//! the schema's default applies). Numbers are read as a person types them. A checkbox is
//! `true` when sent and `false` when not. A list is read from its text area's lines (blank
//! lines ignored), its ticked checkboxes, or its item groups (an item whose fields are all
//! empty is dropped, and the rest renumbered); an empty list is absent only if it is optional
//! without a default. A group that is optional is absent when all its fields are empty.

use std::collections::{BTreeMap, BTreeSet};

use makonis_catalog::FieldError;
use makonis_catalog::error::pointer_token;
use makonis_catalog::schema::{ArrayRules, Kind, SchemaNode};
use serde_json::{Map, Value};

use super::style::{ListStyle, list_style};
use super::text;

/// The submitted values of the form's own fields, by key.
struct Submission {
    values: BTreeMap<String, Vec<String>>,
}

impl Submission {
    /// Keeps the pairs whose key is a JSON pointer; others belong to the rest of the page.
    fn new(pairs: &[(String, String)]) -> Self {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in pairs.iter().filter(|(key, _)| key.starts_with('/')) {
            values.entry(key.clone()).or_default().push(value.clone());
        }
        Self { values }
    }

    /// The first value sent for `pointer`.
    fn first(&self, pointer: &str) -> Option<&str> {
        self.values.get(pointer).and_then(|values| values.first()).map(String::as_str)
    }

    /// Every value sent for `pointer` (the ticked boxes of a checkbox group).
    fn all(&self, pointer: &str) -> &[String] {
        self.values.get(pointer).map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether anything of `node` at `pointer` was filled in; fixed values (`const`), sent
    /// whether or not their group is, do not count.
    fn filled(&self, node: &SchemaNode, pointer: &str) -> bool {
        if node.const_value.is_some() {
            return false;
        }
        match &node.kind {
            Kind::Object(rules) => rules
                .properties
                .iter()
                .any(|(name, property)| self.filled(property, &format!("{pointer}/{}", pointer_token(name)))),
            Kind::Array(rules) if list_style(rules) == ListStyle::Rows => {
                self.indices(pointer).into_iter().any(|index| self.filled(&rules.items, &format!("{pointer}/{index}")))
            }
            _ => self.all(pointer).iter().any(|value| !value.trim().is_empty()),
        }
    }

    /// The item indices sent below the list at `pointer`, in order.
    fn indices(&self, pointer: &str) -> BTreeSet<usize> {
        let prefix = format!("{pointer}/");
        let keys = self.values.range(prefix.clone()..).map(|(key, _)| key);
        keys.take_while(|key| key.starts_with(&prefix))
            .filter_map(|key| key[prefix.len()..].split('/').next()?.parse().ok())
            .collect()
    }
}

/// Reads `pairs` against `root`: the parameters, and the values that could not be read.
pub(super) fn parse(root: &SchemaNode, pairs: &[(String, String)]) -> (Value, Vec<FieldError>) {
    let submission = Submission::new(pairs);
    let mut reader = Reader { submission: &submission, errors: Vec::new() };
    let value = reader.value(root, "", true).unwrap_or_else(|| Value::Object(Map::new()));
    (value, reader.errors)
}

struct Reader<'a> {
    submission: &'a Submission,
    errors: Vec<FieldError>,
}

impl Reader<'_> {
    /// The value of `node` at `pointer`, `None` if absent; `necessary` if it is required and
    /// its group is present.
    fn value(&mut self, node: &SchemaNode, pointer: &str, necessary: bool) -> Option<Value> {
        match &node.kind {
            Kind::Object(rules) => {
                if !necessary && !self.submission.filled(node, pointer) {
                    return None;
                }
                let mut object = Map::new();
                for (name, property) in &rules.properties {
                    let property_pointer = format!("{pointer}/{}", pointer_token(name));
                    if let Some(value) = self.value(property, &property_pointer, rules.is_required(name)) {
                        object.insert(name.clone(), value);
                    }
                }
                Some(Value::Object(object))
            }
            Kind::Boolean => Some(Value::Bool(self.submission.first(pointer).is_some())),
            Kind::String(_) | Kind::Integer(_) | Kind::Number(_) => {
                let text = self.submission.first(pointer)?.trim();
                (!text.is_empty()).then(|| self.scalar(node, text, pointer))
            }
            Kind::Array(rules) => {
                let items = self.items(rules, pointer);
                let absent = items.is_empty() && !necessary && node.default.is_none();
                (!absent).then_some(Value::Array(items))
            }
        }
    }

    /// A scalar from its text; text that is not of the node's type is kept as it is, with an
    /// error, so that the form shows it again.
    fn scalar(&mut self, node: &SchemaNode, text: &str, pointer: &str) -> Value {
        let (value, type_name) = match &node.kind {
            Kind::Integer(_) => (text::integer(text).map(Value::Number), "an integer"),
            Kind::Number(_) => (text::number(text).map(Value::Number), "a number"),
            Kind::Boolean => (text.parse::<bool>().ok().map(Value::Bool), "a boolean"),
            Kind::String(_) | Kind::Object(_) | Kind::Array(_) => (None, ""),
        };
        value.unwrap_or_else(|| {
            if !type_name.is_empty() {
                self.errors.push(FieldError::new(pointer, format!("must be {type_name}")));
            }
            Value::String(text.replace("\r\n", "\n"))
        })
    }

    /// The items of the list at `pointer`, read in its style.
    fn items(&mut self, rules: &ArrayRules, pointer: &str) -> Vec<Value> {
        let texts: Vec<&str> = match list_style(rules) {
            ListStyle::Lines => self.submission.first(pointer).map(str::lines).into_iter().flatten().collect(),
            ListStyle::Choices => self.submission.all(pointer).iter().map(String::as_str).collect(),
            ListStyle::Rows => return self.rows(rules, pointer),
        };
        let texts = texts.into_iter().map(str::trim).filter(|text| !text.is_empty());
        texts.enumerate().map(|(index, text)| self.scalar(&rules.items, text, &format!("{pointer}/{index}"))).collect()
    }

    /// The filled-in item groups of a list, renumbered from 0 (errors too).
    fn rows(&mut self, rules: &ArrayRules, pointer: &str) -> Vec<Value> {
        let mut items = Vec::new();
        for index in self.submission.indices(pointer) {
            let sent = format!("{pointer}/{index}");
            if !self.submission.filled(&rules.items, &sent) {
                continue;
            }
            let start = self.errors.len();
            let kept = format!("{pointer}/{}", items.len());
            items.extend(self.value(&rules.items, &sent, true));
            for error in &mut self.errors[start..] {
                error.path = format!("{kept}{}", &error.path[sent.len()..]);
            }
        }
        items
    }
}
