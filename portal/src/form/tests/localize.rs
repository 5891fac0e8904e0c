//! Latvian messages for the validator's and the parser's English ones.

use makonis_catalog::FieldError;
use serde_json::json;

use super::{pairs, schema, titled};
use crate::form::{Lang, localize, parse};

fn latvian(message: &str) -> String {
    localize(&FieldError::new("/x", message), Lang::Lv)
}

/// Every rule of the subset, broken once, so that every message shape of the validator is
/// met as it really is worded.
#[test]
fn every_validator_message_has_a_translation() {
    let mut properties = serde_json::Map::new();
    let nodes = [
        ("short", json!({"type": "string", "minLength": 3})),
        ("long", json!({"type": "string", "maxLength": 1})),
        ("patterned", json!({"type": "string", "pattern": "^[a-z]+$"})),
        ("low", json!({"type": "integer", "minimum": 10})),
        ("high", json!({"type": "integer", "maximum": 10})),
        ("above", json!({"type": "number", "exclusiveMinimum": 0})),
        ("below", json!({"type": "number", "exclusiveMaximum": 1})),
        ("stepped", json!({"type": "integer", "multipleOf": 5})),
        ("chosen", json!({"type": "string", "enum": ["a", "b"]})),
        ("fixed", json!({"type": "boolean", "const": true})),
        ("few", json!({"type": "array", "items": {"type": "string"}, "minItems": 2})),
        ("many", json!({"type": "array", "items": {"type": "string"}, "maxItems": 1})),
        ("distinct", json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true})),
        ("needed", json!({"type": "string"})),
        ("object", json!({"type": "object", "properties": {}})),
        ("string", json!({"type": "string"})),
        ("integer", json!({"type": "integer"})),
        ("number", json!({"type": "number"})),
        ("boolean", json!({"type": "boolean"})),
        ("array", json!({"type": "array", "items": {"type": "string"}})),
    ];
    for (name, node) in nodes {
        properties.insert(name.to_owned(), titled(node));
    }
    for format in ["email", "hostname", "uri", "date", "ipv4", "dns-label"] {
        properties.insert(format.replace('-', "_"), titled(json!({"type": "string", "format": format})));
    }
    let schema = schema(json!({"type": "object", "required": ["needed"], "properties": properties}));
    let parameters = json!({
        "short": "ab", "long": "ab", "patterned": "A", "low": 1, "high": 11, "above": 0, "below": 1,
        "stepped": 7, "chosen": "c", "fixed": false, "few": ["a"], "many": ["a", "b"], "distinct": ["a", "a"],
        "object": 1, "string": 1, "integer": 1.5, "number": "1", "boolean": "yes", "array": {},
        "email": "x", "hostname": "-", "uri": "x", "date": "x", "ipv4": "x", "dns_label": "X", "extra": 1,
    });
    let errors = schema.validate(&parameters).expect_err("every rule is broken");
    assert_eq!(errors.len(), 27, "{errors:#?}");
    for error in &errors {
        let translated = localize(error, Lang::Lv);
        assert_ne!(translated, error.message, "{} has no Latvian translation", error.message);
        assert_eq!(localize(error, Lang::En), error.message);
    }
}

#[test]
fn translations_keep_the_details() {
    let cases = [
        ("is required", "obligāti jāaizpilda"),
        ("must be at least 3 characters long", "jāsatur vismaz 3 rakstzīmes"),
        ("must be at most 1 character long", "jāsatur ne vairāk kā 1 rakstzīmi"),
        ("must be at most 21 characters long", "jāsatur ne vairāk kā 21 rakstzīmi"),
        ("must have at least 2 items", "jāsatur vismaz 2 vienumus"),
        ("must have at most 1 item", "jāsatur ne vairāk kā 1 vienumu"),
        ("must match the pattern ^[a-z]+$", "jāatbilst šablonam ^[a-z]+$"),
        ("must be at least 10", "jābūt vismaz 10"),
        ("must be at most 10", "jābūt ne lielākam par 10"),
        ("must be greater than 0", "jābūt lielākam par 0"),
        ("must be less than 1.5", "jābūt mazākam par 1.5"),
        ("must be a multiple of 5", "jābūt skaitļa 5 daudzkārtnim"),
        ("must be one of: a, b", "jābūt vienai no šīm vērtībām: a, b"),
        ("must be true", "vērtībai jābūt true"),
        ("must be an integer", "jābūt veselam skaitlim"),
        ("must be a valid IPv4 address", "jābūt derīgai IPv4 adresei"),
        ("items must be unique (items 0 and 2 are equal)", "vērtības nedrīkst atkārtoties (vienumi 0 un 2 ir vienādi)"),
        ("is not a known parameter (known: a, b)", "nav zināms parametrs (zināmie: a, b)"),
        ("is not a known parameter (none are defined)", "nav zināms parametrs (parametri nav definēti)"),
    ];
    for (english, expected) in cases {
        assert_eq!(latvian(english), expected, "{english}");
    }
}

#[test]
fn the_parsers_messages_are_translated() {
    let schema = schema(json!({
        "type": "object",
        "properties": {
            "count": {"type": "integer", "title": "Count", "x-title-lv": "Skaits"},
            "share": {"type": "number", "title": "Share", "x-title-lv": "Daļa"},
            "flags": {"type": "array", "title": "Flags", "x-title-lv": "Karodziņi", "items": {"type": "boolean"}},
        },
    }));
    let (_, errors) = parse(&schema, &pairs(&[("/count", "x"), ("/share", "y"), ("/flags", "z")]));
    let translated: Vec<String> = errors.iter().map(|error| localize(error, Lang::Lv)).collect();
    assert_eq!(translated, ["jābūt veselam skaitlim", "jābūt patiesuma vērtībai (true vai false)", "jābūt skaitlim"]);
}

#[test]
fn unknown_messages_are_kept() {
    for message in [
        "quota exceeded",
        "must be a non-negative integer",
        "must have many things",
        "must be at least 3 things long",
        "is not a known parameter",
    ] {
        assert_eq!(latvian(message), message);
    }
}
