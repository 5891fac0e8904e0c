//! Parsing: `type`, annotations, `enum`, `const`, `default` and refused keywords.

use serde_json::json;

use super::{at, parse_error, parse_errors, parsed, titled, with_property};
use crate::schema::Kind;

const TYPES: &str = "object, string, integer, number, boolean, array";

#[test]
fn the_smallest_schema_is_an_empty_object() {
    let schema = parsed(json!({"type": "object"}));
    assert!(matches!(&schema.root().kind, Kind::Object(rules) if rules.properties.is_empty()));
    parsed(json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "$comment": "x"}));
}

#[test]
fn only_the_2020_12_dialect_at_the_root() {
    let error = parse_error(json!({"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"}));
    assert_eq!(
        error,
        at("/$schema", "must be https://json-schema.org/draft/2020-12/schema, the only dialect supported")
    );
    let nested = titled(json!({"type": "string", "$schema": "https://json-schema.org/draft/2020-12/schema"}));
    let error = parse_error(with_property("a", nested));
    assert_eq!(error, at("/properties/a/$schema", "is only allowed at the root of the schema"));
}

#[test]
fn the_root_must_be_an_object_schema() {
    assert_eq!(parse_error(json!(true)), at("", "must be a schema (a JSON object)"));
    let error = parse_error(json!({"type": "string"}));
    assert_eq!(error, at("/type", "must be `object`: the schema describes the object of all parameters"));
}

#[test]
fn every_node_has_exactly_one_known_type() {
    let error = parse_error(with_property("a", titled(json!({}))));
    assert_eq!(error, at("/properties/a", &format!("`type` is required (one of: {TYPES})")));
    let error = parse_error(with_property("a", titled(json!({"type": ["string", "null"]}))));
    let message = "must be a single type name: type lists such as [\"string\", \"null\"] are not supported \
                   (null is never allowed)";
    assert_eq!(error, at("/properties/a/type", message));
    for wrong in [json!("null"), json!("str"), json!(5)] {
        let error = parse_error(with_property("a", titled(json!({"type": wrong}))));
        assert_eq!(error, at("/properties/a/type", &format!("must be one of: {TYPES}")));
    }
    let error =
        parse_error(with_property("a", json!({"title": "A", "x-title-lv": "A", "type": "strin", "pattern": "x"})));
    assert_eq!(error.0, "/properties/a/type", "a keyword of some type is not blamed when the type is unknown");
}

#[test]
fn properties_need_both_titles() {
    let errors = parse_errors(with_property("a", json!({"type": "string"})));
    assert_eq!(
        errors,
        [
            at("/properties/a", "`title` is required: every property needs an English title for the order form"),
            at("/properties/a", "`x-title-lv` is required: every property needs a Latvian title for the order form"),
        ]
    );
    let error = parse_error(with_property("a", json!({"type": "string", "title": "A"})));
    assert_eq!(error.1, "`x-title-lv` is required: every property needs a Latvian title for the order form");
    let error = parse_error(with_property("a", json!({"type": "string", "x-title-lv": "A"})));
    assert_eq!(error.1, "`title` is required: every property needs an English title for the order form");
    let items = json!({"type": "array", "items": {"type": "string"}});
    parsed(with_property("a", titled(items)));
}

#[test]
fn annotations_are_strings_and_are_kept() {
    let property = json!({
        "type": "integer", "title": "Replicas", "x-title-lv": "Kopijas", "description": "How many",
        "x-description-lv": "Cik", "examples": [2, 3], "$comment": "for operators"
    });
    let schema = parsed(json!({"type": "object", "title": "Order", "properties": {"replicas": property}}));
    assert_eq!(schema.root().title.as_deref(), Some("Order"));
    let Kind::Object(rules) = &schema.root().kind else { panic!("an object") };
    let node = &rules.properties["replicas"];
    assert_eq!(node.title.as_deref(), Some("Replicas"));
    assert_eq!(node.title_lv.as_deref(), Some("Kopijas"));
    assert_eq!(node.description.as_deref(), Some("How many"));
    assert_eq!(node.description_lv.as_deref(), Some("Cik"));
    assert_eq!(node.examples, [json!(2), json!(3)]);
    assert!(matches!(node.kind, Kind::Integer(_)));
    for keyword in ["title", "x-title-lv", "description", "x-description-lv", "$comment"] {
        let mut property = titled(json!({"type": "string"}));
        property[keyword] = json!(1);
        let error = parse_error(with_property("a", property));
        assert_eq!(error, at(&format!("/properties/a/{keyword}"), "must be a string"));
    }
    let mut property = titled(json!({"type": "string"}));
    property["title"] = json!("  ");
    assert_eq!(parse_error(with_property("a", property)), at("/properties/a/title", "must not be empty"));
    let error = parse_error(with_property("a", titled(json!({"type": "string", "examples": "x"}))));
    assert_eq!(error, at("/properties/a/examples", "must be an array"));
}

#[test]
fn keywords_outside_the_subset_are_refused() {
    let supported = "type, title, x-title-lv, description, x-description-lv, examples, $comment, default, enum, \
                     const, minLength, maxLength, pattern, format, x-multiline, x-instance";
    let error = parse_error(with_property("a", titled(json!({"type": "string", "oneOf": []}))));
    let message = format!("keyword `oneOf` is not supported by the catalog's schema subset (supported: {supported})");
    assert_eq!(error, at("/properties/a/oneOf", &message));
    let refused =
        ["$ref", "$defs", "anyOf", "allOf", "not", "if", "then", "patternProperties", "readOnly", "minProperties"];
    for keyword in refused {
        let mut schema = json!({"type": "object"});
        schema[keyword] = json!({});
        let (path, message) = parse_error(schema);
        assert_eq!(path, format!("/{keyword}"));
        assert!(message.starts_with(&format!("keyword `{keyword}` is not supported")), "{message}");
    }
}

#[test]
fn keywords_of_another_type_are_refused() {
    let error = parse_error(with_property("a", titled(json!({"type": "integer", "pattern": "^a$"}))));
    assert_eq!(
        error,
        at("/properties/a/pattern", "keyword `pattern` does not apply to type `integer` (it applies to: string)")
    );
    let error = parse_error(with_property("a", titled(json!({"type": "boolean", "minimum": 1}))));
    let message = "keyword `minimum` does not apply to type `boolean` (it applies to: integer, number)";
    assert_eq!(error, at("/properties/a/minimum", message));
    let error = parse_error(json!({"type": "object", "items": {"type": "string"}}));
    assert_eq!(error, at("/items", "keyword `items` does not apply to type `object` (it applies to: array)"));
}

#[test]
fn enum_is_a_non_empty_list_of_distinct_valid_values() {
    let schema = parsed(with_property("size", titled(json!({"type": "string", "enum": ["small", "large"]}))));
    let Kind::Object(rules) = &schema.root().kind else { panic!("an object") };
    assert_eq!(rules.properties["size"].enum_values, Some(vec![json!("small"), json!("large")]));
    for wrong in [json!([]), json!("small")] {
        let error = parse_error(with_property("a", titled(json!({"type": "string", "enum": wrong}))));
        assert_eq!(error, at("/properties/a/enum", "must be a non-empty array"));
    }
    let error = parse_error(with_property("a", titled(json!({"type": "integer", "enum": [1, 2, 1.0]}))));
    assert_eq!(error, at("/properties/a/enum", "values must be distinct (values 0 and 2 are equal)"));
    let errors =
        parse_errors(with_property("a", titled(json!({"type": "string", "maxLength": 2, "enum": ["ab", 3, "abc"]}))));
    assert_eq!(
        errors,
        [
            at("/properties/a/enum/1", "must be a string"),
            at("/properties/a/enum/2", "must be at most 2 characters long")
        ]
    );
}

#[test]
fn const_must_be_valid() {
    parsed(with_property("a", titled(json!({"type": "string", "const": "x"}))));
    let error = parse_error(with_property("a", titled(json!({"type": "integer", "const": "x"}))));
    assert_eq!(error, at("/properties/a/const", "must be an integer"));
    let error = parse_error(with_property("a", titled(json!({"type": "string", "enum": ["a"], "const": "b"}))));
    assert_eq!(error, at("/properties/a/const", "must be one of: a"));
}

#[test]
fn default_must_be_valid() {
    let error = parse_error(with_property("a", titled(json!({"type": "integer", "maximum": 10, "default": 11}))));
    assert_eq!(error, at("/properties/a/default", "must be at most 10"));
    let error = parse_error(with_property("a", titled(json!({"type": "string", "enum": ["x", "y"], "default": "z"}))));
    assert_eq!(error, at("/properties/a/default", "must be one of: x, y"));
    let nested = titled(json!({
        "type": "object", "default": {"x": 5, "other": 1},
        "properties": {"x": titled(json!({"type": "string"}))}
    }));
    let errors = parse_errors(with_property("o", nested));
    assert_eq!(
        errors,
        [
            at("/properties/o/default/other", "is not a known parameter (known: x)"),
            at("/properties/o/default/x", "must be a string"),
        ]
    );
    let error = parse_error(with_property("a", titled(json!({"type": "boolean", "default": null}))));
    assert_eq!(error, at("/properties/a/default", "must be a boolean"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let schema = json!({
        "type": "object",
        "required": ["missing"],
        "properties": {
            "a": {"type": "string", "title": "A"},
            "b": titled(json!({"type": "integer", "minimum": "1", "oneOf": []})),
            "c": titled(json!({"type": "array", "items": {"type": "string", "format": "mail"}}))
        }
    });
    let paths: Vec<String> = parse_errors(schema).into_iter().map(|(path, _)| path).collect();
    assert_eq!(
        paths,
        ["/properties/a", "/properties/b/oneOf", "/properties/b/minimum", "/properties/c/items/format", "/required/0",]
    );
}
