//! Tests of the order form: building, parsing, messages, and the rendered template with the
//! catalog's real items.

mod build;
mod catalog;
mod html;
mod localize;
mod parse;
mod template;

use makonis_catalog::schema::ParameterSchema;
use serde_json::Value;

use super::field::Field;

/// Parses a schema written for a test.
fn schema(schema: Value) -> ParameterSchema {
    ParameterSchema::parse(&schema).unwrap_or_else(|errors| panic!("invalid test schema: {errors:?}"))
}

/// A property's schema with the titles every property needs.
fn titled(node: Value) -> Value {
    let mut node = node;
    node["title"] = Value::from("T");
    node["x-title-lv"] = Value::from("T");
    node
}

/// Form pairs from literals.
fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
}

/// The field named `name` (a JSON pointer) among `fields` and their descendants.
fn find<'a>(fields: &'a [Field], name: &str) -> &'a Field {
    fn search<'a>(fields: &'a [Field], name: &str) -> Option<&'a Field> {
        fields.iter().find_map(|field| if field.name == name { Some(field) } else { search(&field.children, name) })
    }
    search(fields, name).unwrap_or_else(|| panic!("no field {name}"))
}
