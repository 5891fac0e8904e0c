//! The parsed schema: a tree of nodes, one per schema object, that the validator and the
//! portal's form generator walk.

use std::collections::BTreeMap;

use regex::{Regex, RegexBuilder};
use serde_json::{Number, Value};

use super::format::Format;

/// Largest compiled size of a `pattern`, in bytes: a guard against patterns that would cost
/// the admission webhook much memory or time to compile.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;

/// One schema object of the parameter schema: its type with the type's constraints, and the
/// keywords that apply to every type.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaNode {
    /// The node's `type` and the constraints that belong to it.
    pub kind: Kind,
    /// `title`: the English label of the field.
    pub title: Option<String>,
    /// `x-title-lv`: the Latvian label of the field.
    pub title_lv: Option<String>,
    /// `description`: English help text.
    pub description: Option<String>,
    /// `x-description-lv`: Latvian help text.
    pub description_lv: Option<String>,
    /// `examples`: sample values, shown as placeholders (not validated).
    pub examples: Vec<Value>,
    /// `default`: the value used when the property is absent; valid against this node.
    pub default: Option<Value>,
    /// `enum`: the only values allowed (non-empty, distinct, each valid against the type).
    pub enum_values: Option<Vec<Value>>,
    /// `const`: the only value allowed.
    pub const_value: Option<Value>,
}

/// A node's `type`, carrying the constraints of that type.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `type: object`.
    Object(ObjectRules),
    /// `type: string`.
    String(StringRules),
    /// `type: integer`: a number with no fractional part (`3` and `3.0` alike).
    Integer(NumberRules),
    /// `type: number`.
    Number(NumberRules),
    /// `type: boolean`.
    Boolean,
    /// `type: array`.
    Array(ArrayRules),
}

impl Kind {
    /// The type's name as written in the schema, e.g. `integer`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Object(_) => "object",
            Self::String(_) => "string",
            Self::Integer(_) => "integer",
            Self::Number(_) => "number",
            Self::Boolean => "boolean",
            Self::Array(_) => "array",
        }
    }
}

/// Constraints of an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectRules {
    /// `properties`, ordered by name: the only keys an object may have.
    pub properties: BTreeMap<String, SchemaNode>,
    /// `required`: names of properties that must be present (or have a default), as listed.
    pub required: Vec<String>,
}

impl ObjectRules {
    /// Whether the property `name` is listed in `required`.
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|required| required == name)
    }
}

/// Constraints of a string; lengths count Unicode scalar values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StringRules {
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `pattern`: matched anywhere in the string unless the pattern anchors itself.
    pub pattern: Option<Pattern>,
    /// `format`.
    pub format: Option<Format>,
    /// `x-multiline`: line breaks and tabs are allowed (a text area in the order form).
    pub multiline: bool,
    /// `x-instance`: the value names another instance of the agency (a DNS label) whose
    /// credentials Secret the rendered workloads may use.
    pub instance: bool,
}

/// Constraints of an integer or a number, kept as written in the schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumberRules {
    /// `minimum` (inclusive).
    pub minimum: Option<Number>,
    /// `maximum` (inclusive).
    pub maximum: Option<Number>,
    /// `exclusiveMinimum`.
    pub exclusive_minimum: Option<Number>,
    /// `exclusiveMaximum`.
    pub exclusive_maximum: Option<Number>,
    /// `multipleOf` (greater than 0).
    pub multiple_of: Option<Number>,
}

/// Constraints of an array.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayRules {
    /// `items`: the schema every item must satisfy.
    pub items: Box<SchemaNode>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// `uniqueItems`.
    pub unique_items: bool,
}

/// A compiled `pattern` (the `regex` crate's syntax), unanchored as in JSON Schema.
#[derive(Debug, Clone)]
pub struct Pattern(Regex);

impl Pattern {
    /// Compiles `source`; the error is the regex crate's explanation, on one line.
    pub fn new(source: &str) -> Result<Self, String> {
        RegexBuilder::new(source).size_limit(PATTERN_SIZE_LIMIT).build().map(Self).map_err(|error| {
            let text = error.to_string();
            match text.lines().rev().find_map(|line| line.strip_prefix("error: ")) {
                Some(reason) => reason.to_owned(),
                None => text.split_whitespace().collect::<Vec<_>>().join(" "),
            }
        })
    }

    /// The pattern as written in the schema.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
