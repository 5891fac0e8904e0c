//! Reading the type-specific keywords of a node into its [`Kind`]: each keyword's value
//! checked for its type and range, and contradictory bounds refused.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use super::format::Format;
use super::keywords::TypeName;
use super::node::{ArrayRules, Kind, NumberRules, ObjectRules, Pattern, StringRules};
use super::parse::{Parser, Role};
use super::values;
use crate::error::pointer_token;

/// A lower or upper bound for the bound checks: keyword, value, exclusive.
type Bound<'a> = (&'a str, Option<Number>, bool);

impl Parser {
    /// Reads the keywords of `type_name`; `None` if the type's required parts are unusable.
    pub(super) fn kind(
        &mut self,
        type_name: TypeName,
        map: &Map<String, Value>,
        path: &str,
        level: usize,
    ) -> Option<Kind> {
        Some(match type_name {
            TypeName::Object => Kind::Object(self.object_rules(map, path, level)),
            TypeName::String => Kind::String(self.string_rules(map, path)),
            TypeName::Integer => Kind::Integer(self.number_rules(map, path)),
            TypeName::Number => Kind::Number(self.number_rules(map, path)),
            TypeName::Boolean => Kind::Boolean,
            TypeName::Array => Kind::Array(self.array_rules(map, path, level)?),
        })
    }

    fn object_rules(&mut self, map: &Map<String, Value>, path: &str, level: usize) -> ObjectRules {
        let mut rules = ObjectRules::default();
        let declared = map.get("properties").and_then(Value::as_object);
        if map.contains_key("properties") && declared.is_none() {
            self.error(&format!("{path}/properties"), "must be an object of parameter names and their schemas");
        }
        for (name, schema) in declared.into_iter().flatten() {
            let property_path = format!("{path}/properties/{}", pointer_token(name));
            if !is_parameter_name(name) {
                let message = "is not a valid parameter name: a letter, then letters, digits or `_`, at most 63 \
                               characters in all (names become template variables)";
                self.error(&property_path, message);
            }
            if let Some(node) = self.node(schema, &property_path, Role::Property, level + 1) {
                rules.properties.insert(name.clone(), node);
            }
        }
        match map.get("required") {
            None => {}
            Some(Value::Array(names)) => {
                for (index, name) in names.iter().enumerate() {
                    let name_path = format!("{path}/required/{index}");
                    match name.as_str() {
                        None => self.error(&name_path, "must be a string"),
                        Some(name) if rules.is_required(name) => self.error(&name_path, format!("repeats `{name}`")),
                        Some(name) if declared.is_some_and(|declared| declared.contains_key(name)) => {
                            rules.required.push(name.to_owned());
                        }
                        Some(name) => self.error(&name_path, format!("`{name}` is not a declared property")),
                    }
                }
            }
            Some(_) => self.error(&format!("{path}/required"), "must be an array of property names"),
        }
        if map.get("additionalProperties").is_some_and(|value| value != &Value::Bool(false)) {
            let message = "only `false` is supported (and is the default): parameters not declared in `properties` \
                           are always refused";
            self.error(&format!("{path}/additionalProperties"), message);
        }
        rules
    }

    fn string_rules(&mut self, map: &Map<String, Value>, path: &str) -> StringRules {
        let min_length = self.count(map, path, "minLength");
        let max_length = self.count(map, path, "maxLength");
        self.bounds(
            path,
            &[("minLength", min_length.map(Number::from), false)],
            &[("maxLength", max_length.map(Number::from), false)],
        );
        let pattern = self.string(map, path, "pattern").and_then(|source| {
            Pattern::new(source)
                .map_err(|reason| {
                    let message = format!("is not a valid regular expression (Rust regex syntax): {reason}");
                    self.error(&format!("{path}/pattern"), message);
                })
                .ok()
        });
        let format = self.string(map, path, "format").and_then(|name| {
            let format = Format::from_name(name);
            if format.is_none() {
                let names = Format::ALL.map(Format::name).join(", ");
                let message = format!(
                    "must be one of: {names} (unknown formats are refused so that a typo cannot switch validation off)"
                );
                self.error(&format!("{path}/format"), message);
            }
            format
        });
        let multiline = self.flag(map, path, "x-multiline");
        let instance = self.flag(map, path, "x-instance");
        StringRules { min_length, max_length, pattern, format, multiline, instance }
    }

    fn number_rules(&mut self, map: &Map<String, Value>, path: &str) -> NumberRules {
        let rules = NumberRules {
            minimum: self.number(map, path, "minimum"),
            maximum: self.number(map, path, "maximum"),
            exclusive_minimum: self.number(map, path, "exclusiveMinimum"),
            exclusive_maximum: self.number(map, path, "exclusiveMaximum"),
            multiple_of: self.number(map, path, "multipleOf"),
        };
        let lower =
            [("minimum", rules.minimum.clone(), false), ("exclusiveMinimum", rules.exclusive_minimum.clone(), true)];
        let upper =
            [("maximum", rules.maximum.clone(), false), ("exclusiveMaximum", rules.exclusive_maximum.clone(), true)];
        self.bounds(path, &lower, &upper);
        if rules.multiple_of.as_ref().is_some_and(|step| step.as_f64().is_none_or(|step| step <= 0.0)) {
            self.error(&format!("{path}/multipleOf"), "must be greater than 0");
        }
        rules
    }

    fn array_rules(&mut self, map: &Map<String, Value>, path: &str, level: usize) -> Option<ArrayRules> {
        let items = match map.get("items") {
            None => {
                self.error(path, "`items` is required for an array");
                None
            }
            Some(schema) => self.node(schema, &format!("{path}/items"), Role::Items, level + 1),
        };
        let min_items = self.count(map, path, "minItems");
        let max_items = self.count(map, path, "maxItems");
        self.bounds(
            path,
            &[("minItems", min_items.map(Number::from), false)],
            &[("maxItems", max_items.map(Number::from), false)],
        );
        let unique_items = match map.get("uniqueItems") {
            None => false,
            Some(Value::Bool(unique)) => *unique,
            Some(_) => {
                self.error(&format!("{path}/uniqueItems"), "must be true or false");
                false
            }
        };
        Some(ArrayRules { items: Box::new(items?), min_items, max_items, unique_items })
    }

    /// Refuses an upper bound that leaves no value above a lower bound.
    fn bounds(&mut self, path: &str, lower: &[Bound<'_>], upper: &[Bound<'_>]) {
        for (low_keyword, low, low_exclusive) in lower {
            for (high_keyword, high, high_exclusive) in upper {
                let (Some(low), Some(high)) = (low, high) else { continue };
                let order = values::compare(low, high);
                let high_path = format!("{path}/{high_keyword}");
                if *low_exclusive || *high_exclusive {
                    if order != Ordering::Less {
                        self.error(&high_path, format!("must be greater than `{low_keyword}` ({low})"));
                    }
                } else if order == Ordering::Greater {
                    self.error(&high_path, format!("must be at least `{low_keyword}` ({low})"));
                }
            }
        }
    }

    /// Reads a non-negative integer keyword (`3.0` counts as `3`).
    fn count(&mut self, map: &Map<String, Value>, path: &str, keyword: &str) -> Option<u64> {
        let value = map.get(keyword)?;
        let count = value.as_number().and_then(values::integral).and_then(|n| n.as_u64());
        if count.is_none() {
            self.error(&format!("{path}/{keyword}"), "must be a non-negative integer");
        }
        count
    }

    fn number(&mut self, map: &Map<String, Value>, path: &str, keyword: &str) -> Option<Number> {
        let value = map.get(keyword)?;
        let number = value.as_number().cloned();
        if number.is_none() {
            self.error(&format!("{path}/{keyword}"), "must be a number");
        }
        number
    }

    /// Reads a boolean keyword (false when absent).
    fn flag(&mut self, map: &Map<String, Value>, path: &str, keyword: &str) -> bool {
        match map.get(keyword) {
            None => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => {
                self.error(&format!("{path}/{keyword}"), "must be a boolean");
                false
            }
        }
    }

    fn string<'a>(&mut self, map: &'a Map<String, Value>, path: &str, keyword: &str) -> Option<&'a str> {
        let value = map.get(keyword)?;
        if value.as_str().is_none() {
            self.error(&format!("{path}/{keyword}"), "must be a string");
        }
        value.as_str()
    }
}

/// Whether `name` matches `^[A-Za-z][A-Za-z0-9_]{0,62}$`.
fn is_parameter_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}
