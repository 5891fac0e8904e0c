//! The catalog's real items, and a round trip of each through the form: the defaults-applied
//! parameters, built into a form, rendered, submitted as a browser would and parsed, come
//! back unchanged.

use std::fs;
use std::path::Path;

use makonis_api::catalog::CatalogItem;
use makonis_catalog::schema::{Kind, ParameterSchema};
use serde_json::{Map, Value};

use super::html::submit;
use super::template::render;
use crate::form::{Lang, build, parse};

/// Each item of `catalog/items`, by name, with its parsed parameter schema.
pub(super) fn items() -> Vec<(String, ParameterSchema)> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/items");
    let mut paths: Vec<_> = fs::read_dir(&directory)
        .expect("the catalog's items")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no items in {}", directory.display());
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).expect("a readable item");
            let item: CatalogItem = serde_yaml_ng::from_str(&text).expect("a CatalogItem");
            let name = item.metadata.name.clone().unwrap_or_default();
            let schema = ParameterSchema::parse(&item.spec.parameters)
                .unwrap_or_else(|errors| panic!("{name}: invalid parameters: {errors:?}"));
            (name, schema)
        })
        .collect()
}

/// An item's parameters as an order without any choices gets them: required parameters
/// without a default take the schema's first example, and validation fills in the rest.
pub(super) fn defaults(name: &str, schema: &ParameterSchema) -> Value {
    let Kind::Object(rules) = &schema.root().kind else { panic!("{name}: the root is not an object") };
    let mut order = Map::new();
    for required in &rules.required {
        let node = &rules.properties[required];
        if node.default.is_none() {
            let example = node.examples.first().unwrap_or_else(|| panic!("{name}: no example for {required}"));
            order.insert(required.clone(), example.clone());
        }
    }
    schema.validate(&Value::Object(order)).unwrap_or_else(|errors| panic!("{name}: {errors:?}"))
}

#[test]
fn every_item_round_trips_through_the_form() {
    for (name, schema) in items() {
        let expected = defaults(&name, &schema);
        for lang in [Lang::Lv, Lang::En] {
            let html = render(&build(&schema, &expected, &[], lang));
            let mut pairs = submit(&html);
            pairs.push(("plan".to_owned(), "small".to_owned()));
            pairs.push(("csrf".to_owned(), "token".to_owned()));
            let (parsed, errors) = parse(&schema, &pairs);
            assert_eq!(errors, [], "{name} ({lang:?})");
            assert_eq!(parsed, expected, "{name} ({lang:?})");
            assert_eq!(schema.validate(&parsed).as_ref(), Ok(&expected), "{name} ({lang:?})");
        }
    }
}
