//! Validation: every rule, with its path and message.

use serde_json::json;

use super::{at, checked, parse_error, titled, violation, violations, with_property};

#[test]
fn values_must_have_the_node_type_and_null_never_does() {
    let cases = [
        ("string", "must be a string"),
        ("integer", "must be an integer"),
        ("number", "must be a number"),
        ("boolean", "must be a boolean"),
        ("object", "must be an object"),
    ];
    for (type_name, message) in cases {
        assert_eq!(violation(json!({"type": type_name}), json!(null)), at("/p", message));
        assert_eq!(violation(json!({"type": type_name}), json!([])), at("/p", message));
    }
    let array = json!({"type": "array", "items": {"type": "string"}});
    assert_eq!(violation(array, json!(null)), at("/p", "must be an array"));
    assert_eq!(violation(json!({"type": "string"}), json!(1)), at("/p", "must be a string"));
    assert_eq!(violation(json!({"type": "number"}), json!("1")), at("/p", "must be a number"));
    assert_eq!(violations(json!({"type": "object"}), json!([])), [at("", "must be an object")]);
}

#[test]
fn integers_have_no_fractional_part() {
    let schema = with_property("p", titled(json!({"type": "integer"})));
    assert_eq!(checked(schema.clone(), json!({"p": 3.0})), json!({"p": 3}));
    assert_eq!(checked(schema, json!({"p": -7})), json!({"p": -7}));
    assert_eq!(violation(json!({"type": "integer"}), json!(3.5)), at("/p", "must be an integer"));
}

#[test]
fn numeric_bounds_quote_the_schema() {
    let integer = json!({"type": "integer", "minimum": 1, "maximum": 10});
    assert_eq!(violation(integer.clone(), json!(0)), at("/p", "must be at least 1"));
    assert_eq!(violation(integer.clone(), json!(11)), at("/p", "must be at most 10"));
    checked(with_property("p", titled(integer)), json!({"p": 10}));
    let number = json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 2.5});
    assert_eq!(violation(number.clone(), json!(0)), at("/p", "must be greater than 0"));
    assert_eq!(violation(number.clone(), json!(2.5)), at("/p", "must be less than 2.5"));
    checked(with_property("p", titled(number)), json!({"p": 0.001}));
    assert_eq!(violation(json!({"type": "number", "minimum": 0.5}), json!(0.25)), at("/p", "must be at least 0.5"));
}

#[test]
fn multiples() {
    assert_eq!(violation(json!({"type": "integer", "multipleOf": 5}), json!(12)), at("/p", "must be a multiple of 5"));
    let tenths = with_property("p", titled(json!({"type": "number", "multipleOf": 0.1})));
    checked(tenths, json!({"p": 0.3}));
    assert_eq!(
        violation(json!({"type": "number", "multipleOf": 0.1}), json!(0.35)),
        at("/p", "must be a multiple of 0.1")
    );
}

#[test]
fn string_lengths_count_characters() {
    let node = json!({"type": "string", "minLength": 2, "maxLength": 3});
    checked(with_property("p", titled(node.clone())), json!({"p": "āžš"}));
    assert_eq!(violation(node.clone(), json!("ā")), at("/p", "must be at least 2 characters long"));
    assert_eq!(violation(node, json!("ābcd")), at("/p", "must be at most 3 characters long"));
    assert_eq!(
        violation(json!({"type": "string", "minLength": 1}), json!("")),
        at("/p", "must be at least 1 character long")
    );
    assert_eq!(
        violation(json!({"type": "string", "maxLength": 1}), json!("ab")),
        at("/p", "must be at most 1 character long")
    );
}

#[test]
fn patterns_are_unanchored() {
    checked(with_property("p", titled(json!({"type": "string", "pattern": "[a-z]+"}))), json!({"p": "A1b"}));
    let anchored = json!({"type": "string", "pattern": "^[a-z]+$"});
    assert_eq!(violation(anchored, json!("A1b")), at("/p", "must match the pattern ^[a-z]+$"));
}

#[test]
fn formats() {
    let cases = [
        ("email", "jānis", "must be a valid e-mail address"),
        ("hostname", "a_b.lv", "must be a valid host name"),
        ("uri", "ftp://vdi.lv", "must be a valid http or https URL"),
        ("date", "2023-02-29", "must be a valid date (YYYY-MM-DD)"),
        ("ipv4", "10.0.0.256", "must be a valid IPv4 address"),
    ];
    for (format, value, message) in cases {
        assert_eq!(violation(json!({"type": "string", "format": format}), json!(value)), at("/p", message));
    }
    let (_, message) = violation(json!({"type": "string", "format": "dns-label"}), json!("DMS"));
    assert!(message.starts_with("must be a valid DNS label"), "{message}");
    checked(with_property("p", titled(json!({"type": "string", "format": "date"}))), json!({"p": "2024-02-29"}));
}

#[test]
fn enum_and_const() {
    let sizes = json!({"type": "string", "enum": ["small", "medium", "large"]});
    assert_eq!(violation(sizes, json!("huge")), at("/p", "must be one of: small, medium, large"));
    checked(with_property("p", titled(json!({"type": "number", "enum": [1, 2.5]}))), json!({"p": 1.0}));
    assert_eq!(violation(json!({"type": "integer", "enum": [1, 2]}), json!(3)), at("/p", "must be one of: 1, 2"));
    assert_eq!(violation(json!({"type": "string", "const": "eparaksts"}), json!("x")), at("/p", "must be eparaksts"));
    assert_eq!(violation(json!({"type": "boolean", "const": true}), json!(false)), at("/p", "must be true"));
}

#[test]
fn objects_refuse_unknown_and_missing_parameters() {
    let schema = json!({
        "type": "object", "required": ["a"],
        "properties": {"a": titled(json!({"type": "string"})), "b": titled(json!({"type": "string"}))}
    });
    assert_eq!(violations(schema.clone(), json!({})), [at("/a", "is required")]);
    assert_eq!(
        violations(schema.clone(), json!({"a": "x", "c/d": 1})),
        [at("/c~1d", "is not a known parameter (known: a, b)")]
    );
    assert_eq!(checked(schema, json!({"a": "x"})), json!({"a": "x"}));
    assert_eq!(
        violations(json!({"type": "object"}), json!({"x": 1})),
        [at("/x", "is not a known parameter (none are defined)")]
    );
}

#[test]
fn arrays() {
    let node = json!({
        "type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 3, "uniqueItems": true
    });
    assert_eq!(violation(node.clone(), json!([])), at("/p", "must have at least 1 item"));
    assert_eq!(violation(node.clone(), json!([1, 2, 3, 4])), at("/p", "must have at most 3 items"));
    assert_eq!(violation(node.clone(), json!([1, 2, 1.0])), at("/p", "items must be unique (items 0 and 2 are equal)"));
    assert_eq!(violation(node.clone(), json!([1, -2])), at("/p/1", "must be at least 0"));
    let two = json!({"type": "array", "items": {"type": "string"}, "minItems": 2});
    assert_eq!(violation(two, json!(["a"])), at("/p", "must have at least 2 items"));
    let repeats = json!({"type": "array", "items": {"type": "string"}});
    checked(with_property("p", titled(repeats)), json!({"p": ["a", "a"]}));
}

#[test]
fn every_violation_is_reported_in_order() {
    let schema = json!({
        "type": "object", "required": ["name", "size"],
        "properties": {
            "name": titled(json!({"type": "string", "pattern": "^[a-z]+$", "maxLength": 3})),
            "size": titled(json!({"type": "string", "enum": ["s", "m"]})),
            "disks": titled(json!({"type": "array", "maxItems": 1, "items": {"type": "integer", "maximum": 100}})),
            "zone": titled(json!({"type": "object", "properties": {"id": titled(json!({"type": "integer"}))}}))
        }
    });
    let parameters = json!({"name": "ABCD", "disks": [200, "x"], "extra": true, "zone": {"id": null}});
    assert_eq!(
        violations(schema, parameters),
        [
            at("/disks", "must have at most 1 item"),
            at("/disks/0", "must be at most 100"),
            at("/disks/1", "must be an integer"),
            at("/extra", "is not a known parameter (known: disks, name, size, zone)"),
            at("/name", "must be at most 3 characters long"),
            at("/name", "must match the pattern ^[a-z]+$"),
            at("/size", "is required"),
            at("/zone/id", "must be an integer"),
        ]
    );
}

#[test]
fn strings_refuse_invisible_characters_and_line_breaks_unless_multiline() {
    let line_break = "must not contain a line break (allowed only where the schema says `x-multiline: true`) (U+000A)";
    assert_eq!(violation(json!({"type": "string"}), json!("a\nb")), at("/p", line_break));
    assert_eq!(
        violation(json!({"type": "string", "x-multiline": true}), json!("a\u{202e}b")),
        at("/p", "must not contain an invisible bidirectional-text control (U+202E)")
    );
    let multiline = with_property("p", titled(json!({"type": "string", "x-multiline": true})));
    assert_eq!(checked(multiline, json!({"p": "a\r\n\tb"})), json!({"p": "a\r\n\tb"}));
    let list = json!({"type": "array", "items": {"type": "string"}});
    assert_eq!(
        violations(with_property("p", titled(list)), json!({"p": ["ok", "\u{85}"]})),
        [at("/p/1", "must not contain a Unicode line break (U+0085)")]
    );
    assert_eq!(
        parse_error(with_property("p", titled(json!({"type": "string", "x-multiline": "yes"})))),
        at("/properties/p/x-multiline", "must be a boolean")
    );
}

#[test]
fn instance_references_are_dns_labels() {
    let reference = json!({"type": "string", "x-instance": true});
    assert_eq!(
        violation(reference.clone(), json!("Other DB")),
        at("/p", "must name an instance of the agency (a DNS label)")
    );
    assert_eq!(
        checked(with_property("p", titled(reference)), json!({"p": "sudzibas-db"})),
        json!({"p": "sudzibas-db"})
    );
}
