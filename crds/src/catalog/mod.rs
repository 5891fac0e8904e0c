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
    Approval, CatalogItem, CatalogItemSpec, Category, ITEM_NAME_PATTERN, Output, Owner, Plan, PlanResources, Template,
};
pub use sla::{IncidentTarget, IncidentTargets, MaintenanceWindow, Sla, SlaWindow, SupportHours, Weekday};
pub use text::{LocalizedText, LocalizedTitle};
