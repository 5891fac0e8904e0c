//! Reading submitted forms into parameters.

use makonis_catalog::FieldError;
use serde_json::{Value, json};

use super::{pairs, schema, titled};
use crate::form::parse;

/// A schema whose root has the given properties (each given titles) and `required` names.
fn object(properties: &[(&str, Value)], required: &[&str]) -> Value {
    let properties: serde_json::Map<String, Value> =
        properties.iter().map(|(name, node)| ((*name).to_owned(), titled(node.clone()))).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

fn read(schema_json: Value, submitted: &[(&str, &str)]) -> (Value, Vec<FieldError>) {
    parse(&schema(schema_json), &pairs(submitted))
}

#[test]
fn strings_are_trimmed_and_empty_ones_absent() {
    let root =
        object(&[("name", json!({"type": "string"})), ("note", json!({"type": "string", "maxLength": 1000}))], &[]);
    let (value, errors) = read(root.clone(), &[("/name", "  VDI "), ("/note", "a\r\nb\r\n")]);
    assert_eq!((value, errors), (json!({"name": "VDI", "note": "a\nb"}), vec![]));
    let (value, errors) = read(root, &[("/name", "   "), ("/note", "")]);
    assert_eq!((value, errors), (json!({}), vec![]));
}

#[test]
fn numbers_are_read_as_typed() {
    let root = object(&[("count", json!({"type": "integer"})), ("share", json!({"type": "number"}))], &[]);
    let (value, errors) = read(root.clone(), &[("/count", " 12 "), ("/share", "0,25")]);
    assert_eq!((value, errors), (json!({"count": 12, "share": 0.25}), vec![]));
    let (value, _) = read(root.clone(), &[("/count", "3.0"), ("/share", "-2")]);
    assert_eq!(value, json!({"count": 3, "share": -2}));
    let (value, errors) = read(root.clone(), &[("/count", "12a"), ("/share", "many")]);
    assert_eq!(value, json!({"count": "12a", "share": "many"}), "the text is kept to be shown again");
    assert_eq!(
        errors,
        [FieldError::new("/count", "must be an integer"), FieldError::new("/share", "must be a number")]
    );
    let (_, errors) = read(root, &[("/count", "2.5")]);
    assert_eq!(errors, [FieldError::new("/count", "must be an integer")]);
}

#[test]
fn checkboxes_are_true_when_sent() {
    let root = object(&[("on", json!({"type": "boolean"})), ("off", json!({"type": "boolean", "default": true}))], &[]);
    let (value, errors) = read(root, &[("/on", "true")]);
    assert_eq!((value, errors), (json!({"on": true, "off": false}), vec![]));
}

#[test]
fn choices_are_read_by_their_type() {
    let root = object(
        &[
            ("size", json!({"type": "integer", "enum": [1, 2, 4]})),
            ("tier", json!({"type": "string", "enum": ["a", "b"]})),
        ],
        &[],
    );
    let (value, errors) = read(root.clone(), &[("/size", "4"), ("/tier", "b")]);
    assert_eq!((value, errors), (json!({"size": 4, "tier": "b"}), vec![]));
    let (value, _) = read(root, &[("/size", ""), ("/tier", "")]);
    assert_eq!(value, json!({}), "the \"not set\" choice leaves the value absent");
}

#[test]
fn lines_become_list_items() {
    let root = object(
        &[
            ("networks", json!({"type": "array", "items": {"type": "string"}})),
            ("ports", json!({"type": "array", "items": {"type": "integer"}})),
            ("flags", json!({"type": "array", "items": {"type": "boolean"}})),
        ],
        &[],
    );
    let submitted = [
        ("/networks", "10.0.0.0/8\r\n\r\n  172.16.0.0/12  \r\n"),
        ("/ports", "80\n\nhttp\n443"),
        ("/flags", "true\nfalse"),
    ];
    let (value, errors) = read(root.clone(), &submitted);
    assert_eq!(
        value,
        json!({"networks": ["10.0.0.0/8", "172.16.0.0/12"], "ports": [80, "http", 443], "flags": [true, false]})
    );
    assert_eq!(errors, [FieldError::new("/ports/1", "must be an integer")], "blank lines do not count");
    let (_, errors) = read(root, &[("/flags", "yes")]);
    assert_eq!(errors, [FieldError::new("/flags/0", "must be a boolean")]);
}

#[test]
fn empty_lists_are_absent_only_when_optional_without_default() {
    let list = json!({"type": "array", "items": {"type": "string"}});
    let mut defaulted = list.clone();
    defaulted["default"] = json!(["a"]);
    let root = object(&[("optional", list.clone()), ("defaulted", defaulted), ("needed", list)], &["needed"]);
    let (value, errors) = read(root, &[("/optional", ""), ("/defaulted", "\r\n"), ("/needed", "")]);
    assert_eq!((value, errors), (json!({"defaulted": [], "needed": []}), vec![]));
}

#[test]
fn ticked_choices_become_list_items() {
    let formats =
        json!({"type": "array", "uniqueItems": true, "items": {"type": "string", "enum": ["CSV", "JSON", "XML"]}});
    let root = object(&[("formats", formats.clone()), ("others", formats)], &[]);
    let (value, errors) = read(root, &[("/formats", "CSV"), ("/formats", "XML")]);
    assert_eq!((value, errors), (json!({"formats": ["CSV", "XML"]}), vec![]));
}

#[test]
fn nested_groups_are_absent_when_empty_unless_required() {
    let group = json!({
        "type": "object",
        "required": ["sizeGi"],
        "properties": {
            "sizeGi": titled(json!({"type": "integer"})),
            "encrypted": titled(json!({"type": "boolean"})),
            "tier": titled(json!({"type": "object", "properties": {"name": titled(json!({"type": "string"}))}})),
        },
    });
    let root = object(&[("storage", group.clone()), ("backup", group)], &["storage"]);
    let (value, errors) =
        read(root.clone(), &[("/storage/sizeGi", "50"), ("/backup/sizeGi", ""), ("/backup/tier/name", "")]);
    assert_eq!((value, errors), (json!({"storage": {"sizeGi": 50, "encrypted": false}}), vec![]));
    let (value, _) = read(root.clone(), &[("/backup/encrypted", "true")]);
    assert_eq!(value, json!({"storage": {"encrypted": false}, "backup": {"encrypted": true}}));
    let (value, errors) = read(root, &[("/storage/sizeGi", "x"), ("/storage/tier/name", "gold")]);
    assert_eq!(value, json!({"storage": {"sizeGi": "x", "encrypted": false, "tier": {"name": "gold"}}}));
    assert_eq!(errors, [FieldError::new("/storage/sizeGi", "must be an integer")]);
}

#[test]
fn item_groups_are_kept_when_filled_in_and_renumbered() {
    let env = json!({
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": titled(json!({"type": "string"})),
                "weight": titled(json!({"type": "integer"})),
                "tags": titled(json!({"type": "array", "items": {"type": "string"}, "default": []})),
                "kind": titled(json!({"type": "string", "const": "plain"})),
            },
        },
    });
    let root = object(&[("env", env)], &[]);
    let submitted = [
        ("/env/0/name", ""),
        ("/env/0/weight", ""),
        ("/env/0/kind", "plain"),
        ("/env/1/name", "B"),
        ("/env/1/weight", "x"),
        ("/env/2/name", ""),
        ("/env/2/tags", ""),
        ("/env/10/name", "C"),
        ("/env/10/tags", "a\nb"),
        ("/env/x/name", "ignored"),
    ];
    let (value, errors) = read(root.clone(), &submitted);
    assert_eq!(value, json!({"env": [{"name": "B", "weight": "x", "tags": []}, {"name": "C", "tags": ["a", "b"]}]}));
    let (value, _) = read(root.clone(), &[("/env/0/kind", "plain"), ("/env/1/name", "D"), ("/env/1/kind", "plain")]);
    assert_eq!(
        value,
        json!({"env": [{"name": "D", "kind": "plain", "tags": []}]}),
        "a fixed value does not fill an item"
    );
    assert_eq!(errors, [FieldError::new("/env/0/weight", "must be an integer")]);
    let (value, _) = read(root, &[("/env/0/name", " ")]);
    assert_eq!(value, json!({}), "a list of empty items is an empty list");
}

#[test]
fn keys_outside_the_schema_are_ignored() {
    let root = object(&[("name", json!({"type": "string"}))], &[]);
    let submitted = [("plan", "small"), ("csrf", "token"), ("/unknown", "x"), ("/name/deeper", "y"), ("/name", "a")];
    let (value, errors) = read(root, &submitted);
    assert_eq!((value, errors), (json!({"name": "a"}), vec![]));
}
