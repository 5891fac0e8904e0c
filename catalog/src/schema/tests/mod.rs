//! Tests of the schema module through its public API, with helpers shared by the test files.

mod defaults;
mod parse_common;
mod parse_limits;
mod parse_types;
mod realistic;
mod validate;

use serde_json::{Value, json};

use super::ParameterSchema;

/// `node` with the two titles every property needs added.
fn titled(mut node: Value) -> Value {
    let map = node.as_object_mut().expect("a schema object");
    map.insert("title".into(), json!("Title"));
    map.insert("x-title-lv".into(), json!("Virsraksts"));
    node
}

/// A root schema with the single property `name`.
fn with_property(name: &str, property: Value) -> Value {
    json!({"type": "object", "properties": {name: property}})
}

/// Parses a schema that must be valid.
fn parsed(schema: Value) -> ParameterSchema {
    ParameterSchema::parse(&schema).unwrap_or_else(|errors| panic!("schema refused: {errors:?}"))
}

/// The problems of a schema that must be invalid, as (path, message) pairs.
fn parse_errors(schema: Value) -> Vec<(String, String)> {
    match ParameterSchema::parse(&schema) {
        Ok(_) => panic!("schema accepted: {schema}"),
        Err(errors) => errors.into_iter().map(|error| (error.path, error.message)).collect(),
    }
}

/// The single problem of a schema.
fn parse_error(schema: Value) -> (String, String) {
    let mut errors = parse_errors(schema);
    assert_eq!(errors.len(), 1, "expected one problem: {errors:?}");
    errors.remove(0)
}

/// The violations of parameters that must be invalid, as (path, message) pairs.
fn violations(schema: Value, parameters: Value) -> Vec<(String, String)> {
    match parsed(schema).validate(&parameters) {
        Ok(checked) => panic!("parameters accepted: {checked}"),
        Err(errors) => errors.into_iter().map(|error| (error.path, error.message)).collect(),
    }
}

/// The single violation of a property `value` against the property schema `property`.
fn violation(property: Value, value: Value) -> (String, String) {
    let mut errors = violations(with_property("p", titled(property)), json!({"p": value}));
    assert_eq!(errors.len(), 1, "expected one violation: {errors:?}");
    errors.remove(0)
}

/// Validates parameters that must be valid, returning them with defaults.
fn checked(schema: Value, parameters: Value) -> Value {
    parsed(schema).validate(&parameters).unwrap_or_else(|errors| panic!("parameters refused: {errors:?}"))
}

/// `(path, message)` as owned strings, for comparing with results.
fn at(path: &str, message: &str) -> (String, String) {
    (path.to_owned(), message.to_owned())
}
