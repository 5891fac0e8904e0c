//! Building forms: controls per type, labels, defaults, required marks and errors.

use makonis_catalog::FieldError;
use serde_json::{Value, json};

use super::{find, schema, titled};
use crate::form::{Form, FormError, Input, Lang, build};

/// The schema of a storage order, exercising every type.
pub(super) fn storage() -> Value {
    json!({
        "type": "object",
        "required": ["owner", "storage"],
        "properties": {
            "owner": {
                "type": "string", "title": "Owner e-mail", "x-title-lv": "Īpašnieka e-pasts",
                "description": "Who to tell.", "format": "email", "examples": ["it@vdi.gov.lv"],
            },
            "code": {
                "type": "string", "title": "Code", "x-title-lv": "Kods", "x-description-lv": "Tikai latviski.",
                "minLength": 1, "maxLength": 64, "pattern": "^[A-Z]+$",
            },
            "notes": {"type": "string", "title": "Notes", "x-title-lv": "Piezīmes", "maxLength": 2000, "x-multiline": true},
            "home": {"type": "string", "title": "Home page", "x-title-lv": "Mājaslapa", "format": "uri"},
            "start": {"type": "string", "title": "Start", "x-title-lv": "Sākums", "format": "date"},
            "host": {"type": "string", "title": "Host", "x-title-lv": "Resursdators", "format": "hostname"},
            "replicas": {
                "type": "integer", "title": "Replicas", "x-title-lv": "Replikas",
                "minimum": 1, "maximum": 5, "default": 2,
            },
            "ratio": {"type": "number", "title": "Ratio", "x-title-lv": "Attiecība", "exclusiveMinimum": 0, "multipleOf": 0.5},
            "backup": {"type": "boolean", "title": "Backup", "x-title-lv": "Rezerves kopija", "default": true},
            "audited": {"type": "boolean", "title": "Audited", "x-title-lv": "Auditēts", "const": true},
            "tier": {"type": "string", "title": "Tier", "x-title-lv": "Līmenis", "enum": ["gold", "silver"], "default": "gold"},
            "zone": {"type": "string", "title": "Zone", "x-title-lv": "Zona", "enum": ["a", "b", "c", "d", "e"]},
            "size": {"type": "integer", "title": "Size", "x-title-lv": "Izmērs", "enum": [1, 2]},
            "version": {"type": "string", "title": "Version", "x-title-lv": "Versija", "const": "16", "enum": ["16"]},
            "storage": {
                "type": "object", "title": "Storage", "x-title-lv": "Krātuve", "required": ["sizeGi"],
                "properties": {
                    "sizeGi": {"type": "integer", "title": "Size (GiB)", "x-title-lv": "Izmērs (GiB)", "minimum": 10},
                    "class": {"type": "string", "title": "Class", "x-title-lv": "Klase", "default": "fast"},
                },
            },
            "archive": {
                "type": "object", "title": "Archive", "x-title-lv": "Arhīvs", "required": ["bucket"],
                "properties": {
                    "bucket": {"type": "string", "title": "Bucket", "x-title-lv": "Spainis"},
                    "days": {"type": "integer", "title": "Days", "x-title-lv": "Dienas", "default": 30},
                },
            },
            "networks": {
                "type": "array", "title": "Networks", "x-title-lv": "Tīkli", "minItems": 1, "maxItems": 20,
                "uniqueItems": true, "default": ["10.0.0.1"], "items": {"type": "string", "format": "ipv4"},
            },
            "formats": {
                "type": "array", "title": "Formats", "x-title-lv": "Formāti", "uniqueItems": true, "maxItems": 2,
                "items": {"type": "string", "enum": ["CSV", "JSON"]},
            },
            "env": {
                "type": "array", "title": "Variables", "x-title-lv": "Mainīgie", "maxItems": 2,
                "items": {
                    "type": "object", "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "title": "Name", "x-title-lv": "Nosaukums"},
                        "secret": {"type": "boolean", "title": "Secret", "x-title-lv": "Slepens", "default": true},
                    },
                },
            },
        },
    })
}

fn form(values: Value, errors: &[FieldError], lang: Lang) -> Form {
    build(&schema(storage()), &values, errors, lang)
}

#[test]
fn every_type_gets_its_control() {
    let form = form(json!({}), &[], Lang::En);
    let input = |name| find(&form.fields, name).input;
    assert_eq!(input("/owner"), Input::Email);
    assert_eq!(input("/code"), Input::Text);
    assert_eq!(input("/notes"), Input::LongText);
    assert_eq!(input("/home"), Input::Url);
    assert_eq!(input("/start"), Input::Date);
    assert_eq!(input("/host"), Input::Text);
    assert_eq!(input("/replicas"), Input::Number);
    assert_eq!(input("/ratio"), Input::Number);
    assert_eq!(input("/backup"), Input::Checkbox);
    assert_eq!(input("/tier"), Input::Radio);
    assert_eq!(input("/zone"), Input::Select);
    assert_eq!(input("/size"), Input::Radio);
    assert_eq!(input("/version"), Input::Text);
    assert_eq!(input("/storage"), Input::Group);
    assert_eq!(input("/networks"), Input::Lines);
    assert_eq!(input("/formats"), Input::CheckboxGroup);
    assert_eq!(input("/env"), Input::List);
    let names: Vec<&str> = form.fields.iter().map(|field| field.name.as_str()).collect();
    assert_eq!(names[..3], ["/archive", "/audited", "/backup"], "properties in the schema's order");
}

#[test]
fn ids_and_names_follow_the_pointer() {
    let form = form(json!({}), &[], Lang::En);
    let size = find(&form.fields, "/storage/sizeGi");
    assert_eq!(size.id, "p-storage-sizeGi");
    assert_eq!(find(&form.fields, "/env/0/name").id, "p-env-0-name");
    let tier = find(&form.fields, "/tier");
    let ids: Vec<&str> = tier.options.iter().map(|choice| choice.id.as_str()).collect();
    assert_eq!(ids, ["p-tier--0", "p-tier--1"]);
}

#[test]
fn labels_and_descriptions_follow_the_language() {
    let latvian = form(json!({}), &[], Lang::Lv);
    let english = form(json!({}), &[], Lang::En);
    assert_eq!(find(&latvian.fields, "/owner").label, "Īpašnieka e-pasts");
    assert_eq!(find(&english.fields, "/owner").label, "Owner e-mail");
    assert_eq!(find(&latvian.fields, "/owner").description.as_deref(), Some("Who to tell."), "English as a fallback");
    assert_eq!(find(&english.fields, "/code").description.as_deref(), Some("Tikai latviski."));
    assert_eq!(find(&english.fields, "/home").description, None);
    assert_eq!(find(&latvian.fields, "/env/0").label, "1. ieraksts (jauns)");
    assert_eq!(find(&english.fields, "/env/1").label, "Item 2 (new)");
}

#[test]
fn constraints_are_given_and_stated() {
    let latvian = form(json!({}), &[], Lang::Lv);
    let code = &find(&latvian.fields, "/code").constraints;
    assert_eq!((code.minlength, code.maxlength, code.pattern.as_deref()), (Some(1), Some(64), Some("^[A-Z]+$")));
    assert_eq!(code.hints, ["1–64 rakstzīmes"]);
    let replicas = &find(&latvian.fields, "/replicas").constraints;
    assert_eq!(
        (replicas.min.as_deref(), replicas.max.as_deref(), replicas.step.as_deref()),
        (Some("1"), Some("5"), Some("1"))
    );
    assert_eq!(replicas.hints, ["No 1 līdz 5"]);
    let english = form(json!({}), &[], Lang::En);
    let ratio = &find(&english.fields, "/ratio").constraints;
    assert_eq!((ratio.min.as_deref(), ratio.step.as_deref()), (None, Some("0.5")));
    assert_eq!(ratio.hints, ["Greater than 0", "A multiple of 0.5"]);
    assert_eq!(find(&english.fields, "/owner").constraints.placeholder.as_deref(), Some("it@vdi.gov.lv"));
    assert_eq!(find(&english.fields, "/host").constraints.hints, ["A host name: letters, digits, '-' and dots"]);
    let networks = &find(&english.fields, "/networks").constraints;
    let expected = [
        "One value per line",
        "1–20 values",
        "No value may repeat",
        "Each value: An IPv4 address: four numbers 0–255 separated by dots",
    ];
    assert_eq!(networks.hints, expected);
    assert_eq!(find(&english.fields, "/formats").constraints.hints, ["At most 2 values"]);
    let env = &find(&english.fields, "/env").constraints;
    assert_eq!(
        env.hints,
        ["At most 2 items", "To add an item, fill in a new one; to remove one, clear all its fields"]
    );
}

#[test]
fn defaults_fill_absent_values() {
    let form = form(json!({"storage": {"sizeGi": 20}, "formats": ["JSON"]}), &[], Lang::En);
    let field = |name| find(&form.fields, name);
    assert_eq!(field("/replicas").value, "2");
    assert_eq!(field("/storage/sizeGi").value, "20");
    assert_eq!(field("/storage/class").value, "fast");
    assert!(field("/backup").checked);
    assert_eq!(field("/tier").value, "gold");
    assert_eq!(field("/networks").value, "10.0.0.1");
    let ticked: Vec<bool> = field("/formats").options.iter().map(|choice| choice.selected).collect();
    assert_eq!(ticked, [false, true]);
    assert_eq!(field("/owner").value, "");
}

#[test]
fn absent_optional_groups_stay_empty() {
    let empty = form(json!({}), &[], Lang::En);
    assert_eq!(find(&empty.fields, "/archive/days").value, "", "no default shown, so the group stays absent");
    assert_eq!(find(&empty.fields, "/storage/class").value, "fast", "a required group is always sent");
    let filled = form(json!({"archive": {"bucket": "b"}}), &[], Lang::En);
    assert_eq!(find(&filled.fields, "/archive/days").value, "30");
}

#[test]
fn required_fields_are_marked() {
    let form = form(json!({}), &[], Lang::Lv);
    let owner = find(&form.fields, "/owner");
    assert_eq!((owner.required, owner.marker.as_deref()), (true, Some("(obligāts)")));
    let size = find(&form.fields, "/storage/sizeGi");
    assert!(size.required, "required in a required group");
    for optional in ["/code", "/replicas", "/backup", "/storage/class", "/archive"] {
        let field = find(&form.fields, optional);
        assert_eq!((field.required, &field.marker), (false, &None), "{optional}");
    }
    for in_group in ["/archive/bucket", "/env/0/name"] {
        let field = find(&form.fields, in_group);
        assert!(!field.required, "{in_group} may be left empty with its group");
        assert_eq!(field.constraints.hints[0], "Obligāts, ja grupa tiek aizpildīta", "{in_group}");
    }
}

#[test]
fn fixed_values_are_read_only() {
    let form = form(json!({}), &[], Lang::En);
    let audited = find(&form.fields, "/audited");
    assert!(audited.read_only && audited.checked && !audited.required);
    let version = find(&form.fields, "/version");
    assert_eq!((version.read_only, version.value.as_str(), version.options.len()), (true, "16", 0));
}

#[test]
fn choices_offer_not_set_only_when_a_value_may_be_absent() {
    let form = form(json!({"size": 2}), &[], Lang::En);
    let choices = |name| -> Vec<(String, bool)> {
        find(&form.fields, name).options.iter().map(|choice| (choice.label.clone(), choice.selected)).collect()
    };
    let owned = |pairs: &[(&str, bool)]| -> Vec<(String, bool)> {
        pairs.iter().map(|(label, selected)| ((*label).to_owned(), *selected)).collect()
    };
    assert_eq!(choices("/tier"), owned(&[("gold", true), ("silver", false)]), "the default applies when unset");
    assert_eq!(choices("/size"), owned(&[("Not set", false), ("1", false), ("2", true)]));
    let zone = choices("/zone");
    assert_eq!(zone[..2], owned(&[("Not set", true), ("a", false)]));
}

#[test]
fn lists_of_groups_offer_new_items_within_max_items() {
    let form = form(json!({"env": [{"name": "A", "secret": false}]}), &[], Lang::En);
    let env = find(&form.fields, "/env");
    let names: Vec<&str> = env.children.iter().map(|row| row.name.as_str()).collect();
    assert_eq!(names, ["/env/0", "/env/1"], "maxItems is 2");
    assert_eq!(find(&form.fields, "/env/0/name").value, "A");
    assert!(!find(&form.fields, "/env/0/secret").checked);
    assert!(!find(&form.fields, "/env/1/secret").checked, "a new item shows no defaults");
    assert_eq!(env.children[0].label, "Item 1");
}

#[test]
fn errors_land_on_their_fields() {
    let errors = [
        FieldError::new("/owner", "must be a valid e-mail address"),
        FieldError::new("/storage/sizeGi", "must be at least 10"),
        FieldError::new("/networks/1", "must be a valid IPv4 address"),
        FieldError::new("/formats/0", "must be one of: CSV, JSON"),
        FieldError::new("/env/0/name", "is required"),
        FieldError::new("/storage/speed", "is not a known parameter (known: class, sizeGi)"),
        FieldError::new("", "must be an object"),
    ];
    let form = form(json!({}), &errors, Lang::Lv);
    let errors_of = |name| find(&form.fields, name).errors.clone();
    assert_eq!(errors_of("/owner"), ["jābūt derīgai e-pasta adresei"]);
    assert_eq!(errors_of("/storage/sizeGi"), ["jābūt vismaz 10"]);
    assert_eq!(errors_of("/networks"), ["2. rinda: jābūt derīgai IPv4 adresei"]);
    assert_eq!(errors_of("/formats"), ["jābūt vienai no šīm vērtībām: CSV, JSON"]);
    assert_eq!(errors_of("/env/0/name"), ["obligāti jāaizpilda"]);
    assert_eq!(errors_of("/storage"), Vec::<String>::new());
    let unshown = [
        FormError {
            path: "/storage/speed".to_owned(),
            message: "nav zināms parametrs (zināmie: class, sizeGi)".to_owned(),
        },
        FormError { path: String::new(), message: "jābūt objektam".to_owned() },
    ];
    assert_eq!(form.errors, unshown);
    let english = build(&schema(storage()), &json!({}), &errors[2..3], Lang::En);
    assert_eq!(find(&english.fields, "/networks").errors, ["Line 2: must be a valid IPv4 address"]);
}

#[test]
fn values_of_the_wrong_type_are_shown_as_they_are() {
    let form =
        form(json!({"replicas": "many", "networks": "10.0.0.0/8", "storage": 5, "env": {"a": 1}}), &[], Lang::En);
    assert_eq!(find(&form.fields, "/replicas").value, "many");
    assert_eq!(find(&form.fields, "/networks").value, "10.0.0.0/8");
    assert_eq!(find(&form.fields, "/storage/sizeGi").value, "");
    assert_eq!(find(&form.fields, "/env").children.len(), 2);
}

#[test]
fn lists_and_groups_are_required_only_when_something_must_be_entered() {
    let schema = schema(json!({
        "type": "object",
        "required": ["any", "some", "group"],
        "properties": {
            "any": titled(json!({"type": "array", "items": {"type": "string"}})),
            "some": titled(json!({"type": "array", "minItems": 1, "items": {"type": "string"}})),
            "group": titled(json!({"type": "object", "properties": {}})),
        },
    }));
    let form = build(&schema, &json!({}), &[], Lang::En);
    assert!(!find(&form.fields, "/any").required, "an empty list is a valid value");
    assert!(find(&form.fields, "/some").required);
    assert!(!find(&form.fields, "/group").required, "a required group is always sent");
}
