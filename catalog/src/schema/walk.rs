//! Finding the string values of validated parameters whose schema node has a given rule
//! (`format: hostname`, `x-instance`), with their JSON pointers.

use serde_json::Value;

use super::node::{Kind, SchemaNode, StringRules};
use crate::error::pointer_token;

/// Appends `(pointer, text)` for every string in `value` (found at `path`) whose node
/// satisfies `wanted`.
pub(super) fn strings_where<'v>(
    node: &SchemaNode,
    value: &'v Value,
    path: &str,
    wanted: &dyn Fn(&StringRules) -> bool,
    found: &mut Vec<(String, &'v str)>,
) {
    match (&node.kind, value) {
        (Kind::String(rules), Value::String(text)) if wanted(rules) => found.push((path.to_string(), text)),
        (Kind::Object(rules), Value::Object(map)) => {
            for (name, child) in map {
                if let Some(schema) = rules.properties.get(name) {
                    strings_where(schema, child, &format!("{path}/{}", pointer_token(name)), wanted, found);
                }
            }
        }
        (Kind::Array(rules), Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                strings_where(&rules.items, item, &format!("{path}/{index}"), wanted, found);
            }
        }
        _ => {}
    }
}
