//! Parsing: the keywords of strings, numbers and arrays.

use serde_json::{Value, json};

use super::{at, parse_error, parsed, titled, with_property};
use crate::schema::{Format, Kind, SchemaNode};

fn property(node: Value) -> SchemaNode {
    let schema = parsed(with_property("a", titled(node)));
    let Kind::Object(rules) = &schema.root().kind else { panic!("an object") };
    rules.properties["a"].clone()
}

fn error(node: Value) -> (String, String) {
    parse_error(with_property("a", titled(node)))
}

#[test]
fn string_keywords() {
    let node =
        property(json!({"type": "string", "minLength": 1, "maxLength": 3.0, "pattern": "^[a-z]+$", "format": "email"}));
    let Kind::String(rules) = node.kind else { panic!("a string") };
    assert_eq!((rules.min_length, rules.max_length), (Some(1), Some(3)));
    assert_eq!(rules.pattern.as_ref().map(|pattern| pattern.as_str()), Some("^[a-z]+$"));
    assert_eq!(rules.format, Some(Format::Email));
    for wrong in [json!("3"), json!(-1), json!(1.5)] {
        assert_eq!(
            error(json!({"type": "string", "minLength": wrong})),
            at("/properties/a/minLength", "must be a non-negative integer")
        );
    }
    let contradiction = error(json!({"type": "string", "minLength": 5, "maxLength": 4}));
    assert_eq!(contradiction, at("/properties/a/maxLength", "must be at least `minLength` (5)"));
    property(json!({"type": "string", "minLength": 4, "maxLength": 4}));
}

#[test]
fn patterns_use_the_regex_crate_syntax() {
    let prefix = "is not a valid regular expression (Rust regex syntax): ";
    let (path, message) = error(json!({"type": "string", "pattern": "^(?=a)"}));
    assert_eq!(path, "/properties/a/pattern");
    assert_eq!(message, format!("{prefix}look-around, including look-ahead and look-behind, is not supported"));
    let (_, message) = error(json!({"type": "string", "pattern": "(a)\\1"}));
    assert_eq!(message, format!("{prefix}backreferences are not supported"));
    let (_, message) = error(json!({"type": "string", "pattern": "[a-"}));
    assert!(message.starts_with(prefix) && !message.contains('\n'), "{message}");
    let (_, message) = error(json!({"type": "string", "pattern": "\\w{1000}{1000}"}));
    assert!(message.starts_with(prefix) && message.contains("size limit"), "{message}");
    assert_eq!(error(json!({"type": "string", "pattern": 1})), at("/properties/a/pattern", "must be a string"));
}

#[test]
fn formats_are_a_closed_list() {
    for format in ["email", "hostname", "uri", "date", "ipv4", "dns-label"] {
        property(json!({"type": "string", "format": format}));
    }
    let message = "must be one of: email, hostname, uri, date, ipv4, dns-label (unknown formats are refused so that \
                   a typo cannot switch validation off)";
    assert_eq!(error(json!({"type": "string", "format": "e-mail"})), at("/properties/a/format", message));
    assert_eq!(error(json!({"type": "string", "format": true})), at("/properties/a/format", "must be a string"));
}

#[test]
fn numeric_keywords() {
    let node = property(json!({"type": "number", "minimum": 0.5, "exclusiveMaximum": 10, "multipleOf": 0.5}));
    let Kind::Number(rules) = node.kind else { panic!("a number") };
    assert_eq!(rules.minimum.map(|n| n.to_string()).as_deref(), Some("0.5"));
    assert_eq!(rules.exclusive_maximum.map(|n| n.to_string()).as_deref(), Some("10"));
    for keyword in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"] {
        let mut node = json!({"type": "integer"});
        node[keyword] = json!("3");
        assert_eq!(error(node), at(&format!("/properties/a/{keyword}"), "must be a number"));
    }
    for step in [0, -5] {
        assert_eq!(
            error(json!({"type": "integer", "multipleOf": step})),
            at("/properties/a/multipleOf", "must be greater than 0")
        );
    }
}

#[test]
fn numeric_bounds_leave_room_for_a_value() {
    property(json!({"type": "integer", "minimum": 5, "maximum": 5}));
    property(json!({"type": "number", "exclusiveMinimum": 4.5, "maximum": 5}));
    let cases = [
        (json!({"minimum": 10, "maximum": 9}), "/maximum", "must be at least `minimum` (10)"),
        (json!({"exclusiveMinimum": 5, "maximum": 5}), "/maximum", "must be greater than `exclusiveMinimum` (5)"),
        (json!({"minimum": 5, "exclusiveMaximum": 5}), "/exclusiveMaximum", "must be greater than `minimum` (5)"),
        (
            json!({"exclusiveMinimum": 1.5, "exclusiveMaximum": 1}),
            "/exclusiveMaximum",
            "must be greater than `exclusiveMinimum` (1.5)",
        ),
    ];
    for (bounds, keyword, message) in cases {
        let mut node = bounds;
        node["type"] = json!("number");
        assert_eq!(error(node), at(&format!("/properties/a{keyword}"), message));
    }
}

#[test]
fn array_keywords() {
    let node = property(
        json!({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2, "uniqueItems": true}),
    );
    let Kind::Array(rules) = node.kind else { panic!("an array") };
    assert!(matches!(rules.items.kind, Kind::Integer(_)));
    assert_eq!((rules.min_items, rules.max_items, rules.unique_items), (Some(1), Some(2), true));
    assert_eq!(error(json!({"type": "array"})), at("/properties/a", "`items` is required for an array"));
    let items_error = error(json!({"type": "array", "items": {"type": "text"}}));
    assert_eq!(items_error.0, "/properties/a/items/type");
    let items_error = error(json!({"type": "array", "items": [{"type": "string"}]}));
    assert_eq!(items_error, at("/properties/a/items", "must be a schema (a JSON object)"));
    let contradiction = error(json!({"type": "array", "items": {"type": "string"}, "minItems": 3, "maxItems": 2}));
    assert_eq!(contradiction, at("/properties/a/maxItems", "must be at least `minItems` (3)"));
    let unique = error(json!({"type": "array", "items": {"type": "string"}, "uniqueItems": "yes"}));
    assert_eq!(unique, at("/properties/a/uniqueItems", "must be true or false"));
    let count = error(json!({"type": "array", "items": {"type": "string"}, "maxItems": "2"}));
    assert_eq!(count, at("/properties/a/maxItems", "must be a non-negative integer"));
}
