//! Both languages have every message, with the same placeholders, and every name the
//! portal shows (states, phases, categories, roles, SLA terms) has a message.

use std::collections::BTreeSet;
use std::path::Path;

use kube::CustomResourceExt;
use makonis_api::catalog::{CatalogItem, ServiceInstance};
use serde_json::Value;

use super::placeholders::{Segment, segments};
use super::template_keys::keys_used_in_templates;
use super::{Lang, Messages};

/// The states of an order, as the portal stores them.
const REQUEST_STATES: [&str; 11] = [
    "submitted",
    "awaiting_agency",
    "awaiting_platform",
    "approved",
    "rejected",
    "provisioning",
    "ready",
    "failed",
    "retiring",
    "retired",
    "cancelled",
];

/// The roles a user can hold.
const ROLES: [&str; 7] =
    ["requester", "approver", "security_officer", "viewer", "agency_admin", "platform_operator", "platform_admin"];

fn keys(messages: &Messages, lang: Lang) -> BTreeSet<&str> {
    messages.table(lang).keys().map(String::as_str).collect()
}

fn placeholders(message: &str) -> BTreeSet<&str> {
    segments(message)
        .filter_map(|segment| match segment {
            Segment::Placeholder(name) => Some(name),
            Segment::Text(_) => None,
        })
        .collect()
}

/// Every key of the form `{prefix}.{name}` is in both languages.
fn assert_named(messages: &Messages, prefix: &str, names: impl IntoIterator<Item = String>) {
    let mut count = 0;
    for name in names {
        let key = format!("{prefix}.{name}");
        for lang in [Lang::Lv, Lang::En] {
            assert!(messages.table(lang).contains_key(&key), "{}.yaml has no {key}", lang.code());
        }
        count += 1;
    }
    assert!(count > 0, "no names for {prefix}");
}

/// The values of every `enum` of a property named `property` in a CRD's schema.
fn schema_enum(schema: &Value, property: &str) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    match schema {
        Value::Object(object) => {
            if let Some(Value::Array(found)) = object.get("properties").and_then(|p| p.get(property)?.get("enum")) {
                values.extend(found.iter().filter_map(Value::as_str).map(String::from));
            }
            object.values().for_each(|inner| values.extend(schema_enum(inner, property)));
        }
        Value::Array(items) => items.iter().for_each(|inner| values.extend(schema_enum(inner, property))),
        _ => {}
    }
    values
}

/// The names of the properties of the object property `property` in a CRD's schema.
fn schema_properties(schema: &Value, property: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(found)) =
                object.get("properties").and_then(|p| p.get(property)?.get("properties"))
            {
                names.extend(found.keys().cloned());
            }
            object.values().for_each(|inner| names.extend(schema_properties(inner, property)));
        }
        Value::Array(items) => items.iter().for_each(|inner| names.extend(schema_properties(inner, property))),
        _ => {}
    }
    names
}

#[test]
fn both_languages_have_the_same_keys() {
    let messages = Messages::embedded();
    let (lv, en) = (keys(&messages, Lang::Lv), keys(&messages, Lang::En));
    assert_eq!(lv.difference(&en).collect::<Vec<_>>(), Vec::<&&str>::new(), "only in lv.yaml");
    assert_eq!(en.difference(&lv).collect::<Vec<_>>(), Vec::<&&str>::new(), "only in en.yaml");
}

#[test]
fn both_languages_have_the_same_placeholders() {
    let messages = Messages::embedded();
    for (key, latvian) in messages.table(Lang::Lv) {
        let english = messages.get(Lang::En, key);
        assert_eq!(placeholders(latvian), placeholders(english), "{key}");
    }
}

#[test]
fn no_message_is_blank_or_padded() {
    let messages = Messages::embedded();
    for lang in [Lang::Lv, Lang::En] {
        for (key, text) in messages.table(lang) {
            assert!(!text.trim().is_empty(), "{}: {key} is blank", lang.code());
            assert_eq!(text.trim(), text, "{}: {key} has surrounding spaces", lang.code());
            assert!(!text.contains('\n'), "{}: {key} spans lines", lang.code());
        }
    }
}

#[test]
fn the_pages_common_texts_exist() {
    let messages = Messages::embedded();
    let names = |names: &[&str]| names.iter().map(|name| name.to_string()).collect::<Vec<_>>();
    assert_named(&messages, "site", names(&["name"]));
    assert_named(
        &messages,
        "nav",
        names(&[
            "catalog",
            "my_requests",
            "approvals",
            "my_services",
            "admin",
            "audit_trail",
            "sign_in",
            "sign_out",
            "language_switch",
        ]),
    );
    assert_named(
        &messages,
        "button",
        names(&[
            "search",
            "order",
            "review_order",
            "submit_order",
            "approve",
            "reject",
            "resize",
            "retire",
            "cancel",
            "back",
            "save",
        ]),
    );
    assert_named(&messages, "login", names(&["username", "password", "submit"]));
    assert_named(&messages, "login.error", names(&["wrong_credentials", "directory_unavailable", "too_many_attempts"]));
    assert_named(&messages, "state", names(&REQUEST_STATES));
    assert_named(&messages, "role", names(&ROLES));
    assert!(messages.table(Lang::Lv).contains_key("skip_link"));
}

#[test]
fn every_name_of_the_catalog_api_has_a_message() {
    let messages = Messages::embedded();
    let item = serde_json::to_value(CatalogItem::crd()).unwrap();
    let instance = serde_json::to_value(ServiceInstance::crd()).unwrap();
    assert_named(&messages, "phase", schema_enum(&instance, "phase"));
    assert_named(&messages, "category", schema_enum(&item, "category"));
    assert_named(&messages, "support_hours", schema_enum(&item, "supportHours"));
    assert_named(&messages, "sla_window", schema_enum(&item, "window"));
    assert_named(&messages, "weekday", schema_enum(&item, "day"));
    assert_named(&messages, "priority", schema_properties(&item, "incidentTargets"));
    assert_named(&messages, "priority_help", schema_properties(&item, "incidentTargets"));
}

#[test]
fn the_placeholders_the_portal_fills_are_there() {
    let messages = Messages::embedded();
    for (key, placeholder) in [
        ("login.error.too_many_attempts", "seconds"),
        ("error.internal.text", "reference"),
        ("error.rate_limited.text", "seconds"),
    ] {
        assert_eq!(placeholders(messages.get(Lang::Lv, key)), BTreeSet::from([placeholder]), "{key}");
    }
}

#[test]
fn every_key_the_templates_use_exists() {
    let messages = Messages::embedded();
    let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
    for key in keys_used_in_templates(&templates) {
        for lang in [Lang::Lv, Lang::En] {
            assert!(messages.table(lang).contains_key(&key), "templates use {key}, missing in {}.yaml", lang.code());
        }
    }
}

#[test]
fn the_sla_reports_names_have_messages() {
    let messages = Messages::embedded();
    assert_named(&messages, "month_name", (1..=12).map(|month| month.to_string()));
    assert_named(&messages, "incident_severity", ["page", "ticket"].map(String::from));
    assert_named(&messages, "nav", ["sla_report".to_string()]);
}
