//! Reading a schema document into a [`SchemaNode`] tree: the keywords every node shares
//! (`type`, annotations, `enum`, `const`, `default`) and the size limits, collecting every
//! problem instead of stopping at the first. Type-specific keywords are read in `rules`.

use serde_json::{Map, Value};

use super::keywords::{self, DIALECT, MAX_LEVELS, MAX_NODES, TypeName};
use super::node::SchemaNode;
use super::{validate, values};
use crate::error::{FieldError, pointer_token};

/// Where a node sits in the schema, which decides what it must carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The schema itself: must be an object, titles optional.
    Root,
    /// A property of an object: must have both titles, the form's labels.
    Property,
    /// The `items` of an array: titles optional.
    Items,
}

/// The state of one parse: the problems found so far and the nodes counted.
#[derive(Debug, Default)]
pub(super) struct Parser {
    errors: Vec<FieldError>,
    nodes: usize,
}

/// Parses a whole schema; `Err` holds every problem found.
pub(super) fn parse(schema: &Value) -> Result<SchemaNode, Vec<FieldError>> {
    let mut parser = Parser::default();
    match parser.node(schema, "", Role::Root, 1) {
        Some(root) if parser.errors.is_empty() => Ok(root),
        _ => Err(parser.errors),
    }
}

impl Parser {
    /// Records a problem at `path`.
    pub(super) fn error(&mut self, path: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(path, message));
    }

    /// Parses the schema at `path`, `level` levels deep (the root is level 1); `None` if it
    /// or anything inside it has a problem (recorded).
    pub(super) fn node(&mut self, schema: &Value, path: &str, role: Role, level: usize) -> Option<SchemaNode> {
        if level > MAX_LEVELS {
            self.error(
                path,
                format!("is nested too deeply: a schema may nest at most {MAX_LEVELS} levels (the root is level 1)"),
            );
            return None;
        }
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            if self.nodes == MAX_NODES + 1 {
                let message = format!(
                    "makes the schema too large: at most {MAX_NODES} schemas (the root, each property and each \
                     `items`) are allowed"
                );
                self.error(path, message);
            }
            return None;
        }
        let Some(map) = schema.as_object() else {
            self.error(path, "must be a schema (a JSON object)");
            return None;
        };
        let start = self.errors.len();
        let type_name = self.type_name(map, path, role);
        self.keywords(map, path, role, type_name);
        let title = self.text(map, path, "title");
        let title_lv = self.text(map, path, "x-title-lv");
        let description = self.text(map, path, "description");
        let description_lv = self.text(map, path, "x-description-lv");
        self.text(map, path, "$comment");
        if role == Role::Property {
            self.require_titles(map, path);
        }
        let examples = self.examples(map, path);
        let kind = type_name.and_then(|type_name| self.kind(type_name, map, path, level));
        let enum_values = self.enum_values(map, path);
        if self.errors.len() > start {
            return None;
        }
        let mut node = SchemaNode {
            kind: kind?,
            title,
            title_lv,
            description,
            description_lv,
            examples,
            default: None,
            enum_values: None,
            const_value: None,
        };
        if let Some(allowed) = &enum_values {
            for (index, value) in allowed.iter().enumerate() {
                validate::check(&node, value, &format!("{path}/enum/{index}"), &mut self.errors);
            }
        }
        node.enum_values = enum_values;
        if let Some(value) = map.get("const") {
            validate::check(&node, value, &format!("{path}/const"), &mut self.errors);
            node.const_value = Some(value.clone());
        }
        if let Some(value) = map.get("default") {
            validate::check(&node, value, &format!("{path}/default"), &mut self.errors);
            node.default = Some(value.clone());
        }
        (self.errors.len() == start).then_some(node)
    }

    /// Refuses a property without both titles, the labels of the order form.
    fn require_titles(&mut self, map: &Map<String, Value>, path: &str) {
        for (keyword, language) in [("title", "an English"), ("x-title-lv", "a Latvian")] {
            if !map.contains_key(keyword) {
                let message =
                    format!("`{keyword}` is required: every property needs {language} title for the order form");
                self.error(path, message);
            }
        }
    }

    fn examples(&mut self, map: &Map<String, Value>, path: &str) -> Vec<Value> {
        match map.get("examples") {
            None => Vec::new(),
            Some(Value::Array(examples)) => examples.clone(),
            Some(_) => {
                self.error(&format!("{path}/examples"), "must be an array");
                Vec::new()
            }
        }
    }

    fn type_name(&mut self, map: &Map<String, Value>, path: &str, role: Role) -> Option<TypeName> {
        let type_path = format!("{path}/type");
        let type_name = match map.get("type") {
            None => {
                self.error(path, format!("`type` is required (one of: {})", keywords::type_names()));
                return None;
            }
            Some(Value::Array(_)) => {
                let message = "must be a single type name: type lists such as [\"string\", \"null\"] are not \
                               supported (null is never allowed)";
                self.error(&type_path, message);
                return None;
            }
            Some(value) => value.as_str().and_then(TypeName::from_name),
        };
        match type_name {
            None => self.error(&type_path, format!("must be one of: {}", keywords::type_names())),
            Some(type_name) if role == Role::Root && type_name != TypeName::Object => {
                self.error(&type_path, "must be `object`: the schema describes the object of all parameters");
            }
            Some(_) => {}
        }
        type_name
    }

    /// Refuses keywords outside the subset or not applicable to the node's type.
    fn keywords(&mut self, map: &Map<String, Value>, path: &str, role: Role, type_name: Option<TypeName>) {
        for (keyword, value) in map {
            let keyword_path = format!("{path}/{}", pointer_token(keyword));
            if keyword == "$schema" {
                if role != Role::Root {
                    self.error(&keyword_path, "is only allowed at the root of the schema");
                } else if value.as_str() != Some(DIALECT) {
                    self.error(&keyword_path, format!("must be {DIALECT}, the only dialect supported"));
                }
            } else if let Some(message) = keywords::misplaced(keyword, type_name) {
                self.error(&keyword_path, message);
            }
        }
    }

    /// Reads a text keyword; titles must not be empty.
    fn text(&mut self, map: &Map<String, Value>, path: &str, keyword: &str) -> Option<String> {
        let value = map.get(keyword)?;
        let keyword_path = format!("{path}/{}", pointer_token(keyword));
        match value.as_str() {
            None => self.error(&keyword_path, "must be a string"),
            Some(text) if keyword.contains("title") && text.trim().is_empty() => {
                self.error(&keyword_path, "must not be empty");
            }
            Some(text) => return Some(text.to_owned()),
        }
        None
    }

    /// Reads `enum` as written: a non-empty array of distinct values.
    fn enum_values(&mut self, map: &Map<String, Value>, path: &str) -> Option<Vec<Value>> {
        let enum_path = format!("{path}/enum");
        match map.get("enum")? {
            Value::Array(allowed) if !allowed.is_empty() => {
                for (earlier, later) in values::duplicates(allowed) {
                    self.error(&enum_path, format!("values must be distinct (values {earlier} and {later} are equal)"));
                }
                Some(allowed.clone())
            }
            _ => {
                self.error(&enum_path, "must be a non-empty array");
                None
            }
        }
    }
}
