//! API group `catalog.makonis.lv`: the service catalog and the services agencies order.
//!
//! A [`CatalogItem`] is data, not code: a parameter schema, plans with prices and SLAs,
//! and templates of the resources an order creates. A [`ServiceInstance`] is one order
//! in an agency's namespace; the catalog controller turns it into those resources.

mod instance;
mod item;
mod sla;
mod text;

pub use instance::{
    AdmittedPlan, ChildStatus, OutputValue, Phase, ServiceInstance, ServiceInstanceSpec, ServiceInstanceStatus,
};
pub use item::{
    Approval, CatalogItem, CatalogItemSpec, CatalogItemStatus, Category, ITEM_NAME_PATTERN, ItemProbe, ItemProbeKind,
    Output, Owner, Plan, PlanResources, Template,
};
pub use sla::{IncidentTarget, IncidentTargets, MaintenanceWindow, Sla, SlaWindow, SupportHours, Weekday};
pub use text::{LocalizedText, LocalizedTitle};

/// Schema of a free-form JSON object that the API server keeps as it is (parameter
/// schemas, parameters, plan settings).
fn free_form_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}
