//! A realistic schema: ordering a document-management system.

use serde_json::{Value, json};

use super::{at, checked, parsed, violations};
use crate::schema::{Format, Kind};

fn dms() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "title": "Document management system",
        "required": ["organisationName", "contacts"],
        "properties": {
            "organisationName": {
                "type": "string", "title": "Organisation", "x-title-lv": "Iestāde",
                "description": "Short name, as in the register", "x-description-lv": "Īsais nosaukums",
                "pattern": "^[A-ZĀČĒĢĪĶĻŅŠŪŽ][A-Za-zĀČĒĢĪĶĻŅŠŪŽāčēģīķļņšūž ]{1,79}$",
                "examples": ["VSAA"]
            },
            "retentionYears": {
                "type": "integer", "title": "Retention (years)", "x-title-lv": "Glabāšanas termiņš (gadi)",
                "minimum": 1, "maximum": 75, "default": 10
            },
            "eSignature": {
                "type": "object", "title": "E-signature", "x-title-lv": "E-paraksts",
                "properties": {
                    "enabled": {"type": "boolean", "title": "Enabled", "x-title-lv": "Ieslēgts", "default": true},
                    "provider": {
                        "type": "string", "title": "Provider", "x-title-lv": "Pakalpojuma sniedzējs",
                        "enum": ["eparaksts", "none"], "default": "eparaksts"
                    }
                },
                "default": {}
            },
            "contacts": {
                "type": "array", "title": "Contacts", "x-title-lv": "Kontaktpersonas", "minItems": 1,
                "items": {
                    "type": "object", "required": ["name", "email"],
                    "properties": {
                        "name": {"type": "string", "title": "Name", "x-title-lv": "Vārds", "minLength": 1},
                        "email": {"type": "string", "title": "E-mail", "x-title-lv": "E-pasts", "format": "email"}
                    }
                }
            }
        }
    })
}

#[test]
fn the_form_can_be_generated_from_the_tree() {
    let schema = parsed(dms());
    let Kind::Object(root) = &schema.root().kind else { panic!("an object") };
    let names: Vec<&str> = root.properties.keys().map(String::as_str).collect();
    assert_eq!(names, ["contacts", "eSignature", "organisationName", "retentionYears"]);
    assert!(root.is_required("contacts") && !root.is_required("retentionYears"));
    assert_eq!(root.properties["retentionYears"].title_lv.as_deref(), Some("Glabāšanas termiņš (gadi)"));
    let Kind::Array(contacts) = &root.properties["contacts"].kind else { panic!("an array") };
    let Kind::Object(contact) = &contacts.items.kind else { panic!("an object") };
    assert!(matches!(&contact.properties["email"].kind, Kind::String(rules) if rules.format == Some(Format::Email)));
}

#[test]
fn a_minimal_order_gets_the_defaults() {
    let parameters = json!({"organisationName": "VSAA", "contacts": [{"name": "Jānis", "email": "janis@vsaa.gov.lv"}]});
    let expected = json!({
        "organisationName": "VSAA",
        "retentionYears": 10,
        "eSignature": {"enabled": true, "provider": "eparaksts"},
        "contacts": [{"name": "Jānis", "email": "janis@vsaa.gov.lv"}]
    });
    assert_eq!(checked(dms(), parameters), expected);
    let parameters = json!({
        "organisationName": "Valsts darba inspekcija", "retentionYears": 75, "eSignature": {"enabled": false},
        "contacts": [{"name": "Līga", "email": "liga@vdi.gov.lv"}]
    });
    let checked = checked(dms(), parameters);
    assert_eq!(checked["eSignature"], json!({"enabled": false, "provider": "eparaksts"}));
}

#[test]
fn a_bad_order_lists_every_problem() {
    let parameters = json!({
        "organisationName": "vsaa",
        "retentionYears": 100,
        "eSignature": {"provider": "smart-id"},
        "contacts": [{"name": "Jānis", "email": "janis@vsaa"}, {"email": "x@vsaa.gov.lv", "phone": "123"}]
    });
    assert_eq!(
        violations(dms(), parameters),
        [
            at("/contacts/0/email", "must be a valid e-mail address"),
            at("/contacts/1/name", "is required"),
            at("/contacts/1/phone", "is not a known parameter (known: email, name)"),
            at("/eSignature/provider", "must be one of: eparaksts, none"),
            at("/organisationName", "must match the pattern ^[A-ZĀČĒĢĪĶĻŅŠŪŽ][A-Za-zĀČĒĢĪĶĻŅŠŪŽāčēģīķļņšūž ]{1,79}$"),
            at("/retentionYears", "must be at most 75"),
        ]
    );
    assert_eq!(
        violations(dms(), json!({"organisationName": "VSAA", "contacts": []})),
        [at("/contacts", "must have at least 1 item")]
    );
}
