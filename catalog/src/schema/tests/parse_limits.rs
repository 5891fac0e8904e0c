//! Parsing: object keywords, property names and the size limits.

use serde_json::{Map, Value, json};

use super::{at, parse_error, parse_errors, parsed, titled, with_property};

/// An object schema nested `levels` deep (the root is level 1).
fn nested(levels: usize) -> Value {
    let mut schema = titled(json!({"type": "string"}));
    for _ in 1..levels {
        schema = titled(with_property("n", schema));
    }
    schema.as_object_mut().expect("an object").retain(|key, _| !key.contains("title"));
    schema
}

#[test]
fn schemas_nest_at_most_eight_levels() {
    parsed(nested(8));
    let error = parse_error(nested(9));
    let path = "/properties/n".repeat(8);
    assert_eq!(error, at(&path, "is nested too deeply: a schema may nest at most 8 levels (the root is level 1)"));
    let items = json!({"type": "array", "items": nested(8)});
    let error = parse_error(with_property("a", titled(items)));
    assert_eq!(error.0, format!("/properties/a/items{}", "/properties/n".repeat(6)));
}

/// A root schema with `count` string properties `p000`, `p001`, ….
fn wide(count: usize) -> Value {
    let properties: Map<String, Value> =
        (0..count).map(|index| (format!("p{index:03}"), titled(json!({"type": "string"})))).collect();
    json!({"type": "object", "properties": properties})
}

#[test]
fn schemas_have_at_most_200_nodes() {
    parsed(wide(199));
    let message =
        "makes the schema too large: at most 200 schemas (the root, each property and each `items`) are allowed";
    assert_eq!(parse_error(wide(200)), at("/properties/p199", message));
    assert_eq!(parse_error(wide(500)), at("/properties/p199", message), "reported once");
}

#[test]
fn property_names_become_template_variables() {
    let long = format!("a{}", "b".repeat(62));
    parsed(with_property(&long, titled(json!({"type": "string"}))));
    parsed(with_property("Org_name2", titled(json!({"type": "string"}))));
    let message = "is not a valid parameter name: a letter, then letters, digits or `_`, at most 63 characters in all \
                   (names become template variables)";
    for (name, path) in [("1a", "1a"), ("a-b", "a-b"), ("_a", "_a"), ("", ""), ("ā", "ā"), ("a/b", "a~1b")] {
        let error = parse_error(with_property(name, titled(json!({"type": "string"}))));
        assert_eq!(error, at(&format!("/properties/{path}"), message));
    }
    let error = parse_error(with_property(&format!("{long}c"), titled(json!({"type": "string"}))));
    assert_eq!(error.1, message);
}

#[test]
fn properties_is_an_object_of_schemas() {
    let error = parse_error(json!({"type": "object", "properties": []}));
    assert_eq!(error, at("/properties", "must be an object of parameter names and their schemas"));
    let error = parse_error(with_property("a", json!("string")));
    assert_eq!(error, at("/properties/a", "must be a schema (a JSON object)"));
}

#[test]
fn required_names_declared_properties_once() {
    let properties = json!({"a": titled(json!({"type": "string"})), "b": titled(json!({"type": "string"}))});
    parsed(json!({"type": "object", "properties": properties, "required": ["b", "a"]}));
    let error = parse_error(json!({"type": "object", "properties": properties, "required": "a"}));
    assert_eq!(error, at("/required", "must be an array of property names"));
    let errors = parse_errors(json!({"type": "object", "properties": properties, "required": ["a", "c", 1, "a"]}));
    assert_eq!(
        errors,
        [
            at("/required/1", "`c` is not a declared property"),
            at("/required/2", "must be a string"),
            at("/required/3", "repeats `a`"),
        ]
    );
}

#[test]
fn additional_properties_may_only_be_false() {
    parsed(json!({"type": "object", "additionalProperties": false}));
    let message = "only `false` is supported (and is the default): parameters not declared in `properties` are \
                   always refused";
    for wrong in [json!(true), json!({"type": "string"})] {
        let error = parse_error(json!({"type": "object", "additionalProperties": wrong}));
        assert_eq!(error, at("/additionalProperties", message));
    }
}
