//! The decision about one instance, with its inputs read from the watch caches. Shared
//! by the controller and the admission webhook.

use kube::ResourceExt;
use makonis_api::catalog::{CatalogItem, ServiceInstance};
use makonis_catalog::{compiled::CompiledItems, render::PlatformVars};

use crate::{
    decide::{Decision, Inputs, ItemLookup, claim_of, decide},
    stores::CatalogView,
};

/// Decides about `instance` with what the caches hold now.
pub fn judge(
    view: &CatalogView,
    compiled: &CompiledItems,
    platform: &PlatformVars,
    instance: &ServiceInstance,
) -> Decision {
    judge_with_item(view, compiled, platform, instance, view.item(&instance.spec.catalog_item).as_deref())
}

/// Decides about `instance` with `item` as its catalog item (for example one just read
/// from the API server because the cache had not seen it yet) and the rest from the caches.
pub fn judge_with_item(
    view: &CatalogView,
    compiled: &CompiledItems,
    platform: &PlatformVars,
    instance: &ServiceInstance,
    item: Option<&CatalogItem>,
) -> Decision {
    let namespace = instance.namespace().unwrap_or_default();
    let item = item.map(|item| compiled.get(item));
    let lookup = match &item {
        None => ItemLookup::Missing,
        Some(Err(problems)) => ItemLookup::Invalid(problems),
        Some(Ok(item)) => ItemLookup::Found(item),
    };
    let agency = view.agency_of_namespace(&namespace);
    let others: Vec<_> = view
        .instances_in(&namespace, &instance.name_any())
        .iter()
        .map(|other| claim_of(other, view.item(&other.spec.catalog_item).as_deref().map(|i| &i.spec)))
        .collect();
    decide(&Inputs { instance, item: lookup, agency: agency.as_deref(), others: &others, platform })
}
