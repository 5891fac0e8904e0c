//! Validation: defaults filled in, at every level.

use serde_json::{Value, json};

use super::{checked, titled, violations};

fn string(default: &str) -> Value {
    titled(json!({"type": "string", "default": default}))
}

#[test]
fn absent_properties_take_their_defaults() {
    let schema = json!({
        "type": "object", "required": ["size"],
        "properties": {
            "size": string("small"),
            "note": titled(json!({"type": "string"})),
            "count": titled(json!({"type": "integer", "default": 2.0}))
        }
    });
    assert_eq!(
        checked(schema.clone(), json!({})),
        json!({"size": "small", "count": 2}),
        "a required property is satisfied by its default"
    );
    assert_eq!(
        checked(schema, json!({"size": "large", "note": "x", "count": 5})),
        json!({"size": "large", "note": "x", "count": 5})
    );
}

#[test]
fn defaults_apply_inside_present_and_defaulted_objects() {
    let inner = json!({"type": "object", "properties": {"provider": string("eparaksts"), "level": string("high")}});
    let schema = json!({
        "type": "object",
        "properties": {
            "signing": titled(json!({
                "type": "object", "default": {"level": "low"}, "properties": inner["properties"]
            })),
            "present": titled(inner.clone()),
            "optional": titled(inner)
        }
    });
    let expected = json!({
        "signing": {"provider": "eparaksts", "level": "low"},
        "present": {"provider": "other", "level": "high"}
    });
    assert_eq!(
        checked(schema, json!({"present": {"provider": "other"}})),
        expected,
        "an absent optional object without a default stays absent"
    );
}

#[test]
fn defaults_apply_inside_array_items() {
    let item =
        json!({"type": "object", "properties": {"name": titled(json!({"type": "string"})), "role": string("reader")}});
    let schema = json!({"type": "object", "properties": {"users": titled(json!({"type": "array", "items": item}))}});
    let parameters = json!({"users": [{"name": "a"}, {"name": "b", "role": "admin"}]});
    let expected = json!({"users": [{"name": "a", "role": "reader"}, {"name": "b", "role": "admin"}]});
    assert_eq!(checked(schema, parameters), expected);
}

#[test]
fn defaults_do_not_hide_other_violations() {
    let schema = json!({
        "type": "object", "required": ["name"],
        "properties": {"name": titled(json!({"type": "string"})), "size": string("small")}
    });
    assert_eq!(violations(schema, json!({})), [(String::from("/name"), String::from("is required"))]);
}
