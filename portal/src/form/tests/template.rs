//! The `fields` macro of `templates/macros/form.html`, rendered with each catalog item.

use std::collections::HashSet;

use makonis_catalog::FieldError;
use serde_json::json;
use tera::{Context, Tera};

use super::build::storage;
use super::catalog::{defaults, items};
use super::html::{Tag, submit, tags};
use super::schema;
use crate::form::{Field, Form, Input, Lang, build, parse};

/// The macros, as the portal's pages import them.
const MACROS: &str = include_str!("../../../templates/macros/form.html");

/// A page that renders a form with the macros.
const PAGE: &str = r#"{% import "macros/form.html" as macros %}<form method="post">{{ macros::errors(errors=errors) }}{{ macros::fields(fields=fields) }}</form>"#;

/// Renders `form` as an order page would.
pub(super) fn render(form: &Form) -> String {
    let mut tera = Tera::default();
    tera.add_raw_templates([("macros/form.html", MACROS), ("order.html", PAGE)]).expect("the templates parse");
    let context = Context::from_serialize(form).expect("a serializable form");
    tera.render("order.html", &context).unwrap_or_else(|error| panic!("the form does not render: {error:?}"))
}

/// Every field of `fields` and of their descendants.
fn all(fields: &[Field]) -> Vec<&Field> {
    fields.iter().flat_map(|field| std::iter::once(field).chain(all(&field.children))).collect()
}

fn by_id<'a>(tags: &'a [Tag], id: &str) -> &'a Tag {
    tags.iter().find(|tag| tag.get("id") == Some(id)).unwrap_or_else(|| panic!("no element #{id}"))
}

fn described_by(tag: &Tag) -> Vec<&str> {
    tag.get("aria-describedby").unwrap_or_default().split_whitespace().collect()
}

#[test]
fn every_control_has_a_label_and_its_notes_exist() {
    for (name, schema) in items() {
        for lang in [Lang::Lv, Lang::En] {
            let html = render(&build(&schema, &defaults(&name, &schema), &[], lang));
            let tags = tags(&html);
            let mut ids = HashSet::new();
            for id in tags.iter().filter_map(|tag| tag.get("id")) {
                assert!(ids.insert(id), "{name}: duplicate id {id}");
            }
            let labelled: HashSet<&str> =
                tags.iter().filter(|tag| tag.name == "label").filter_map(|tag| tag.get("for")).collect();
            for control in tags.iter().filter(|tag| tag.is_labelled_control()) {
                let id = control.get("id").unwrap_or_else(|| panic!("{name}: a control without id: {control:?}"));
                assert!(labelled.contains(id), "{name}: no label for #{id}");
                for note in described_by(control) {
                    assert!(ids.contains(note), "{name}: #{id} is described by missing #{note}");
                }
            }
            for fieldset in tags.iter().filter(|tag| tag.name == "fieldset") {
                for note in described_by(fieldset) {
                    assert!(ids.contains(note), "{name}: a fieldset is described by missing #{note}");
                }
            }
            let fieldsets = tags.iter().filter(|tag| tag.name == "fieldset").count();
            let legends = tags.iter().filter(|tag| tag.name == "legend").count();
            assert_eq!(fieldsets, legends, "{name}: every fieldset has a legend");
        }
    }
}

#[test]
fn errors_are_shown_next_to_their_fields() {
    for (name, schema) in items() {
        let values = defaults(&name, &schema);
        let names: Vec<String> =
            all(&build(&schema, &values, &[], Lang::Lv).fields).iter().map(|f| f.name.clone()).collect();
        let mut errors: Vec<FieldError> =
            names.iter().map(|path| FieldError::new(path, "must be at least 1")).collect();
        errors.push(FieldError::new("/unknownThing", "is not a known parameter (known: a, b)"));
        let form = build(&schema, &values, &errors, Lang::Lv);
        assert_eq!(form.errors.len(), 1, "{name}");
        assert_eq!(form.errors[0].message, "nav zināms parametrs (zināmie: a, b)");
        let html = render(&form);
        assert!(html.contains("<code>&#x2F;unknownThing</code>: nav zināms parametrs"), "{name}");
        let tags = tags(&html);
        for field in all(&form.fields) {
            assert_eq!(field.errors, ["jābūt vismaz 1"], "{name}: {}", field.name);
            let error_id = format!("{}--error", field.id);
            by_id(&tags, &error_id);
            assert!(html.contains(&format!(r#"id="{error_id}">jābūt vismaz 1</p>"#)), "{name}: {error_id}");
            let described = match field.input {
                Input::Group | Input::List | Input::Radio | Input::CheckboxGroup => by_id(&tags, &field.id),
                _ => {
                    let control = by_id(&tags, &field.id);
                    assert_eq!(control.get("aria-invalid"), Some("true"), "{name}: {}", field.id);
                    control
                }
            };
            assert!(described_by(described).contains(&error_id.as_str()), "{name}: {}", field.id);
            if matches!(field.input, Input::Radio | Input::CheckboxGroup) {
                for choice in &field.options {
                    assert_eq!(by_id(&tags, &choice.id).get("aria-invalid"), Some("true"), "{name}: {}", choice.id);
                }
            }
        }
    }
}

#[test]
fn values_and_defaults_are_prefilled() {
    let (name, schema) = items().into_iter().find(|(name, _)| name == "dms").expect("the dms item");
    let html = render(&build(&schema, &defaults(&name, &schema), &[], Lang::En));
    let tags = tags(&html);
    let retention = by_id(&tags, "p-retentionYears");
    assert_eq!((retention.get("type"), retention.get("value")), (Some("number"), Some("10")));
    assert_eq!((retention.get("min"), retention.get("max"), retention.get("step")), (Some("1"), Some("75"), Some("1")));
    assert!(by_id(&tags, "p-sharedNomenclature").has("checked"));
    assert!(!by_id(&tags, "p-eAddressEnabled").has("checked"));
    let production = by_id(&tags, "p-eSignatureEnvironment--0");
    assert_eq!((production.get("value"), production.has("checked")), (Some("production"), true));
    assert!(!by_id(&tags, "p-eSignatureEnvironment--1").has("checked"));
    assert!(html.contains(r#"name="&#x2F;internalSourceRanges" rows="5" aria-describedby="#));
    assert!(html.contains(">10.0.0.0&#x2F;8\n172.16.0.0&#x2F;12\n192.168.0.0&#x2F;16</textarea>"));
    assert_eq!(by_id(&tags, "p-image").get("value"), Some("registry.makonis.lv/dms/app:5.4.2"));
    assert_eq!(by_id(&tags, "p-nomenclatureCode").get("value"), Some(""));
    assert_eq!(by_id(&tags, "p-nomenclatureCode").get("pattern"), Some(r"^[A-Z0-9][A-Z0-9\.\-]{0,15}$"));
}

#[test]
fn required_fields_are_marked_in_words() {
    let (name, schema) = items().into_iter().find(|(name, _)| name == "open-data").expect("the open-data item");
    let html = render(&build(&schema, &defaults(&name, &schema), &[], Lang::Lv));
    let tags = tags(&html);
    let email = by_id(&tags, "p-contactEmail");
    assert_eq!((email.get("type"), email.has("required")), (Some("email"), true));
    assert_eq!(email.get("placeholder"), Some("atvertie.dati@vdi.gov.lv"));
    assert!(html.contains(r#"<label for="p-contactEmail">Kontaktpunkta e-pasts <span>(obligāts)</span></label>"#));
    assert!(!by_id(&tags, "p-contactName").has("required"));
    let identifier = by_id(&tags, "p-datasets-0-identifier");
    assert_eq!(identifier.get("value"), Some("nelaimes-gadijumi-darba"));
    assert!(!identifier.has("required"), "an item may be cleared to remove it");
    assert!(html.contains(r#"id="p-datasets-0-identifier--hint">Obligāts, ja grupa tiek aizpildīta."#));
    assert_eq!(by_id(&tags, "p-datasets-2-identifier").get("value"), Some(""));
    assert!(by_id(&tags, "p-formats--0").has("checked") && by_id(&tags, "p-formats--1").has("checked"));
}

#[test]
fn every_type_round_trips_through_the_page() {
    let schema = schema(storage());
    let order = json!({
        "owner": "it@vdi.gov.lv", "code": "VDI", "notes": "one\ntwo", "home": "https://vdi.gov.lv/", "start": "2025-01-31",
        "host": "app.vdi.gov.lv", "replicas": 3, "ratio": 1.5, "backup": false, "audited": true, "tier": "silver",
        "zone": "c", "size": 1, "version": "16", "storage": {"sizeGi": 20}, "archive": {"bucket": "b"},
        "networks": ["10.0.0.1", "10.0.0.2"], "formats": ["JSON"], "env": [{"name": "A", "secret": false}, {"name": "B"}],
    });
    let expected = schema.validate(&order).expect("a valid order");
    for lang in [Lang::Lv, Lang::En] {
        let (parsed, errors) = parse(&schema, &submit(&render(&build(&schema, &expected, &[], lang))));
        assert_eq!((parsed, errors), (expected.clone(), vec![]), "{lang:?}");
    }
}
