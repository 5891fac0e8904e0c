//! A CatalogItem's status: whether it can be ordered (pure).

use k8s_openapi::jiff::Timestamp;
use makonis_api::catalog::{CatalogItem, CatalogItemStatus};
use makonis_catalog::{compiled::Compiled, error::join};
use makonis_operator_kit::conditions::{DesiredCondition, merge_conditions};

/// The status of `item`, compiled as `compiled`: `Ready` with reason `Orderable` and its
/// plans, or `InvalidCatalogItem` with every problem; earlier transition times are kept.
pub fn item_status(item: &CatalogItem, compiled: &Compiled, now: Timestamp) -> CatalogItemStatus {
    let ready = match compiled {
        Ok(_) => {
            let plans: Vec<&str> = item.spec.plans.iter().map(|p| p.name.as_str()).collect();
            DesiredCondition::truthy("Ready", "Orderable", format!("can be ordered in plans {}", plans.join(", ")))
        }
        Err(problems) => DesiredCondition::falsy(
            "Ready",
            "InvalidCatalogItem",
            format!("cannot be ordered until it is fixed: {}", join(problems)),
        ),
    };
    let previous = item.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    let generation = item.metadata.generation;
    CatalogItemStatus {
        conditions: merge_conditions(previous, [ready], generation, now),
        observed_generation: generation,
    }
}

#[cfg(test)]
mod tests {
    use makonis_catalog::compiled::CompiledItems;

    use super::*;

    fn item(yaml: &str) -> CatalogItem {
        let mut item: CatalogItem = serde_yaml_ng::from_str(yaml).unwrap();
        item.metadata.generation = Some(3);
        item
    }

    #[test]
    fn an_item_that_compiles_is_orderable_and_one_that_does_not_says_why() {
        let good = item(include_str!("../../../tests/support/catalog_test_item.yaml"));
        let compiled = CompiledItems::default();
        let status = item_status(&good, &compiled.get(&good), Timestamp::UNIX_EPOCH);
        let ready = &status.conditions[0];
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("True", "Orderable"));
        assert!(ready.message.contains("small, large, huge"), "{}", ready.message);
        assert_eq!(status.observed_generation, Some(3));

        let mut broken = good.clone();
        broken.spec.templates[0].template = "{{ nosuch.variable".into();
        broken.metadata.uid = Some("other".into());
        let status = item_status(&broken, &compiled.get(&broken), Timestamp::UNIX_EPOCH);
        let ready = &status.conditions[0];
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "InvalidCatalogItem"));
        assert!(ready.message.contains("/spec/templates/0"), "{}", ready.message);
    }

    #[test]
    fn an_unchanged_verdict_keeps_its_transition_time() {
        let mut good = item(include_str!("../../../tests/support/catalog_test_item.yaml"));
        let compiled = CompiledItems::default().get(&good);
        good.status = Some(item_status(&good, &compiled, Timestamp::UNIX_EPOCH));
        let later = item_status(&good, &compiled, Timestamp::from_second(1_000).unwrap());
        assert_eq!(Some(later), good.status);
    }
}
